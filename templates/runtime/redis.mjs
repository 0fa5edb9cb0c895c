// A minimal Redis client (RESP2 over one node:net / node:tls connection) for the scheduler lock.
//
// Why our own client instead of node-redis (`redis` on npm), which does run bundled on Node,
// Bun and Deno alike:
// - nothing for the user to install: a lock works in any bundle, with no "npm install redis"
//   step and no build error when it is missing;
// - size: node-redis 6 bundles to ~1.6 MB of JavaScript; this file is a few KB;
// - failure semantics we control. A scheduler claim must fail fast and never be replayed
//   late: node-redis queues commands while disconnected (offline queue) and retries them after
//   reconnecting, which would send a stale `SET NX` for a firing that is long past. Here a
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
}

/** `redis://[user:password@]host[:port][/db]` or `rediss://` (TLS) -> connection settings. */
export function parseRedisUrl(text) {
  let url;
  try {
    url = new URL(text);
  } catch {
    throw new Error(`not a valid Redis URL: ${redactUrl(text)}`);
  }
  if (url.protocol !== "redis:" && url.protocol !== "rediss:") {
    throw new Error(`Redis URL must start with redis:// or rediss:// (got ${url.protocol}//)`);
  }
  const db = url.pathname.replace(/^\//, "");
  if (db !== "" && !/^\d+$/.test(db)) throw new Error(`Redis URL database must be a number (got "/${db}")`);
  return {
    host: url.hostname.replace(/^\[|\]$/g, "") || "127.0.0.1",
    port: Number(url.port || 6379),
    tls: url.protocol === "rediss:",
    username: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    db: Number(db || 0),
  };
}

/**
 * The URL with its password replaced by `***`, safe to log. The user info runs to the last `@`
 * (a password may hold `@`, `/`, `?` or `#`, written raw), so everything between the first `:`
 * in the user info and that `@` is hidden, also in a URL that does not parse.
 */
export function redactUrl(text) {
  return String(text).replace(/^(\w+:\/\/)([^]*)@/, (_, scheme, info) =>
    info.includes(":") ? `${scheme}${info.slice(0, info.indexOf(":"))}:***@` : `${scheme}${info}@`,
  );
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
  if (type === "-") return { value: new RedisReplyError(line), next };
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

/**
 * One lazily opened connection. `command(...args)` resolves to the reply or rejects (error
 * reply, connection failure, or no answer within `commandTimeoutMs`); it never queues a command
 * for a later connection. `close()` ends the connection.
 */
export function createRedisClient(url, { connectTimeoutMs = 2000, commandTimeoutMs = 2000 } = {}) {
  const target = parseRedisUrl(url);
  let conn = null; // { socket, ready: Promise<void>, pending: [], buffer }

  function open() {
    const socket = target.tls
      ? tls.connect({ host: target.host, port: target.port, servername: net.isIP(target.host) ? undefined : target.host })
      : net.connect({ host: target.host, port: target.port });
    const c = { socket, pending: [], buffer: Buffer.alloc(0) };
    socket.setNoDelay?.(true);
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
      c.socket.once(target.tls ? "secureConnect" : "connect", () => (clearTimeout(timer), resolve()));
      c.socket.once("close", () => (clearTimeout(timer), reject(c.error ?? new Error("connection to Redis closed"))));
    });
  }

  async function handshake(c) {
    if (target.password) {
      await send(c, target.username ? ["AUTH", target.username, target.password] : ["AUTH", target.password]);
    }
    if (target.db) await send(c, ["SELECT", target.db]);
  }

  function onData(c, chunk) {
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
      waiter.reject(c.error);
    }
    c.socket.destroy();
  }

  function send(c, args) {
    return new Promise((resolve, reject) => {
      if (c.error) return reject(c.error);
      // Without an answer the reply order is lost, so the whole connection goes.
      const timer = setTimeout(
        () => drop(c, new Error(`Redis did not answer ${args[0]} within ${commandTimeoutMs} ms`)),
        commandTimeoutMs,
      );
      c.pending.push({ resolve, reject, timer });
      c.socket.write(encodeCommand(args));
    });
  }

  return {
    target,
    async command(...args) {
      conn ??= open();
      const c = conn;
      await c.ready;
      return send(c, args);
    },
    close() {
      if (conn) drop(conn, new Error("Redis client closed"));
    },
  };
}
