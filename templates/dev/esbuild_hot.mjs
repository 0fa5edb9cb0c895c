// nitro dev's esbuild service (compiler/dev/hot.py): bundles one changed task module alone, in a
// few milliseconds, for the running dev server to import in place of the old one. One JSON request
// per line on stdin, one JSON answer per line on stdout; it exits when `nitro dev` closes stdin.
//
// The chunk must share the server's runtime (storage, hooks, runtime config are module state), so
// the auto-imports it uses are lookups in the server's own instances: the names of the dev
// bundle's auto-import module, which the server puts on globalThis before importing the chunk
// (templates/runtime/dev.mjs). Other imports of the runtime, and of the modules the dev bundle
// exposes (a helper or package other tasks import too), read the server's instance of that module:
// their export names come from the server, asked once per module (the answer's `missing`).
// https://esbuild.github.io/plugins/
import { createRequire } from "node:module";
import { sep } from "node:path";
import { createInterface } from "node:readline";

const esbuild = createRequire(import.meta.url)(process.argv[2]);
esbuild.transform("").catch(() => {}); // starts esbuild's own process now, not at the first swap
const NAMESPACE = "nitro-dev-runtime";
const MODULES = "nitro-dev-module";

/**
 * Imports of the runtime, and of the modules the dev bundle exposes (compiler/dev_modules.py), read
 * the server's instances: `runtimeDir` is the runtime folder, `names` the auto-import names (what
 * a runtime module the bundle does not expose offers), `modules` { resolved path: key } and
 * `exports` { key: export names } (a key without: `missing`).
 */
function serverModules({ runtimeDir, names, modules, exports }, missing) {
  const runtime = ["const names = globalThis.__nitroDevAutoImports;", ...names.map((n) => `export const ${n} = names.${n};`)];
  const module = (key) => {
    if (!exports[key]) missing.add(key);
    const lines = [`const ns = globalThis.__nitroDevModules[${JSON.stringify(key)}];`];
    (exports[key] ?? []).forEach((name, i) => lines.push(`const v${i} = ns[${JSON.stringify(name)}];`, `export { v${i} as ${name} };`));
    return lines.join("\n");
  };
  return {
    name: "nitro-dev-server-modules",
    setup(build) {
      build.onResolve({ filter: /.*/ }, async (args) => {
        if (args.pluginData === NAMESPACE || args.namespace !== "file") return undefined;
        const found = await build.resolve(args.path, {
          kind: args.kind,
          importer: args.importer,
          resolveDir: args.resolveDir,
          pluginData: NAMESPACE,
        });
        if (found.errors.length > 0 || found.external) return undefined;
        const key = modules[found.path];
        if (key !== undefined) return { path: key, namespace: MODULES };
        // Another runtime module reads the auto-import names: a name the server lacks is a build
        // error ("No matching export"), so the full build takes it (hot.py refuses `import *`).
        if (!found.path.startsWith(runtimeDir + sep)) return undefined;
        return { path: found.path.slice(runtimeDir.length + 1), namespace: NAMESPACE };
      });
      build.onLoad({ filter: /.*/, namespace: NAMESPACE }, () => ({ contents: runtime.join("\n"), loader: "js" }));
      build.onLoad({ filter: /.*/, namespace: MODULES }, (args) => ({ contents: module(args.path), loader: "js" }));
    },
  };
}

async function handle({ options, ...server }) {
  const missing = new Set();
  const result = await esbuild.build({
    ...options,
    plugins: [serverModules(server, missing)],
    metafile: true,
    write: true,
    logLevel: "silent",
  }).catch((error) => {
    if (missing.size === 0) throw error;
    return null; // an import of a name the placeholder lacks: the caller asks the server, then again
  });
  if (missing.size > 0) return { missing: [...missing] };
  return { inputs: Object.keys(result.metafile.inputs), outputs: Object.keys(result.metafile.outputs) };
}

async function formatted(error) {
  if (!error?.errors?.length) return String(error?.stack ?? error);
  return (await esbuild.formatMessages(error.errors, { kind: "error", color: false })).join("");
}

let queue = Promise.resolve(); // one build at a time, answered in order
createInterface({ input: process.stdin })
  .on("line", (line) => {
    queue = queue.then(async () => {
      let answer;
      try {
        answer = { ok: true, ...(await handle(JSON.parse(line))) };
      } catch (error) {
        answer = { ok: false, error: await formatted(error) };
      }
      process.stdout.write(JSON.stringify(answer) + "\n");
    });
  })
  .on("close", () => queue.then(() => process.exit(0)));
