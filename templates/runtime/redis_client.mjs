// The scheduler lock's Redis client: routes each command to the node that serves its key, in the
// three topologies of redis_url.mjs, over connections from redis.mjs.
// - one server: every command goes to it;
// - Sentinel (https://redis.io/docs/latest/operate/oss_and_stack/management/sentinel/): the
//   master's address comes from `SENTINEL get-master-addr-by-name`, asked again before a command
//   when the last answer is older than SENTINEL_RECHECK_MS, and after a connection failure or a
//   `-READONLY` (the node we used was demoted by a fail-over);
// - Cluster (https://redis.io/docs/latest/operate/oss_and_stack/reference/cluster-spec/): a
//   command goes to the node known to serve its key's hash slot, else to a seed node; `-MOVED`
//   teaches the slot's node, `-ASK` sends that one command (after ASKING) to the node named.
// A command that fails on its connection (reset, closed, no answer in time: a NAT or load balancer
// that dropped the idle connection) is retried once, on a fresh connection, after re-discovery; one
// given a window (`until`) keeps trying through a fail-over until it ends (see attempt).
//
// `onChange(reason)` is called when a node answers at the same address with another run_id than
// before: it restarted, and without persistence it lost every key. (A fail-over is not reported:
// the promoted replica holds the data it had replicated, all but the last moment's writes.)
import { readEnv } from "./env.mjs";
import {
  connectNode, isConnectionError, RedisConnectError, RedisReadOnlyError, RedisRedirectError, RedisReplyError,
  StaleConnectionError,
} from "./redis.mjs";
import { parseRedisUrl } from "./redis_url.mjs";

// Redirections followed for one command before giving up (a slot moving while we follow it).
const MAX_HOPS = 5;
// Sentinel: the master's address is asked again before a command when the last answer is older
// than this. After `SENTINEL FAILOVER` the old master stays writable for ~10 s (until the
// sentinels reconfigure it): a replica that kept writing there while another wrote to the new
// master would see different claims. Asking right before the claim keeps every replica on the
// master the sentinels name at that moment.
const SENTINEL_RECHECK_MS = 250;
// Sentinel: a write no replica acknowledged within WAIT_MS is confirmed with the sentinels for up
// to CONFIRM_MS (stillMaster): a Sentinel checks a promoted replica's role every second.
const WAIT_MS = 20;
const WRITES = new Set(["SET", "EVAL"]); // the lock's writes: claims, leases, renewals, releases
const CONFIRM_MS = 1_500;

// While a fail-over is under way, a command with a window (redis_lock.mjs) is tried again after
// this pause, doubled after each failure up to MAX_PAUSE_MS.
const FIRST_PAUSE_MS = 50;
const MAX_PAUSE_MS = 500;
// Replies that mean "not here, not now" while a topology changes; the command did not run:
// https://redis.io/docs/latest/operate/oss_and_stack/reference/cluster-spec/ (CLUSTERDOWN,
// TRYAGAIN), MASTERDOWN (a replica that lost its master), LOADING (a restarted node loading data).
const SETTLING = /^(CLUSTERDOWN|TRYAGAIN|MASTERDOWN|LOADING)$/;

/**
 * Whether a command that failed this way may be sent again: its connection failed (the command
 * may or may not have run), it reached a node a fail-over had demoted (READONLY: it did not run),
 * it was still redirected after MAX_HOPS, or the topology is settling (SETTLING: it did not run).
 */
const retryable = (error) =>
  isConnectionError(error) || error instanceof RedisReadOnlyError || error instanceof RedisRedirectError ||
  (error instanceof RedisReplyError && SETTLING.test(error.code));
// NITRO_SCHEDULER_LOCK_TRACE=1 logs every attempt of a command, where it went and how it ended
// (tests/test_redis_topologies.py prints it when a firing is lost or doubled).
const TRACE = readEnv("NITRO_SCHEDULER_LOCK_TRACE")
  ? (args, node, outcome, startMs) =>
      console.error(`[nitro] lock trace ${new Date().toISOString()} ${args[0]} ${keyOf(args) ?? ""} @ ${nodeId(node)}: ${outcome} (${Date.now() - startMs} ms)`)
  : () => {};

/** `{ target, command(...args), send(...args), close() }` for a Redis URL (see redis_url.mjs). */
export function createRedisClient(url, { onChange = () => {}, ...options } = {}) {
  const target = parseRedisUrl(url);
  const settings = { tls: target.tls, username: target.username, password: target.password, db: target.db, clientName: options.clientName };
  const nodes = new Map(); // "host:port" -> connectNode()
  const slots = new Map(); // hash slot -> node, learned from MOVED
  const runIds = new Map(); // "host:port" -> run_id last seen
  const sentinels = target.topology === "sentinel" ? sentinelDirectory(target, options) : null;
  let seedTurn = 0;
  let primary = sentinels ? null : target.hosts[0]; // where commands go without a known slot
  let checkedAt = 0; // when the sentinels last named `primary`
  let changedAt = 0; // when the topology was last seen changing (another master, a wait: `waited`)
  const suspects = new Set(); // "host:port" of nodes whose last command failed on its connection

  function nodeClient(node) {
    const id = nodeId(node);
    if (!nodes.has(id)) nodes.set(id, connectNode(node, { ...settings, onServer: (runId) => seen(id, runId) }, options));
    return nodes.get(id);
  }

  function seen(id, runId) {
    const before = runIds.get(id);
    runIds.set(id, runId);
    if (before !== undefined && before !== runId) onChange(`Redis at ${id} restarted (its run_id changed)`);
  }

  async function route(key) {
    const known = key === undefined ? undefined : slots.get(keySlot(key));
    if (known) return known;
    if (sentinels && (!primary || Date.now() - checkedAt > SENTINEL_RECHECK_MS)) {
      // With the sentinels unreachable, the master last named is still the best guess.
      const before = primary;
      primary = await sentinels.master().catch((error) => primary ?? Promise.reject(error));
      checkedAt = Date.now();
      if (before && (before.host !== primary.host || before.port !== primary.port)) changedAt = checkedAt;
    }
    return primary;
  }

  /**
   * Sentinel: whether a write that `node` acknowledged will stay. A fail-over promotes the replica
   * a moment (up to a second) before the sentinels name it: a write to the old master meanwhile
   * is lost, and another replica could make the same claim again on the new one. So a write that
   * no replica acknowledged within WAIT_MS (`WAIT 1`) is checked with the sentinels: while they
   * report a fail-over of the master under way (flag failover_in_progress), for up to CONFIRM_MS,
   * until they name another master (false: make the write there) or the fail-over is over. A user
   * not allowed WAIT goes without this check.
   */
  async function stillMaster(node) {
    const acks = await nodeClient(node).command(["WAIT", "1", String(WAIT_MS)]).catch(() => 1);
    if (acks !== 0) return true;
    for (const end = Date.now() + CONFIRM_MS; ; await new Promise((resolve) => setTimeout(resolve, 100))) {
      checkedAt = 0;
      if (nodeId(await route(undefined)) !== nodeId(node)) return false;
      if (Date.now() >= end || !(await sentinels.failingOver())) return true;
    }
  }

  /**
   * After a failed connection or READONLY: find where the data lives now. Sentinel: ask the
   * sentinels again. Otherwise the node is tried once more on a fresh connection (a middlebox
   * may have dropped an idle one); if that fails too, its slots are forgotten and the next seed
   * is asked, which redirects to the slot's node now.
   */
  function rediscover(node) {
    if (sentinels) return void (checkedAt = 0);
    const id = nodeId(node);
    if (!suspects.has(id)) return void suspects.add(id);
    suspects.delete(id);
    for (const [slot, owner] of slots) if (nodeId(owner) === id) slots.delete(slot);
    if (target.topology === "cluster") primary = target.hosts[++seedTurn % target.hosts.length];
  }

  /**
   * Sends `args` where its key lives: `{ reply, retried, waited }`, `retried` when it was sent again
   * after a connection failure (so it may have run twice: a SET NX answered nil may be our own),
   * `waited` when the topology was changing meanwhile (a known slot moved, a demoted or settling
   * node, a failure other than an idle connection's): other commands may have waited as well.
   * A retryable failure (see `retryable`) is retried at once, once; failures on connections that
   * had gone idle are retried at once without counting (up to MAX_HOPS). Until `until` (ms since
   * the epoch, 0: no window) it then keeps trying, pausing between attempts, while a fail-over
   * or resharding is under way (see `keepTrying`).
   */
  async function attempt(args, until = 0) {
    let asking = null;
    let retries = 1;
    let idleRetries = MAX_HOPS;
    let redirects = 0;
    let pause = FIRST_PAUSE_MS;
    let retried = false;
    let waited = false;
    for (;;) {
      const node = asking ?? (await route(keyOf(args)));
      const t = Date.now();
      try {
        const reply = await nodeClient(node).command(...(asking ? [["ASKING"], args] : [args]));
        TRACE(args, node, JSON.stringify(reply), t);
        suspects.delete(nodeId(node));
        if (sentinels && reply !== null && WRITES.has(args[0].toUpperCase()) && !(await stillMaster(node))) {
          retried = waited = true; // landed on a master a fail-over had just replaced: again, on the new one
          continue;
        }
        if (waited) changedAt = Date.now();
        return { reply, retried, waited };
      } catch (error) {
        TRACE(args, node, `${error?.name}: ${error?.message}`, t);
        asking = null;
        if (error instanceof RedisRedirectError && redirects++ < MAX_HOPS) {
          waited ||= error.code === "MOVED" && slots.has(error.slot);
          if (error.code === "MOVED") slots.set(error.slot, error.node);
          else asking = error.node;
          continue;
        }
        if (!retryable(error)) throw named(error, node);
        retried ||= isConnectionError(error);
        rediscover(node);
        if (error instanceof StaleConnectionError && idleRetries-- > 0) continue;
        waited = true;
        if (retries-- > 0 && !(error instanceof RedisRedirectError)) continue;
        const left = until - Date.now();
        if (!keepTrying(error) || left <= 0) throw named(error, node);
        await new Promise((resolve) => setTimeout(resolve, Math.min(pause, left)));
        pause = Math.min(pause * 2, MAX_PAUSE_MS);
        redirects = 0;
      }
    }
  }

  /**
   * Whether a failure may end once the topology settles, so that a command with a window keeps
   * trying: every retryable failure, except that a single server that refuses connections is down
   * (an outage: nothing will take its place, and a firing during it is skipped, not run late).
   */
  const keepTrying = (error) => !(target.topology === "single" && error instanceof RedisConnectError);

  /** The error to report, with what to do for the replies that mean "wrong node". */
  function named(error, node) {
    const at = `${nodeId(node)}${node === primary && sentinels ? ` (master "${target.master}" per Sentinel)` : ""}`;
    if (error instanceof RedisReadOnlyError && sentinels) {
      error.message = `${error.message} (${at} is a read-only replica: a fail-over is under way; later firings ask the sentinels again)`;
    } else if (error instanceof RedisReadOnlyError) {
      error.message = `${error.message} (${at} is a read-only replica: point the URL at the master, or use redis+sentinel://sentinel:26379/master so fail-overs are followed)`;
    } else if (error instanceof RedisRedirectError) {
      error.message = `${error.message} (still redirected after ${MAX_HOPS} hops: the cluster is resharding)`;
    } else if (error instanceof RedisReplyError && SETTLING.test(error.code)) {
      error.message = `${error.message} (at ${at}: the Redis topology is changing; later firings retry)`;
    }
    return error;
  }

  return {
    target,
    /** When this client last saw the topology change (a new master named, a command that waited). */
    changedAt: () => changedAt,
    /** Sends one command (retried on a fresh connection if its connection failed): its reply. */
    command: async (...args) => (await attempt(args.map(String))).reply,
    /** The same, as `{ reply, retried }` (see attempt). */
    send: (...args) => attempt(args.map(String)),
    /** `command` and `send` that keep trying through a fail-over until `until` (see attempt). */
    until: (until) => ({
      command: async (...args) => (await attempt(args.map(String), until)).reply,
      send: (...args) => attempt(args.map(String), until),
    }),
    close() {
      for (const client of nodes.values()) client.close();
      sentinels?.close();
    },
  };
}

/**
 * Asks the sentinels, in turn, for the master's address; the last one that answered goes first.
 * A sentinel is asked without AUTH; one that demands it (`requirepass` in sentinel.conf: NOAUTH)
 * is asked again with the URL's user and password.
 */
function sentinelDirectory(target, options) {
  const credentials = { username: target.username, password: target.password };
  const open = (node, auth) => connectNode(node, { tls: target.tls, ...(auth ? credentials : {}) }, options);
  const clients = target.hosts.map((node) => open(node, false));
  const MASTER_ADDR = ["SENTINEL", "get-master-addr-by-name", target.master];
  let first = 0;

  async function askWithAuth(index, args = MASTER_ADDR) {
    const client = clients[index];
    try {
      return await client.command(args);
    } catch (error) {
      if (!(error instanceof RedisReplyError && error.code === "NOAUTH" && target.password)) throw error;
      if (clients[index] === client) {
        client.close();
        clients[index] = open(target.hosts[index], true);
      }
      return clients[index].command(args);
    }
  }

  return {
    async master() {
      const failures = [];
      for (let i = 0; i < clients.length; i++) {
        const index = (first + i) % clients.length;
        try {
          const reply = await askWithAuth(index);
          if (!Array.isArray(reply)) throw new Error(`it does not know a master named "${target.master}"`);
          first = index;
          return { host: reply[0], port: Number(reply[1]) };
        } catch (error) {
          failures.push(`${nodeId(target.hosts[index])}: ${error?.message ?? error}`);
        }
      }
      throw new Error(`no Sentinel named the master "${target.master}" (${failures.join("; ")})`);
    },
    /** Whether the sentinel that last answered has a fail-over of the master under way (false if it cannot say). */
    async failingOver() {
      const reply = await askWithAuth(first, ["SENTINEL", "MASTER", target.master]).catch(() => null);
      return Array.isArray(reply) && String(reply[reply.indexOf("flags") + 1]).includes("failover_in_progress");
    },
    close: () => clients.forEach((client) => client.close()),
  };
}

const nodeId = ({ host, port }) => (host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`);

/** The key a command is about (routed by its hash slot), or undefined for keyless commands. */
function keyOf(args) {
  const name = args[0].toUpperCase();
  if (name === "EVAL" || name === "EVALSHA") return Number(args[2]) > 0 ? args[3] : undefined;
  return ["SET", "GET", "DEL", "EXISTS", "PTTL", "PEXPIRE"].includes(name) ? args[1] : undefined;
}

/** The key's hash slot: CRC16 (XMODEM) of the key, or of its `{hash tag}`, modulo 16384. */
export function keySlot(key) {
  let bytes = new TextEncoder().encode(key);
  const open = bytes.indexOf(0x7b);
  const close = open < 0 ? -1 : bytes.indexOf(0x7d, open + 1);
  if (close > open + 1) bytes = bytes.subarray(open + 1, close);
  let crc = 0;
  for (const byte of bytes) {
    crc ^= byte << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc % 16384;
}
