// Drives startScheduler() from templates/runtime with a fake event loop whose timers run on a
// monotonic clock, as Node's, Bun's and Deno's do, while the scheduler reads a wall clock that can
// step (NTP step, resume from suspend) independently of it.
// Usage: node scheduler_clock_steps.mjs SCENARIO SPECS_JSON   (specs compiled by compiler/cron/)
// Exits 0 and prints "ok SCENARIO" when the scenario's assertions hold; an assertion error otherwise.
import assert from "node:assert/strict";
import { scheduleGuards } from "../../templates/runtime/lock.mjs";
import { startScheduler } from "../../templates/runtime/scheduler.mjs";

const [scenario, specsJson] = process.argv.slice(2);
const specs = JSON.parse(specsJson);
const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

// ---------------------------------------------------------------- fake loop

let mono = 0; // monotonic ms: what timers count
let offset = 0; // wall = mono + offset
const wall = () => mono + offset;
const timers = new Map();
let nextId = 1;
globalThis.setTimeout = (fn, delay = 0) => (timers.set(nextId, { fn, due: mono + Math.max(0, delay) }), nextId++);
globalThis.clearTimeout = (id) => timers.delete(id);
globalThis.setInterval = (fn, every) => {
  const interval = { id: 0 };
  const tick = () => (interval.id = setTimeout(() => (tick(), fn()), every));
  tick();
  return interval;
};
globalThis.clearInterval = (interval) => interval && clearTimeout(interval.id);
const flush = async () => {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
};

/** Lets `ms` of monotonic time pass, running the timers that come due, in order. */
async function advance(ms) {
  const end = mono + ms;
  for (;;) {
    let first = null;
    for (const [id, timer] of timers) if (timer.due <= end && (!first || timer.due < first[1].due)) first = [id, timer];
    if (!first) break;
    timers.delete(first[0]);
    mono = Math.max(mono, first[1].due);
    first[1].fn();
    await flush();
  }
  mono = end;
}

/** The wall clock steps by `ms` (negative: back); monotonic time does not move. */
const step = (ms) => (offset += ms);

const iso = (ms) => new Date(ms).toISOString();
const log = { warnings: [], error: (m) => log.warnings.push(m), warn: (m) => log.warnings.push(m), log: () => {} };

function start(schedules, runTask) {
  const runs = [];
  const record = async (name, { payload }) => {
    runs.push({ name, scheduledTime: iso(payload.scheduledTime), at: iso(wall()) });
    return runTask?.(name);
  };
  const list = schedules.map(([cron, tasks]) => ({ cron, tasks, spec: specs[cron] }));
  const scheduler = startScheduler(list, { runTask: record, log, now: wall });
  return { runs, scheduler };
}

function startAt(isoTime) {
  mono = 0;
  offset = Date.parse(isoTime);
}

// ---------------------------------------------------------------- scenarios

const scenarios = {
  /** The wall clock steps forward 21 h 55 min: the 03:00 firing comes 5 min later, not 23 h. */
  async forwardStepFiresOnTheWallClock() {
    startAt("2030-01-01T04:00:00Z");
    const { runs, scheduler } = start([["0 3 * * *", ["daily"]]]);
    await advance(HOUR);
    step(21 * HOUR + 55 * MINUTE); // now 2030-01-02T02:55Z
    await advance(6 * MINUTE);
    assert.equal(runs.length, 1, `the 03:00 firing ran within a minute of its time: ${JSON.stringify(runs)}`);
    assert.equal(runs[0].scheduledTime, "2030-01-02T03:00:00.000Z");
    assert.ok(Date.parse(runs[0].at) - Date.parse("2030-01-02T03:00:00Z") <= 30 * SECOND, runs[0].at);
    await advance(24 * HOUR);
    assert.deepEqual(runs[1], { name: "daily", scheduledTime: "2030-01-03T03:00:00.000Z", at: "2030-01-03T03:00:00.000Z" });
    scheduler.stop();
  },

  /** Suspended (monotonic clock stopped) over the 03:00 firing: it runs once soon after the resume. */
  async resumeFromSuspendRunsTheMissedFiringOnce() {
    startAt("2030-01-01T20:00:00Z");
    const { runs, scheduler } = start([["0 3 * * *", ["daily"]]]);
    await advance(HOUR);
    step(9 * HOUR); // suspended from 21:00 to 06:00
    await advance(MINUTE);
    assert.equal(runs.length, 1, `the missed firing ran after the resume: ${JSON.stringify(runs)}`);
    assert.equal(runs[0].scheduledTime, "2030-01-02T03:00:00.000Z");
    assert.ok(Date.parse(runs[0].at) - Date.parse("2030-01-02T06:00:00Z") <= 30 * SECOND, runs[0].at);
    await advance(22 * HOUR);
    assert.equal(runs.length, 2);
    assert.deepEqual(runs[1], { name: "daily", scheduledTime: "2030-01-03T03:00:00.000Z", at: "2030-01-03T03:00:00.000Z" });
    scheduler.stop();
  },

  /** A wall clock stepped back 10 min repeats no firing: the next is the first one after the last run. */
  async backwardStepRepeatsNoFiring() {
    startAt("2030-01-01T12:00:30Z");
    const { runs, scheduler } = start([["* * * * *", ["minutely"]]]);
    await advance(5 * MINUTE); // 12:01 .. 12:05
    step(-10 * MINUTE); // 12:05:30 -> 11:55:30
    await advance(20 * MINUTE); // wall 12:15:30
    const noon = Date.parse("2030-01-01T12:00:00Z");
    const expected = Array.from({ length: 15 }, (_, i) => iso(noon + (i + 1) * MINUTE)); // 12:01 .. 12:15
    assert.deepEqual(runs.map((r) => r.scheduledTime), expected);
    for (const run of runs) assert.equal(run.at, run.scheduledTime, "each firing ran at its own wall time");
    scheduler.stop();
  },

  /**
   * One task in two schedules that fire at the same instant runs once for it, whether its run ends
   * before the second schedule's timer (it ran twice) or not (the overlap guard logged a skip).
   */
  async taskInTwoSchedulesRunsOncePerInstant() {
    for (const runMs of [0, 500]) {
      startAt("2030-01-01T12:00:00.250Z");
      log.warnings.length = 0;
      const noon = Date.parse("2030-01-01T12:00:00Z");
      const runs = [];
      const runTask = async (name, { payload }) => {
        runs.push(`${name}@${payload.scheduledTime - noon}`);
        if (runMs) await new Promise((resolve) => setTimeout(resolve, runMs));
      };
      const schedules = [["* * * * * *", ["a"]], ["*/2 * * * * *", ["a", "b"]]];
      const list = schedules.map(([cron, tasks]) => ({ cron, tasks, spec: specs[cron] }));
      // With the overlap guard ("skip") every server adapter wraps its hooks in.
      const scheduler = startScheduler(list, { ...scheduleGuards({}, { runTask, log }), now: wall });
      await advance(4 * SECOND);
      scheduler.stop();
      const once = ["a@1000", "a@2000", "a@3000", "a@4000", "b@2000", "b@4000"];
      assert.deepEqual(runs.sort(), once, `task run ${runMs} ms`);
      assert.deepEqual(log.warnings, [], `task run ${runMs} ms`);
    }
  },
};

await scenarios[scenario]();
console.log(`ok ${scenario}`);
