// Redis URLs for the scheduler lock, in the three topologies (compiler/scheduler_lock.py checks the
// same forms at build time):
//   redis://[user:password@]host[:port][/db]                      one server (rediss:// for TLS)
//   redis+sentinel://[user:password@]host[:port][,host[:port]...]/master[/db]
//                                   Sentinels (default port 26379) that name the master of `master`
//   redis+cluster://[user:password@]host[:port][,host[:port]...]   seed nodes of a Redis Cluster
// (`rediss+sentinel://`, `rediss+cluster://`: TLS to the data nodes and the sentinels.) The
// sentinel form is the one redis-py's and Celery's users know as `redis+sentinel://`, with
// several hosts separated by commas as in Lettuce's `redis-sentinel://`. User and password are
// those of the data nodes, and of the sentinels if they demand AUTH. A plain redis:// URL naming a
// cluster node also works: the client follows the node's MOVED redirections.

const TOPOLOGIES = {
  redis: ["single", false],
  rediss: ["single", true],
  "redis+sentinel": ["sentinel", false],
  "rediss+sentinel": ["sentinel", true],
  "redis+cluster": ["cluster", false],
  "rediss+cluster": ["cluster", true],
};
export const URL_FORMS =
  "redis://[user:password@]host[:port][/db], redis+sentinel://[user:password@]host[:port][,host[:port]...]/master[/db] " +
  "or redis+cluster://[user:password@]host[:port][,host[:port]...] (rediss for TLS)";

/**
 * -> `{ topology: "single" | "sentinel" | "cluster", tls, hosts: [{ host, port }], master, username,
 * password, db }`. Errors never contain the password.
 */
export function parseRedisUrl(text) {
  const value = String(text);
  const problem = (why) => new Error(`${redactUrl(value)} is not a usable Redis URL (${why}); write it as ${URL_FORMS}`);
  const match = /^([a-z][\w+.-]*):\/\/([^]*)$/i.exec(value);
  if (!match) throw problem("no scheme");
  const [topology, tls] = TOPOLOGIES[match[1].toLowerCase()] ?? [];
  if (!topology) throw problem(`unknown scheme ${match[1].toLowerCase()}://`);
  const rest = match[2];
  const at = rest.lastIndexOf("@");
  const info = at < 0 ? "" : rest.slice(0, at);
  const where = rest.slice(at + 1);
  if (/[?#]/.test(where)) throw problem("query strings and fragments are not supported");
  const slash = where.indexOf("/");
  const hostList = slash < 0 ? where : where.slice(0, slash);
  const path = slash < 0 ? "" : where.slice(slash + 1);
  const hosts = hostList.split(",").map((h) => parseHost(h, topology === "sentinel" ? 26379 : 6379, problem));
  if (topology === "single" && hosts.length > 1) throw problem("several hosts need redis+sentinel:// or redis+cluster://");
  const { master, db } = parsePath(topology, path, problem);
  const colon = info.indexOf(":");
  const username = decode(colon < 0 ? info : info.slice(0, colon), problem);
  const password = colon < 0 ? "" : decode(info.slice(colon + 1), problem);
  return { topology, tls, hosts, master, username, password, db };
}

function parseHost(text, defaultPort, problem) {
  const match = /^(\[[0-9a-f:.]+\]|[^:[\]/]+)(?::(\d*))?$/i.exec(text);
  if (!match) throw problem(text ? `bad host "${text}"` : "no host");
  const port = match[2] ? Number(match[2]) : defaultPort;
  if (!(port >= 1 && port <= 65535)) throw problem(`port out of range 1-65535: ${match[2]}`);
  return { host: match[1].replace(/^\[|\]$/g, ""), port };
}

function parsePath(topology, path, problem) {
  const parts = path === "" ? [] : path.split("/");
  const db = (text) => {
    if (text === undefined || text === "") return 0;
    if (!/^\d+$/.test(text)) throw problem(`the database must be a number, got "/${text}"`);
    return Number(text);
  };
  if (topology === "sentinel") {
    if (!parts[0] || parts.length > 2) throw problem("name the master: redis+sentinel://host:26379/mymaster");
    return { master: decodeURIComponent(parts[0]), db: db(parts[1]) };
  }
  if (parts.length > 1) throw problem(`the path must be a database number such as /0, got "/${path}"`);
  const number = db(parts[0]);
  if (topology === "cluster" && number !== 0) throw problem("a Redis Cluster has only database 0");
  return { master: null, db: number };
}

function decode(text, problem) {
  try {
    return decodeURIComponent(text);
  } catch {
    throw problem("bad %-escape in the user or password");
  }
}

/**
 * The URL with its password replaced by `***`, safe to log, in any form: with or without a scheme
 * (`user:pw@host:6379` too), several hosts, a URL that does not parse. The user info runs to the
 * last `@` (a password may hold `@`, `/`, `?` or `#`, written raw); everything from its first `:`
 * to that `@` is hidden, and all of it when it has no `:` (`redis://s3cret@host` may mean a password).
 */
export function redactUrl(text) {
  const value = String(text);
  const at = value.lastIndexOf("@");
  if (at < 0) return value;
  const scheme = /^[a-z][\w+.-]*:\/\//i.exec(value)?.[0] ?? "";
  const info = value.slice(scheme.length, at);
  const user = info.includes(":") ? `${info.slice(0, info.indexOf(":"))}:` : "";
  return `${scheme}${user}***${value.slice(at)}`;
}
