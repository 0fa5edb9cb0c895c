// Drives startScheduler() from templates/runtime with a fake clock and fake timers, so timer
// arithmetic (early and late wake-ups, chunked long waits, stalls) is checked exactly.
// Usage: node scheduler_fake_clock.mjs SCENARIO SPECS_JSON   (specs compiled by compiler/cron/)
// Exits 0 when the scenario's assertions hold; an assertion error otherwise.
import assert from "node:assert/strict";
import { nextFiring } from "../../templates/runtime/cron.mjs";
import { taskFlights } from "../../templates/runtime/cluster.mjs";
import { scheduleGuards } from "../../templates/runtime/lock.mjs";
import { startScheduler } from "../../templates/runtime/scheduler.mjs";
import { registerTasks, runTask } from "../../templates/runtime/task.mjs";

const [scenario, specsJson] = process.argv.slice(2);
const specs = JSON.parse(specsJson);
const MAX_DELAY = 2 ** 31 - 1;

// Fake timers: the scheduler reads the global setTimeout/clearTimeout at call time.
const timers = new Map();
let nextId = 1;
globalThis.setTimeout = (fn, delay) => (timers.set(nextId, { fn, delay }), nextId++);
globalThis.clearTimeout = (id) => timers.delete(id);
const flush = () => new Promise((resolve) => setImmediate(resolve));

/** The one pending timer, removed as if it had fired. */
function takeTimer() {
  assert.equal(timers.size, 1, "exactly one timer armed");
  const [[id, timer]] = timers;
  timers.delete(id);
  return timer;
}

let clock = 0;
const errors = [];
const log = { error: (message) => errors.push(message) };

function start(cron, tasks, options = {}) {
  const runs = [];
  const runTask = async (name, { payload, context }) => {
    assert.deepEqual(context, {});
    runs.push([name, payload.scheduledTime]);
    if (options.fail?.includes(name)) throw new Error(`${name} broke`);
  };
  const scheduler = startScheduler([{ cron, tasks, spec: specs[cron] }], { runTask, log, now: () => clock, ...options.hooks });
  return { runs, scheduler };
}

const second = Date.UTC(2030, 0, 1, 12, 0, 0); // a whole second

const scenarios = {
  async everySecondWithoutDrift() {
    clock = second + 300;
    const { runs } = start("* * * * * *", ["a", "b"]);
    let timer = takeTimer();
    assert.equal(timer.delay, 700);
    clock += 699; // woke 1 ms early: nothing runs, the rest is waited for
    timer.fn();
    await flush();
    assert.deepEqual(runs, []);
    timer = takeTimer();
    assert.equal(timer.delay, 1);
    clock += 1;
    timer.fn();
    await flush();
    assert.deepEqual(runs, [["a", second + 1000], ["b", second + 1000]]);
    timer = takeTimer();
    assert.equal(timer.delay, 1000);
    clock += 1250; // woke 250 ms late: the next firing stays on the whole second
    timer.fn();
    await flush();
    assert.deepEqual(runs.slice(2), [["a", second + 2000], ["b", second + 2000]]);
    assert.equal(takeTimer().delay, 750);
  },

  async stalledProcessSkipsMissedFirings() {
    clock = second;
    const { runs } = start("* * * * * *", ["a"]);
    const timer = takeTimer();
    clock = second + 5500; // the event loop was blocked for 5.5 s
    timer.fn();
    await flush();
    assert.deepEqual(runs, [["a", second + 1000]]);
    assert.equal(takeTimer().delay, 500); // next: second + 6000, the missed ones are not replayed
  },

  async longWaitsAreChunked() {
    clock = Date.UTC(2030, 1, 10, 12, 0, 0); // Jan 1 is more than 2^31-1 ms (24.8 days) away
    const due = nextFiring(specs["0 0 1 1 *"], clock);
    assert.ok(due - clock > 4 * MAX_DELAY, "yearly firing is far away");
    const { runs } = start("0 0 1 1 *", ["yearly"]);
    for (;;) {
      const timer = takeTimer();
      assert.equal(timer.delay, Math.min(due - clock, MAX_DELAY));
      clock += timer.delay;
      timer.fn();
      await flush();
      if (clock === due) break;
      assert.deepEqual(runs, []);
    }
    assert.deepEqual(runs, [["yearly", due]]);
  },

  async claimAndFailures() {
    clock = second;
    const claims = [];
    const claim = async (name, firingMs) => (claims.push([name, firingMs]), name !== "lost");
    const { runs } = start("* * * * * *", ["lost", "broken", "fine"], { fail: ["broken"], hooks: { claim } });
    let timer = takeTimer();
    clock += timer.delay;
    timer.fn();
    await flush();
    assert.deepEqual(runs, [["broken", second + 1000], ["fine", second + 1000]]);
    assert.deepEqual(errors, ['[nitro] scheduled task "broken" failed: broken broke']);
    assert.deepEqual(claims, ["lost", "broken", "fine"].map((name) => [name, second + 1000]));
    timer = takeTimer(); // the scheduler keeps going
    clock += timer.delay;
    timer.fn();
    await flush();
    assert.deepEqual(runs.slice(2), [["broken", second + 2000], ["fine", second + 2000]]);
  },

  async stopClearsTimersAndIdleWaitsForRuns() {
    clock = second;
    let finish;
    const runTask = () => new Promise((resolve) => (finish = resolve));
    const scheduler = startScheduler([{ cron: "* * * * * *", tasks: ["slow"], spec: specs["* * * * * *"] }], { runTask, log, now: () => clock });
    const timer = takeTimer();
    clock += timer.delay;
    timer.fn();
    await flush();
    assert.equal(timers.size, 1);
    scheduler.stop();
    assert.equal(timers.size, 0, "stop() cleared the next timer");
    let idle = false;
    scheduler.idle().then(() => (idle = true));
    await flush();
    assert.equal(idle, false, "idle() waits for the running task");
    finish();
    await flush();
    assert.equal(idle, true);
  },

  // overlap = "allow" and a run that never ends: every firing joins it (one running instance per
  // task name), and what the scheduler keeps per firing must not grow (it was ~1.5 KiB each).
  async allowedOverlapWithANeverEndingRunStaysBounded() {
    clock = second;
    let started = 0;
    registerTasks({ hang: { load: async () => ({ default: { run: () => (started++, new Promise(() => {})) } }) } });
    const hooks = scheduleGuards({ taskOverlap: { hang: "allow" } }, { runTask, log });
    const scheduler = startScheduler([{ cron: "* * * * * *", tasks: ["hang"], spec: specs["* * * * * *"] }], { ...hooks, now: () => clock });
    const fireMany = async (count) => {
      for (let i = 0; i < count; i++) {
        const timer = takeTimer();
        clock += timer.delay;
        timer.fn();
        await flush();
      }
    };
    await fireMany(1000);
    globalThis.gc?.();
    const before = process.memoryUsage().heapUsed;
    await fireMany(20_000);
    assert.equal(started, 1, "every firing joined the one run");
    assert.deepEqual(scheduler.pending(), { firings: 1, runs: 1, timers: 1 });
    assert.deepEqual(errors, []);
    if (globalThis.gc) {
      globalThis.gc();
      const perFiring = (process.memoryUsage().heapUsed - before) / 20_000;
      assert.ok(perFiring < 100, `heap grows ${perFiring.toFixed(0)} bytes per firing`);
    }
    scheduler.stop();
  },

  // node_cluster's primary: every firing joining a dispatched run shares that run's one promise.
  async clusterDispatchSharesOneRunPerTask() {
    const sent = [];
    const child = { isConnected: () => true, send: (message) => sent.push(message), process: { pid: 1 } };
    const handlers = {};
    const pool = { pick: () => child, drop() {}, on: (event, handle) => (handlers[event] = handle) };
    const { dispatch } = taskFlights(pool);
    const first = dispatch("hang", { payload: { scheduledTime: 1 } });
    for (let i = 2; i < 5000; i++) assert.equal(dispatch("hang", { payload: { scheduledTime: i } }), first);
    assert.deepEqual(sent, [{ nitro: "run", name: "hang", payload: { scheduledTime: 1 } }]);
    handlers.message(child, { nitro: "end", name: "hang", ok: true, value: 7 });
    assert.equal(await first, 7);
    assert.notEqual(dispatch("hang", { payload: { scheduledTime: 6000 } }), first, "a new run after it ended");
  },
};

await scenarios[scenario]();
console.log(`ok ${scenario}`);
