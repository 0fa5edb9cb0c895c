// Dev adapter: node_server, plus the channel on which `nitro dev` (compiler/dev/hot.py) tells the
// running server that a changed task was bundled alone: the task's next run imports the new
// chunk (a fresh module, so its top level runs again) and the server keeps running.
import { Socket } from "node:net";
import { createInterface } from "node:readline";
import { pathToFileURL } from "node:url";
import { startNode } from "./node.mjs";

/** Entry point of the generated dev bundle: `startDev(registry)`. */
export function startDev(registry) {
  listenForReloads(registry);
  return startNode(registry);
}

/**
 * NITRO_DEV_CONTROL_FD: one end of a socket pair `nitro dev` keeps the other end of (no port, so
 * nothing else can send reloads). Each line `{ id, tasks, file }` swaps those tasks' loader to
 * the chunk `file`; the answer `{ id, ok }` is sent once the next run will use it. A line
 * `{ id, modules }` loads those exposed modules (compiler/dev_modules.py) for the chunks to read
 * and answers `{ id, ok, exports: { key: names } }`.
 */
function listenForReloads(registry) {
  const fd = Number(process.env.NITRO_DEV_CONTROL_FD);
  delete process.env.NITRO_DEV_CONTROL_FD; // not for the tasks' own child processes
  if (!Number.isInteger(fd) || fd < 3 || !registry.replaceTask || process.argv[2] === "task") return;
  const channel = new Socket({ fd, readable: true, writable: true });
  channel.on("error", () => {}); // nitro dev went away: it stops this server too
  channel.unref(); // never what keeps the server alive
  createInterface({ input: channel }).on("line", async (line) => {
    const { id, tasks, file, modules } = JSON.parse(line);
    let answer = { id, ok: true };
    try {
      // The chunk reads the runtime's names from here (templates/dev/esbuild_hot.mjs).
      globalThis.__nitroDevAutoImports ??= await registry.autoImports();
      if (modules) answer.exports = await loadModules(registry, modules);
      const url = file && `${pathToFileURL(file).href}?v=${id}`; // a new URL: a new module instance
      for (const name of tasks ?? []) registry.replaceTask(name, () => import(url).then((chunk) => chunk.load[0]()));
    } catch (error) {
      answer = { id, ok: false, error: String(error?.stack ?? error) };
    }
    channel.write(`${JSON.stringify(answer)}\n`);
  });
}

async function loadModules(registry, keys) {
  const loaders = await registry.devModules();
  const loaded = (globalThis.__nitroDevModules ??= {});
  const exports = {};
  for (const key of keys) {
    loaded[key] ??= await loaders[key]();
    exports[key] = Object.keys(loaded[key]).filter((name) => /^[A-Za-z_$][\w$]*$/.test(name));
  }
  return exports;
}
