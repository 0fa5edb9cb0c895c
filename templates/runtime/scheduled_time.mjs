// `task run NAME --scheduled-time now|MS|ISO [--schedule CRON]`: sets payload.scheduledTime for a
// run started by an external cron (the kubernetes preset's CronJobs run exactly this). With
// `--schedule` (a scheduledTasks key), `now` is the schedule's latest firing at or before now: the
// instant the job was started for, even when the pod starts seconds or minutes late, as the
// in-process scheduler, Cloudflare and Vercel pass it. Without a firing in the window (the job
// started more than NITRO_SCHEDULED_WINDOW_S late, default a day), it is now.
import { latestFiring } from "./cron.mjs";

const DEFAULT_WINDOW_S = 86_400;

/** {} without --scheduled-time, else { scheduledTime: epoch ms }; throws a usage Error. */
export function scheduledTime(flags, schedules = []) {
  const value = flagValue(flags, "--scheduled-time");
  if (value === undefined) return {};
  const cron = flagValue(flags, "--schedule");
  const schedule = schedules.find((s) => s.cron === cron); // every schedule has a cron: none without --schedule
  if (cron !== undefined && !schedule) {
    const known = schedules.map((s) => JSON.stringify(s.cron)).join(", ") || "none";
    throw new Error(`--schedule ${JSON.stringify(cron)} is not a schedule of this bundle (its schedules: ${known})`);
  }
  const at = value === "now" ? Date.now() : /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isFinite(at)) throw new Error(`--scheduled-time takes now, epoch milliseconds or an ISO date, not ${JSON.stringify(value)}`);
  // A build without schedules defines import.meta._schedules false (presets/base.py): there is no
  // schedule to find, and esbuild drops the call into cron.mjs.
  const latest =
    import.meta._schedules !== false && schedule && value === "now"
      ? latestFiring(schedule.spec, at, Number(process.env.NITRO_SCHEDULED_WINDOW_S ?? DEFAULT_WINDOW_S) * 1000)
      : null;
  return { scheduledTime: latest ?? at };
}

/** The value of `--name VALUE` or `--name=VALUE`, or undefined. */
export function flagValue(flags, name) {
  const index = flags.findIndex((flag) => flag === name || flag.startsWith(`${name}=`));
  if (index === -1) return undefined;
  return flags[index] === name ? flags[index + 1] : flags[index].slice(name.length + 1);
}
