// The bundle's task CLI: `index.mjs task list | task run [--] NAME [--payload JSON]` runs one task
// without a server and prints its result as JSON (every Node, Bun and Deno bundle; Bun and Deno
// implement node:process).
import { createApp, publicSchedules } from "./app.mjs";
import { listTasks, runTask } from "./task.mjs";
import { isPlainObject } from "./tasks_api.mjs";
import { flagValue, scheduledTime } from "./scheduled_time.mjs";
import { tracker } from "./waituntil.mjs";

const USAGE =
  "Usage: node index.mjs task list | task run [--] NAME [--payload '{...}'] [--scheduled-time now|MS|ISO [--schedule CRON]]";

export async function runCli(registry, args) {
  createApp(registry); // registers the tasks; $fetch("/api/...") from a task reaches this app
  // stdout carries only the JSON answer (scripts pipe it to jq); task logs go to stderr.
  console.log = console.info = console.debug = console.error;
  const [command, ...rest] = args;
  if (command === "list") {
    return finish({ tasks: await listTasks(), scheduledTasks: publicSchedules(registry.scheduledTasks) });
  }
  // `task run -- -name` runs a task whose name starts with a dash (tasks/-name.ts).
  const escaped = rest[0] === "--";
  const name = escaped ? rest[1] : rest[0];
  if (command !== "run" || !name || (!escaped && name.startsWith("-"))) return fail(USAGE);
  const flags = rest.slice(escaped ? 2 : 1);
  const waitUntil = tracker();
  let payload;
  try {
    payload = { ...parsePayload(flags), ...scheduledTime(flags, registry.scheduledTasks) };
  } catch (error) {
    return fail(error.message);
  }
  try {
    const result = await runTask(name, { payload, context: { waitUntil: waitUntil.add }, trigger: { type: "cli" } });
    await waitUntil.settled();
    return finish(result ?? null);
  } catch (error) {
    await waitUntil.settled();
    const message = error?.message || String(error);
    return fail(message.includes(`"${name}"`) ? message : `task "${name}" failed: ${message}`, statusOf(error));
  }
}

/** `--payload JSON` / `--payload=JSON`; a value that is not a JSON object warns and gives {}. */
function parsePayload(flags) {
  const text = flagValue(flags, "--payload");
  if (text === undefined) return {};
  try {
    const value = JSON.parse(text);
    if (isPlainObject(value)) return value;
  } catch {}
  process.stderr.write(`warning: --payload is not a JSON object; running the task without a payload\n`);
  return {};
}

const statusOf = (error) => (Number.isInteger(error?.statusCode) ? error.statusCode : 500);

/** The JSON answer on stdout, exit code 0. */
function finish(value) {
  // exit() rather than waiting for the event loop: a task may leave handles (sockets, timers) open.
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`, () => process.exit(0));
}

/** The error style of every nitro-build command: one sentence on stderr, exit code 1. */
function fail(message, statusCode) {
  const status = statusCode === undefined ? "" : ` (${statusCode})`;
  process.stderr.write(`error: ${message}${status}\n`, () => process.exit(1));
}
