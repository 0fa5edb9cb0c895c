// A minimal Redis client (RESP2 over node:net / node:tls connections) for the scheduler lock: this
// file speaks the protocol to one node; redis_client.mjs routes commands across a Sentinel or
// Cluster topology and retries them.
//
// Why our own client instead of node-redis (`redis` on npm), which does run bundled on Node,
// Bun and Deno alike:
// - nothing for the user to install: a lock works in any bundle, with no "npm install redis"
//   step and no build error when it is missing;
// - size: node-redis 6 bundles to ~1.6 MB of JavaScript; this file is a few KB;
// - failure semantics we control. A scheduler claim must never be replayed late: node-redis
//   queues commands while disconnected (offline queue) and retries them after reconnecting,
//   which would send a stale `SET NX` for a firing that is long past (redis_client.mjs retries
//   a claim only within its window). Here a
//   command either gets its answer within `commandTimeoutMs` or fails, and a broken connection
//   fails every command waiting on it; the next command opens a new connection.
// We need five commands (SET NX PX, GET, DEL, PING, EVAL for compare-and-delete); node:net and
// node:tls exist on Node, Bun (https://bun.sh/docs/runtime/nodejs-apis) and Deno
// (https://docs.deno.com/runtime/fundamentals/node/).
// Protocol: https://redis.io/docs/latest/develop/reference/protocol-spec/ (RESP2).
// Checked here: node-redis 6.3.1 bundled by esbuild also runs on Node 20, Bun 1.4.5 and Deno 2.9.6
// (so the choice is about the points above, not about it failing). rediss:// is tested on Node and
// Bun with a private CA (NODE_EXTRA_CA_CERTS); Deno's node:tls does not take a private CA from
// --cert / DENO_CERT, so on Deno use a certificate from a public CA.
// Imported only by the server adapters (through lock.mjs), never by the Cloudflare or Vercel entries.
import { Buffer } from "node:buffer";
import net from "node:net";
import tls from "node:tls";

const CRLF = "\r\n";

/** An error reply from Redis (`-ERR ...`, `-NOAUTH ...`); the connection stays usable. */
export class RedisReplyError extends Error {
  name = "RedisReplyError";
  /** The reply's first word: ERR, NOAUTH, WRONGPASS, MOVED, ASK, READONLY, CLUSTERDOWN, ... */
  get code() {
    return this.message.split(" ", 1)[0];
  }
}

/**
 * `-MOVED <slot> <host>:<port>` / `-ASK ...`: the key's slot is served by another Redis Cluster
 * node (https://redis.io/docs/latest/operate/oss_and_stack/reference/cluster-spec/#redirection-and-resharding).
 */
export class RedisRedirectError extends RedisReplyError {
  name = "RedisRedirectError";
  constructor(message) {
    super(message);
    const [, slot, address] = message.split(" ");
    const colon = address?.lastIndexOf(":") ?? -1;
    this.slot = Number(slot);
    this.node = { host: address?.slice(0, colon).replace(/^\[|\]$/g, "") ?? "", port: Number(address?.slice(colon + 1)) };
  }
}

/** `-READONLY`: a write went to a replica (a Sentinel fail-over demoted the node we talk to). */
export class RedisReadOnlyError extends RedisReplyError {
  name = "RedisReadOnlyError";
}

function replyError(line) {
  const code = line.split(" ", 1)[0];
  if (code === "MOVED" || code === "ASK") return new RedisRedirectError(line);
  if (code === "READONLY") return new RedisReadOnlyError(line);
  return new RedisReplyError(line);
}

/**
 * The connection failed under a command sent after it had been silent for over KEEPALIVE_MS: most
 * likely a middlebox forgot it. redis_client.mjs retries such a command on a fresh connection
 * without counting it against the one retry that other failures get.
 */
export class StaleConnectionError extends Error {
  name = "StaleConnectionError";
  constructor(cause) {
    super(`${cause?.message ?? cause} (on a connection idle for over ${KEEPALIVE_MS} ms)`, { cause });
  }
}

/** A failure of the connection itself (not an answer from Redis): the command may be retried. */
export const isConnectionError = (error) => !(error instanceof RedisReplyError);

/** No connection could be opened (refused, unreachable, no answer to connect or the handshake). */
export class RedisConnectError extends Error {
  name = "RedisConnectError";
  constructor(cause) {
    super(cause?.message ?? String(cause), { cause });
  }
}

/** RESP2 request: an array of bulk strings. */
export function encodeCommand(args) {
  let out = `*${args.length}${CRLF}`;
  for (const arg of args) {
    const text = String(arg);
    out += `$${Buffer.byteLength(text)}${CRLF}${text}${CRLF}`;
  }
  return out;
}

/** Parses one reply at `start`: `{ value, next }`, or null when `buf` does not hold all of it yet. */
export function parseReply(buf, start = 0) {
  const lineEnd = buf.indexOf(CRLF, start);
  if (lineEnd < 0) return null;
  const type = String.fromCharCode(buf[start]);
  const line = buf.toString("utf8", start + 1, lineEnd);
  const next = lineEnd + 2;
  if (type === "+") return { value: line, next };
  if (type === "-") return { value: replyError(line), next };
  if (type === ":") return { value: Number(line), next };
  if (type === "$") return parseBulk(buf, Number(line), next);
  if (type === "*") return parseArray(buf, Number(line), next);
  throw new Error(`unexpected byte ${JSON.stringify(type)} in a Redis reply`);
}

function parseBulk(buf, length, start) {
  if (length < 0) return { value: null, next: start };
  if (buf.length < start + length + 2) return null;
  return { value: buf.toString("utf8", start, start + length), next: start + length + 2 };
}

function parseArray(buf, count, start) {
  if (count < 0) return { value: null, next: start };
  const items = [];
  let at = start;
  for (let i = 0; i < count; i++) {
    const item = parseReply(buf, at);
    if (!item) return null;
    items.push(item.value);
    at = item.next;
  }
  return { value: items, next: at };
}

// TCP keepalive probes after this much idle time: NATs and cloud load balancers forget idle
// connections (often after 350 s, some much sooner), and then drop the next command silently. A
// probe keeps the mapping alive where the middlebox counts it; where it does not, the dead
// connection is noticed by the failed command, which the client retries on a fresh connection.
export const KEEPALIVE_MS = 1000;
// A connection that has been silent longer than KEEPALIVE_MS may have been forgotten that way: its
// next command gets this long (not the full command timeout) before the connection is given up
// and the command retried on a fresh one, so a claim is not late by a whole timeout. Redis
// answers in well under a millisecond on a LAN and in one round trip across regions.
export const STALE_TIMEOUT_MS = 500;

/**
 * One lazily opened connection to one Redis node (`{ host, port }`), with `settings`
 * `{ tls, username, password, db, onServer(runId) }`. `command(args)` resolves to the reply or rejects (an error
 * reply, a connection failure, or no answer within `commandTimeoutMs`); it never queues a command
 * for a later connection. A failed connection fails every command waiting on it and is dropped:
 * the next command opens a fresh one. `close()` ends it.
 */
export function connectNode(node, settings, { connectTimeoutMs = 2000, commandTimeoutMs = 2000 } = {}) {
  let conn = null; // { socket, ready: Promise<void>, pending: [], buffer, error }

  function open() {
    const socket = settings.tls
      ? tls.connect({ host: node.host, port: node.port, servername: net.isIP(node.host) ? undefined : node.host })
      : net.connect({ host: node.host, port: node.port });
    const c = { socket, pending: [], buffer: Buffer.alloc(0), heard: Date.now() };
    socket.setNoDelay?.(true);
    socket.setKeepAlive?.(true, KEEPALIVE_MS);
    // The lock must never keep a process alive that would otherwise exit.
    socket.unref?.();
    socket.on("data", (chunk) => onData(c, chunk));
    socket.on("error", (error) => drop(c, error));
    socket.on("close", () => drop(c, new Error("connection to Redis closed")));
    c.ready = connected(c).then(() => handshake(c));
    c.ready.catch((error) => drop(c, error));
    return c;
  }

  function connected(c) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`could not connect within ${connectTimeoutMs} ms`)), connectTimeoutMs);
      c.socket.once(settings.tls ? "secureConnect" : "connect", () => (clearTimeout(timer), resolve()));
      c.socket.once("close", () => (clearTimeout(timer), reject(c.error ?? new Error("connection to Redis closed"))));
    });
  }

  async function handshake(c) {
    if (settings.password) {
      await send(c, settings.username ? ["AUTH", settings.username, settings.password] : ["AUTH", settings.password]);
    }
    if (settings.db) await send(c, ["SELECT", settings.db]);
    // Named connections (`nitro-lock`, `nitro-runs`) tell an operator's CLIENT LIST what each is.
    if (settings.clientName) {
      await send(c, ["CLIENT", "SETNAME", settings.clientName]).catch((error) => (error instanceof RedisReplyError ? "" : Promise.reject(error)));
    }
    // Which server answers (its run_id changes on a restart): see onChange in redis_client.mjs. A
    // user whose ACL forbids INFO (NOPERM), or a service without it, just goes without.
    if (settings.onServer) {
      const info = await send(c, ["INFO", "server"]).catch((error) => (error instanceof RedisReplyError ? "" : Promise.reject(error)));
      settings.onServer(/run_id:(\w+)/.exec(info)?.[1] ?? "");
    }
  }

  function onData(c, chunk) {
    c.heard = Date.now();
    c.buffer = c.buffer.length ? Buffer.concat([c.buffer, chunk]) : chunk;
    let at = 0;
    for (let reply = parseReply(c.buffer, at); reply; reply = parseReply(c.buffer, at)) {
      at = reply.next;
      const waiter = c.pending.shift();
      if (!waiter) return drop(c, new Error("Redis sent a reply nobody asked for"));
      clearTimeout(waiter.timer);
      if (reply.value instanceof RedisReplyError) waiter.reject(reply.value);
      else waiter.resolve(reply.value);
    }
    c.buffer = c.buffer.subarray(at);
  }

  /** Fails everything waiting on `c` and forgets it; the next command reconnects. */
  function drop(c, error) {
    c.error ??= error;
    if (conn === c) conn = null;
    for (const waiter of c.pending.splice(0)) {
      clearTimeout(waiter.timer);
      waiter.reject(waiter.stale ? new StaleConnectionError(c.error) : c.error);
    }
    c.socket.destroy();
  }

  function send(c, args) {
    return new Promise((resolve, reject) => {
      if (c.error) return reject(c.error);
      // Without an answer the reply order is lost, so the whole connection goes.
      const stale = c.pending.length === 0 && Date.now() - c.heard > KEEPALIVE_MS;
      const limitMs = stale ? STALE_TIMEOUT_MS : commandTimeoutMs;
      const timer = setTimeout(() => drop(c, new Error(`Redis did not answer ${args[0]} within ${limitMs} ms`)), limitMs);
      c.pending.push({ resolve, reject, timer, stale });
      c.socket.write(encodeCommand(args));
    });
  }

  return {
    node,
    /** Sends `commands` (arrays) back to back on one connection; resolves to the last reply. */
    async command(...commands) {
      conn ??= open();
      const c = conn;
      await c.ready.catch((error) => Promise.reject(error instanceof RedisReplyError ? error : new RedisConnectError(error)));
      const replies = commands.map((args) => send(c, args));
      replies.slice(0, -1).forEach((reply) => reply.catch(() => {})); // the last one reports
      return replies.at(-1);
    },
    close() {
      if (conn) drop(conn, new Error("Redis client closed"));
    },
  };
}
