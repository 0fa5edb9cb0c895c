// Drives task.mjs and runs.mjs directly (no bundle): the history's bounds. Prints one JSON object.
import { listRuns, RUNS_PER_TASK, TEXT_LIMIT } from "../../templates/runtime/runs.mjs";
import { registerTasks, runTask } from "../../templates/runtime/task.mjs";

const task = (run) => ({ meta: {}, load: async () => ({ default: { run } }) });
const tasks = { big: task(() => ({ result: "x".repeat(10_000) })), fail: task(() => { throw new Error("e".repeat(10_000)); }) };
for (let i = 0; i < 20; i++) tasks[`t${i}`] = task(({ payload }) => ({ result: payload.n }));
registerTasks(tasks);

for (let n = 0; n < 2000; n++) await runTask(`t${n % 20}`, { payload: { n, other: 1 }, trigger: { type: n % 2 ? "http" : "cli" } });
await runTask("big");
await runTask("fail").catch(() => {});
await runTask("t0", { trigger: { type: "schedule", cron: "* * * * *" } });
await runTask("t1", { trigger: { type: "bogus" } });
const runs = await listRuns();
const all = Object.values(runs).flat();
console.log(JSON.stringify({
  limit: RUNS_PER_TASK, textLimit: TEXT_LIMIT,
  perTask: Object.fromEntries(Object.entries(runs).map(([name, list]) => [name, list.length])),
  newestT0: runs.t0[0], newestT1: runs.t1[0], oldestT2: runs.t2.at(-1),
  big: runs.big[0], fail: runs.fail[0], maxJson: Math.max(...all.map((r) => JSON.stringify(r).length)),
}));
