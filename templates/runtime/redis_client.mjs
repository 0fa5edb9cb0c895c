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
// that dropped the idle connection) is retried once, on a fresh connection, after re-discovery.
//
// `onChange(reason)` is called when a node answers at the same address with another run_id than
// before: it restarted, and without persistence it lost every key. (A fail-over is not reported:
// the promoted replica holds the data it had replicated, all but the last moment's writes.)
import {
  connectNode, isConnectionError, RedisReadOnlyError, RedisRedirectError, RedisReplyError, StaleConnectionError,
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

/**
 * Whether a command that failed this way may be sent again: its connection failed (the command
 * may or may not have run), or it reached a node a fail-over had demoted (READONLY: it did not run).
 */
const retryable = (error) => isConnectionError(error) || error instanceof RedisReadOnlyError;

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
      primary = await sentinels.master().catch((error) => primary ?? Promise.reject(error));
      checkedAt = Date.now();
    }
    return primary;
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
   * Sends `args` where its key lives: `{ reply, retried }`, `retried` when it was sent again after
   * a connection failure (so it may have run twice: a SET NX answered nil may be our own). One
   * retry, plus any number (up to MAX_HOPS) after failures on connections that had gone idle.
   */
  async function attempt(args) {
    let asking = null;
    let retries = 1;
    let retried = false;
    for (let hop = 0; ; hop++) {
      const node = asking ?? (await route(keyOf(args)));
      try {
        const reply = await nodeClient(node).command(...(asking ? [["ASKING"], args] : [args]));
        suspects.delete(nodeId(node));
        return { reply, retried };
      } catch (error) {
        asking = null;
        if (error instanceof RedisRedirectError && hop < MAX_HOPS) {
          if (error.code === "MOVED") slots.set(error.slot, error.node);
          else asking = error.node;
          continue;
        }
        if (!retryable(error) || hop >= MAX_HOPS) throw named(error, node);
        rediscover(node);
        if (!(error instanceof StaleConnectionError) && retries-- === 0) throw named(error, node);
        retried ||= isConnectionError(error);
      }
    }
  }

  /** The error to report, with what to do for the replies that mean "wrong node". */
  function named(error, node) {
    const at = `${nodeId(node)}${node === primary && sentinels ? ` (master "${target.master}" per Sentinel)` : ""}`;
    if (error instanceof RedisReadOnlyError && sentinels) {
      error.message = `${error.message} (${at} is a read-only replica: a fail-over is under way; later firings ask the sentinels again)`;
    } else if (error instanceof RedisReadOnlyError) {
      error.message = `${error.message} (${at} is a read-only replica: point the URL at the master, or use redis+sentinel://sentinel:26379/master so fail-overs are followed)`;
    } else if (error instanceof RedisRedirectError) {
      error.message = `${error.message} (still redirected after ${MAX_HOPS} hops: the cluster is resharding)`;
    } else if (error instanceof RedisReplyError && /^(CLUSTERDOWN|TRYAGAIN|MASTERDOWN|LOADING)$/.test(error.code)) {
      error.message = `${error.message} (at ${at}: the Redis topology is changing; later firings retry)`;
    }
    return error;
  }

  return {
    target,
    /** Sends one command (retried on a fresh connection if its connection failed): its reply. */
    command: async (...args) => (await attempt(args.map(String))).reply,
    /** The same, as `{ reply, retried }` (see attempt). */
    send: (...args) => attempt(args.map(String)),
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
  const ask = (client) => client.command(["SENTINEL", "get-master-addr-by-name", target.master]);
  let first = 0;

  async function askWithAuth(index) {
    const client = clients[index];
    try {
      return await ask(client);
    } catch (error) {
      if (!(error instanceof RedisReplyError && error.code === "NOAUTH" && target.password)) throw error;
      if (clients[index] === client) {
        client.close();
        clients[index] = open(target.hosts[index], true);
      }
      return ask(clients[index]);
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
