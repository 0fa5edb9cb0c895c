// Drives startScheduler() from templates/runtime with real timers on Node, Bun or Deno: thousands of
// every-second schedules are armed in slices (scheduler.mjs ARM_SLICE_MS), their task lists still
// JSON text until a firing reads them (schedule_table.mjs). Usage:
//   RUNTIME scheduler_sliced_arming.mjs SCENARIO < TABLE_JSON
// TABLE_JSON: compiler/schedule_table.py's table. Prints "ok SCENARIO" when its assertions hold.
import assert from "node:assert/strict";
import process from "node:process";
import { expandSchedules } from "../../templates/runtime/schedule_table.mjs";
import { startScheduler } from "../../templates/runtime/scheduler.mjs";

const [scenario] = process.argv.slice(2);
let tableJson = "";
for await (const chunk of process.stdin) tableJson += chunk;
const { lists, rows, tasks } = JSON.parse(tableJson);
// As the registry passes them: the task lists unparsed.
const schedules = expandSchedules({ lists, rows }, JSON.stringify(tasks));
const count = schedules.length;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const scenarios = {
  // Every schedule's first two firings after the start run once each, the first at the first whole
  // second after the start even for the schedules armed in a later slice.
  async firstFiringsRunOnce() {
    const runs = new Map(); // task -> [scheduledTime]
    const runTask = async (name, { payload }) => {
      runs.set(name, [...(runs.get(name) ?? []), payload.scheduledTime]);
    };
    const before = Date.now();
    const scheduler = startScheduler(schedules, { runTask, log: { error: (m) => assert.fail(m) } });
    const after = Date.now();
    const armedAtOnce = scheduler.pending().timers;
    assert.ok(armedAtOnce < count, `all ${count} schedules were armed before startScheduler returned`);
    const first = Math.floor(before / 1000) * 1000 + 1000;
    const last = Math.floor(after / 1000) * 1000 + 1000;
    const done = () => [...runs.values()].filter((times) => times.length >= 2).length === count;
    for (let waited = 0; !done(); waited += 20) {
      assert.ok(waited < 15_000, `only ${runs.size} of ${count} tasks ran`);
      await sleep(20);
    }
    scheduler.stop();
    await scheduler.idle();
    const starts = new Set();
    for (const [name, times] of runs) {
      starts.add(times[0]);
      assert.deepEqual(times.slice(0, 2), [times[0], times[0] + 1000], `${name} ran ${times}`);
      assert.equal(new Set(times).size, times.length, `${name} ran a firing twice: ${times}`);
    }
    assert.equal(runs.size, count);
    assert.equal(starts.size, 1, `first firings differ: ${[...starts]}`);
    const [start] = starts;
    assert.ok(start >= first && start <= last, `first firing ${start} not the second after the start (${before}-${after})`);
  },

  // stop() while slices are still to come: none arms a timer afterwards, so nothing keeps the
  // process alive and nothing runs.
  async stopWhileArming() {
    let ran = 0;
    const scheduler = startScheduler(schedules, { runTask: async () => void ran++ });
    const armedAtOnce = scheduler.pending().timers;
    assert.ok(armedAtOnce < count, `all ${count} schedules were armed before startScheduler returned`);
    scheduler.stop();
    await sleep(1500);
    assert.equal(scheduler.pending().timers, 0);
    assert.equal(ran, 0);
  },
};

await scenarios[scenario]();
console.log(`ok ${scenario}`);
