// The registry's schedules, stored compactly (compiler/schedule_table.py writes them): each
// distinct list (field values, task names) once in `lists`, and one row per schedule of the cron,
// its task list and its spec's values in SPEC_KEYS order (a list as its index in `lists`, a flag
// as 0 or 1, the time zone as a name or null). An 86,400-schedule table was 43 MB of repeated
// lists as objects; as rows it is a tenth of that, for esbuild to copy and for JSON.parse.

// The spec's keys (cron.mjs), sorted; compiler/schedule_table.py SPEC_KEYS is the same list.
const SPEC_KEYS = [
  "days", "domAndDow", "domRestricted", "dowRestricted", "fixedTime", "hours", "lastDay", "lastWeekday",
  "lastWeekdays", "minutes", "months", "nearestWeekdays", "nthWeekdays", "seconds", "timeZone", "weekdays",
];
const FLAGS = new Set(["domAndDow", "domRestricted", "dowRestricted", "fixedTime", "lastDay", "lastWeekday"]);

/** `{ lists, rows }` -> `[{ cron, spec, tasks }]`, as the scheduler reads them (lists are shared: read-only). */
export function expandSchedules({ lists, rows }) {
  return rows.map(([cron, tasks, ...values]) => {
    const spec = {};
    SPEC_KEYS.forEach((key, i) => {
      const value = values[i];
      if (FLAGS.has(key)) spec[key] = value === 1;
      else if (key === "timeZone") value === null || (spec[key] = value);
      else spec[key] = lists[value];
    });
    return { cron, spec, tasks: lists[tasks] };
  });
}
