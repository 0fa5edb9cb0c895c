// nitro dev's esbuild service (compiler/dev/hot.py): bundles one changed task module alone, in a
// few milliseconds, for the running dev server to import in place of the old one. One JSON request
// per line on stdin, one JSON answer per line on stdout; it exits when `nitro dev` closes stdin.
//
// The chunk must share the server's runtime (storage, hooks, runtime config are module state), so
// every import of a runtime module becomes a lookup in the server's own instances: the names of the
// dev bundle's auto-import module, which the server puts on globalThis before importing the chunk
// (templates/runtime/dev.mjs). Only those names are exported, so importing another one is a build
// error (nitro dev then rebuilds everything). https://esbuild.github.io/plugins/
import { createRequire } from "node:module";
import { sep } from "node:path";
import { createInterface } from "node:readline";

const esbuild = createRequire(import.meta.url)(process.argv[2]);
const NAMESPACE = "nitro-dev-runtime";

function runtimeModules(runtimeDir, names) {
  const contents = [
    "const names = globalThis.__nitroDevAutoImports;",
    ...names.map((name) => `export const ${name} = names.${name};`),
  ].join("\n");
  return {
    name: "nitro-dev-runtime",
    setup(build) {
      build.onResolve({ filter: /.*/ }, async (args) => {
        if (args.pluginData === NAMESPACE || args.namespace === NAMESPACE) return undefined;
        const found = await build.resolve(args.path, {
          kind: args.kind,
          importer: args.importer,
          resolveDir: args.resolveDir,
          pluginData: NAMESPACE,
        });
        if (found.errors.length > 0 || !found.path.startsWith(runtimeDir + sep)) return undefined;
        return { path: found.path.slice(runtimeDir.length + 1), namespace: NAMESPACE };
      });
      build.onLoad({ filter: /.*/, namespace: NAMESPACE }, () => ({ contents, loader: "js" }));
    },
  };
}

async function handle({ options, runtimeDir, names }) {
  const result = await esbuild.build({
    ...options,
    plugins: [runtimeModules(runtimeDir, names)],
    metafile: true,
    write: true,
    logLevel: "silent",
  });
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
