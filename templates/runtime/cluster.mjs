// Node cluster adapter for node_cluster (https://nodejs.org/api/cluster.html). The primary forks
// one worker per CPU (NITRO_CLUSTER_WORKERS overrides), restarts a worker that dies, and owns the
// schedule: each firing is run by one live worker it picks, so a firing runs once per cluster,
// not once per worker, whichever worker dies. Workers serve HTTP (the primary's socket is shared).
// The primary is also the cluster-wide "one running instance per task" lock: a worker asks it
// before running a task and joins the run in progress elsewhere if there is one.
import cluster from "node:cluster";
import { availableParallelism } from "node:os";
import { createApp } from "./app.mjs";
import { shutdownTimeoutMs } from "./env.mjs";
import { ready } from "./hooks.mjs";
import { listen, nodeServer } from "./node.mjs";
import { shareRunsInCluster } from "./run_cluster.mjs";
import { shareRuns } from "./run_store.mjs";
import { logUnhandledRejections, onShutdown, runCli, shutdown, startSchedules } from "./server.mjs";
import { HTTPError, runTask, setCoordinator, tasksIdle } from "./task.mjs";
import { tracker } from "./waituntil.mjs";

// A worker that dies sooner than this after it started is restarted after this long, not at once,
// so a worker that cannot start (a bad port, a crash at import) does not spin the CPU.
const RESTART_DELAY_MS = 1000;
// What the primary adds to the workers' own shutdown bound before it stops waiting for them.
const SHUTDOWN_MARGIN_MS = 2000;

/** Entry point of the generated node_cluster bundle: `startCluster(registry)`. */
export function startCluster(registry) {
  // The run history in the lock's Redis or the project's storage (run_store.mjs), else the primary's.
  const shared = shareRuns(registry.options);
  if (process.argv[2] === "task") return runCli(registry, process.argv.slice(3));
  if (!shared) shareRunsInCluster();
  return cluster.isPrimary ? primary(registry) : worker(registry);
}

// ---------------------------------------------------------------- primary

function primary(registry) {
  const size = workerCount();
  // Structured clone over IPC, so task results that are not JSON (Date, Map, undefined) survive.
  cluster.setupPrimary({ serialization: "advanced" });
  const pool = workerPool(size);
  const flights = taskFlights(pool);
  const scheduler = startSchedules(registry, flights.dispatch);
  // A forced exit (second signal) must not leave workers behind.
  process.on("exit", () => pool.kill());
  onShutdown(async () => {
    scheduler.stop();
    await pool.stop();
  });
}

function workerCount() {
  const text = process.env.NITRO_CLUSTER_WORKERS;
  if (!text) return availableParallelism();
  const count = Number(text);
  if (Number.isInteger(count) && count >= 1) return count;
  console.error(`[nitro] NITRO_CLUSTER_WORKERS must be a whole number of at least 1, got "${text}"`);
  process.exit(1);
}

/** Forks `size` workers, replaces those that die, and picks live ones in turn. */
function workerPool(size) {
  const ready = []; // workers that are listening, in the order they came up
  const handlers = { message: [], ready: [], exit: [] };
  let turn = 0;
  let stopping = false;
  let announced = false;

  function fork() {
    const child = cluster.fork();
    child.startedAt = Date.now();
    child.on("message", (message) => onMessage(child, message));
  }

  function onMessage(child, message) {
    if (message?.nitro === "closing") {
      unready(child);
      // No firing goes to it after this answer, and (IPC keeps order) each one sent before has arrived.
      return tell(child, { nitro: "closed" });
    }
    if (message?.nitro !== "listening") return handlers.message.forEach((handle) => handle(child, message));
    ready.push(child);
    if (!announced && ready.length === size) {
      announced = true;
      console.log(`Listening on ${message.url} (${size} workers)`);
    }
    handlers.ready.forEach((handle) => handle(child));
  }

  function unready(child) {
    const index = ready.indexOf(child);
    if (index !== -1) ready.splice(index, 1);
    return index !== -1;
  }

  cluster.on("exit", (child, code, signal) => {
    const wasReady = unready(child);
    handlers.exit.forEach((handle) => handle(child));
    if (stopping) return;
    if (!announced && code !== 0 && !wasReady) {
      // It died before it could listen, before the cluster ever served: it will not get better.
      console.error(`[nitro] worker ${child.process.pid} could not start (exit code ${code}); stopping`);
      process.exit(1);
    }
    console.error(`[nitro] worker ${child.process.pid} exited (${signal ?? `code ${code}`}); starting a new one`);
    if (Date.now() - child.startedAt < RESTART_DELAY_MS) setTimeout(() => stopping || fork(), RESTART_DELAY_MS);
    else fork();
  });

  for (let i = 0; i < size; i++) fork();

  return {
    on: (event, handle) => handlers[event].push(handle),
    /** The next listening worker in turn, or undefined while none is. */
    pick: () => (ready.length > 0 ? ready[turn++ % ready.length] : undefined),
    /** Gives `child` no more runs (a message to it could not be sent: it is exiting). */
    drop: (child) => unready(child),
    kill: () => livingWorkers().forEach((child) => child.process.kill("SIGKILL")),
    /** Asks every worker to shut down and waits (bounded) until all have exited. */
    async stop() {
      stopping = true;
      const living = livingWorkers();
      living.forEach((child) => tell(child, { nitro: "shutdown" }));
      const exited = Promise.all(living.map((child) => new Promise((resolve) => child.once("exit", resolve))));
      const limitMs = shutdownTimeoutMs() + SHUTDOWN_MARGIN_MS;
      let timer;
      const timeout = new Promise((resolve) => (timer = setTimeout(resolve, limitMs, "timeout")));
      if ((await Promise.race([exited, timeout])) === "timeout") {
        console.error(`[nitro] shutdown: workers still running after ${limitMs} ms, killing them`);
      }
      clearTimeout(timer);
    },
  };
}

const livingWorkers = () => Object.values(cluster.workers ?? {}).filter((child) => child && !child.isDead());

/**
 * The primary's record of runs in progress, one per task name across the cluster. A scheduled
 * firing (`dispatch`) and a worker's own runTask (`begin`) both start a run only when none of
 * that task is in progress; otherwise they join it and get its outcome, as in one process.
 */
export function taskFlights(pool) {
  const flights = new Map(); // name -> { owner: worker | null, payload, waiters: [] }
  const queued = new Set(); // names of dispatched runs waiting for a live worker

  /**
   * One promise per run, shared by every firing that joins it (overlap "allow"): a run that never
   * ends holds one waiter, not one per firing.
   */
  function dispatch(name, { payload, trigger } = {}) {
    let flight = flights.get(name);
    const fresh = !flight;
    if (fresh) flights.set(name, (flight = { owner: null, payload, trigger, waiters: [] }));
    flight.dispatched ??= new Promise((resolve, reject) => flight.waiters.push({ resolve, reject }));
    if (fresh) assign(name);
    return flight.dispatched;
  }

  function assign(name) {
    const flight = flights.get(name);
    const child = pool.pick();
    if (!child) return queued.add(name);
    queued.delete(name);
    flight.owner = child;
    const trigger = flight.trigger ? { trigger: flight.trigger } : {}; // the history's cause of the run
    tell(child, { nitro: "run", name, payload: flight.payload, ...trigger }, () => undelivered(name, child));
  }

  /** `child` died before the run could reach it (it never started there): run it on another worker. */
  function undelivered(name, child) {
    pool.drop(child);
    const flight = flights.get(name);
    if (flight?.owner !== child) return; // already failed by lost() when its exit came first
    flight.owner = null;
    assign(name);
  }

  function begin(child, { id, name }) {
    const flight = flights.get(name);
    if (!flight) flights.set(name, { owner: child, waiters: [] });
    else if (flight.owner !== child) return flight.waiters.push({ child, id });
    // The owner asking: its own runTask raced the dispatched run to it; it runs it, once.
    tell(child, { nitro: "grant", id });
  }

  function end(child, outcome) {
    const flight = flights.get(outcome.name);
    if (flight?.owner !== child) return;
    flights.delete(outcome.name);
    for (const waiter of flight.waiters) settle(waiter, outcome);
  }

  function settle(waiter, { ok, value, error }) {
    if (waiter.child) return tell(waiter.child, { nitro: "result", id: waiter.id, ok, value, error });
    if (ok) waiter.resolve(value);
    else waiter.reject(fromData(error));
  }

  function lost(child) {
    for (const [name, flight] of flights) {
      flight.waiters = flight.waiters.filter((waiter) => waiter.child !== child);
      if (flight.owner !== child) continue;
      const message = `cluster worker ${child.process.pid} exited while running task "${name}"`;
      end(child, { name, ok: false, error: { statusCode: 500, message } });
    }
  }

  pool.on("message", (child, message) => {
    if (message?.nitro === "begin") begin(child, message);
    if (message?.nitro === "end") end(child, message);
  });
  pool.on("ready", () => [...queued].forEach(assign));
  pool.on("exit", lost);
  return { dispatch };
}

// ---------------------------------------------------------------- worker

async function worker(registry) {
  const app = createApp(registry);
  const pending = tracker();
  const server = nodeServer(app, pending);
  logUnhandledRejections();
  let closing = null;
  let released;
  // The primary answers "closing" with "closed" (or is gone): a firing it dispatched to this worker
  // before it saw "closing" (a SIGTERM to the whole group at a firing) has then arrived and started.
  const primaryDone = new Promise((resolve) => (released = resolve));
  const dispatchedRuns = { stop: () => {}, idle: () => primaryDone.then(tasksIdle) };
  // SIGTERM to the whole process group and the primary's message may both come: shut down once.
  const close = () => {
    if (closing) return closing;
    if (!tell(process, { nitro: "closing" })) released(); // the primary stops giving this worker firings
    return (closing = shutdown(server, dispatchedRuns, pending).then(() => process.exit(0)));
  };
  joinCluster(pending, close, released);
  process.on("SIGTERM", close);
  process.on("SIGINT", close);
  let url;
  try {
    await ready(); // plugins, once per worker, before it listens
    url = await listen(server);
  } catch (error) {
    console.error(`[nitro] could not start the server: ${error?.message ?? error}`);
    process.exit(1);
  }
  tell(process, { nitro: "listening", url });
}

/** Runs what the primary dispatches, and asks the primary before running a task of its own. */
function joinCluster(pending, close, released) {
  const waiting = new Map(); // request id -> { name, start, resolve, reject }
  let lastId = 0;
  let dispatched = null; // the task name the primary just told this worker to run

  setCoordinator((name, start) => {
    if (dispatched === name) return ownRun(name, start);
    return new Promise((resolve, reject) => {
      const id = ++lastId;
      waiting.set(id, { name, start, resolve, reject });
      if (!tell(process, { nitro: "begin", id, name })) reject(new HTTPError(503, "the cluster primary is gone"));
    });
  });

  process.on("message", (message) => {
    const request = waiting.get(message?.id);
    if ((message?.nitro === "grant" || message?.nitro === "result") && !request) return;
    if (message?.nitro === "grant") ownRun(request.name, request.start).then(request.resolve, request.reject);
    if (message?.nitro === "result" && message.ok) request.resolve(message.value);
    if (message?.nitro === "result" && !message.ok) request.reject(fromData(message.error));
    if (message?.nitro === "grant" || message?.nitro === "result") waiting.delete(message.id);
    if (message?.nitro === "run") runDispatched(message.name, message.payload, message.trigger);
    if (message?.nitro === "closed") released();
    if (message?.nitro === "shutdown") close();
  });

  function runDispatched(name, payload, trigger) {
    // runTask calls the coordinator synchronously; if this worker already runs `name`, it joins.
    dispatched = name;
    runTask(name, { payload, context: { waitUntil: pending.add }, trigger }).catch(() => {}); // reported by ownRun
    dispatched = null;
  }

  // The primary died (or was killed): finish what runs here, then exit.
  process.on("disconnect", () => {
    for (const request of waiting.values()) request.reject(new HTTPError(503, "the cluster primary is gone"));
    waiting.clear();
    released();
    close();
  });
}

/** Runs `start()` here and tells the primary the outcome, for the callers waiting elsewhere. */
function ownRun(name, start) {
  const report = (outcome) => {
    try {
      tell(process, { nitro: "end", name, ...outcome });
    } catch {
      // A result structured clone cannot copy (a function, a class with private state).
      const message = `the result of task "${name}" cannot be sent to another cluster worker`;
      tell(process, { nitro: "end", name, ok: false, error: { statusCode: 500, message } });
    }
  };
  return start().then(
    (value) => (report({ ok: true, value }), value),
    (error) => (report({ ok: false, error: toData(error) }), Promise.reject(error)),
  );
}

// ---------------------------------------------------------------- messages

/**
 * Sends `message` if the IPC channel is open (send on a closed channel would crash); true if sent.
 * The other side may die before it reads the channel's end: the write then fails (EPIPE) and,
 * without a callback, Node raises an 'error' event that nothing handles, killing this process (the
 * primary: the whole cluster). `onFailed(error)` is called instead; the exit/disconnect follows.
 */
function tell(target, message, onFailed = () => {}) {
  if (!target.isConnected?.() && !target.connected) return false;
  target.send(message, (error) => error && onFailed(error));
  return true;
}

const toData = (error) => ({
  statusCode: Number.isInteger(error?.statusCode) ? error.statusCode : undefined,
  message: error?.message ?? String(error),
});

/**
 * The error a joined caller sees: an HTTPError keeps its status; any other error stays a plain
 * Error (a 500 whose message routes do not show), as the caller in the running process sees it.
 */
function fromData({ statusCode, message }) {
  return statusCode === undefined ? new Error(message) : new HTTPError(statusCode, message);
}
