// Drives createApp() from templates/runtime directly (no bundle) to check the /_nitro/tasks
// access rules for client addresses and ctx.env, which a real socket test cannot vary.
// Prints one JSON object: { "<case>": status, ... }.
import { createApp } from "../../templates/runtime/app.mjs";

const tasks = { echo: { meta: { description: "echo" }, load: async () => ({ default: { run: () => ({ result: "ran" }) } }) } };
const dev = createApp({ tasks, scheduledTasks: [], routes: [], options: { dev: true } });
const list = (headers = {}) => new Request("http://localhost/_nitro/tasks", { headers });
const results = {};

for (const address of ["127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1", "10.0.0.5", "192.168.1.2", "::ffff:10.0.0.5", "fe80::1", undefined]) {
  results[`dev ${address}`] = (await dev.fetch(list(), { remoteAddress: address })).status;
}

// Production, token from ctx.env (how Cloudflare passes bindings); process.env has none.
const prod = createApp({ tasks, scheduledTasks: [], routes: [], options: { dev: false } });
const env = { NITRO_TASKS_TOKEN: "s3cret" };
results["prod no token configured"] = (await prod.fetch(list({ authorization: "Bearer s3cret" }), {})).status;
results["prod env right"] = (await prod.fetch(list({ authorization: "Bearer s3cret" }), { env })).status;
results["prod env wrong"] = (await prod.fetch(list({ authorization: "Bearer s3cres" }), { env })).status;
results["prod env longer"] = (await prod.fetch(list({ authorization: "Bearer s3cret2" }), { env })).status;
results["prod env missing"] = (await prod.fetch(list(), { env })).status;
results["prod loopback without token"] = (await prod.fetch(list(), { remoteAddress: "127.0.0.1" })).status;
console.log(JSON.stringify(results));
