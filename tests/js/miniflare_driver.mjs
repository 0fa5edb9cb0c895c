// Runs built Workers in real workerd through Miniflare and performs the actions of a JSON spec:
//   node miniflare_driver.mjs '{"workers":[...],"actions":[...]}'
// workers: [{ name, scriptPath, compatibilityDate, compatibilityFlags?, bindings?, outboundService?,
//             kvNamespaces?: ["KV"], kvPersist?: folder (KV kept across driver runs) }]
// actions: { type: "scheduled", worker?, cron, scheduledTime }  -> { outcome, noRetry }
//          { type: "fetch", worker?, url, method?, headers?, body? } -> { status, headers, body }
//          { type: "waitLog", contains, timeoutMs? }              -> { found }
// Prints one JSON object { results, logs } (logs: the Workers' console lines) on stdout.
import { dirname } from "node:path";
import { Miniflare } from "miniflare";

const spec = JSON.parse(process.argv[2]);
const logs = [];

function collect(stream) {
  let rest = "";
  stream.setEncoding("utf8");
  stream.on("data", (chunk) => {
    const lines = (rest + chunk).split("\n");
    rest = lines.pop();
    logs.push(...lines);
  });
}

function workerOptions(w) {
  return {
    name: w.name,
    scriptPath: w.scriptPath,
    modules: true,
    // Module names are paths relative to this root; the default (cwd) would need "..".
    modulesRoot: dirname(w.scriptPath),
    // Our bundles are ES modules whether they end in .mjs (Workers) or .js (Pages _worker.js).
    modulesRules: [{ type: "ESModule", include: ["**/*.mjs", "**/*.js"] }],
    compatibilityDate: w.compatibilityDate,
    compatibilityFlags: w.compatibilityFlags ?? [],
    bindings: w.bindings ?? {},
    ...(w.outboundService ? { outboundService: w.outboundService } : {}),
    ...(w.kvNamespaces ? { kvNamespaces: w.kvNamespaces } : {}),
  };
}

async function waitLog(contains, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (logs.some((line) => line.includes(contains))) return { found: true };
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return { found: false };
}

async function perform(mf, action) {
  const worker = await mf.getWorker(action.worker);
  if (action.type === "scheduled") {
    const result = await worker.scheduled({ cron: action.cron, scheduledTime: new Date(action.scheduledTime) });
    return { outcome: result.outcome, noRetry: result.noRetry };
  }
  if (action.type === "fetch") {
    const response = await worker.fetch(action.url, { method: action.method ?? "GET", headers: action.headers ?? {}, body: action.body });
    return { status: response.status, headers: Object.fromEntries(response.headers), body: await response.text() };
  }
  if (action.type === "waitLog") return waitLog(action.contains, action.timeoutMs);
  throw new Error(`unknown action ${action.type}`);
}

const mf = new Miniflare({
  workers: spec.workers.map(workerOptions),
  // A shared option in Miniflare: KV data kept on disk across driver runs.
  kvPersist: spec.workers.find((w) => w.kvPersist)?.kvPersist ?? false,
  handleRuntimeStdio(stdout, stderr) {
    collect(stdout);
    collect(stderr);
  },
});
try {
  await mf.ready;
  const results = [];
  for (const action of spec.actions) results.push(await perform(mf, action));
  console.log(JSON.stringify({ results, logs }));
} catch (error) {
  console.error(logs.join("\n"));
  throw error;
} finally {
  await mf.dispose();
}
