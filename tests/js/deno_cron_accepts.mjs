// Reads a JSON list of cron strings on stdin and prints, as JSON, Deno's own verdict on each:
// null when Deno.cron registers it, else the error message (Deno validates the schedule when the
// job is registered: ext/cron/local.rs). Each job is closed right away through its AbortSignal,
// so Deno's limit of 100 jobs per isolate does not apply. Run with `deno run --unstable-cron`.
const schedules = JSON.parse(await new Response(Deno.stdin.readable).text());
const verdicts = schedules.map((schedule, i) => {
  const controller = new AbortController();
  try {
    Deno.cron(`probe ${i}`, schedule, { signal: controller.signal }, () => {});
    return null;
  } catch (error) {
    return String(error?.message ?? error);
  } finally {
    controller.abort();
  }
});
console.log(JSON.stringify(verdicts));
Deno.exit(0);
