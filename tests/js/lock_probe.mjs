// Claims COUNT firings of task "tick" through scheduleGuards (templates/runtime/lock.mjs), with the
// lock URL from NITRO_SCHEDULER_REDIS_URL, and prints { claims, lines } as JSON: what a replica
// decides and logs. Usage: node lock_probe.mjs [COUNT]
import { scheduleGuards } from "../../templates/runtime/lock.mjs";

const count = Number(process.argv[2] ?? 2);
const lines = [];
const log = { log: (m) => lines.push(m), warn: (m) => lines.push(m), error: (m) => lines.push(m) };
const guards = scheduleGuards({ schedulerLock: { driver: "redis", prefix: "probe" }, taskOverlap: { tick: "allow" } }, { runTask: async () => {}, log });
const claims = [];
for (let i = 1; i <= count; i++) claims.push(await guards.claim("tick", i * 1000));
await new Promise((resolve) => setTimeout(resolve, 300)); // the startup PING's log line
guards.close();
console.log(JSON.stringify({ claims, lines }));
