// Which node: modules the pinned workerd serves under nodejs_compat, per compatibility date:
//   node node_module_probe.mjs '{"dates": ["2025-09-14", ...], "modules": ["fs", ...]}'
// Prints { supportedCompatibilityDate, available: { date: { module: true | "error message" } } }.
// One Worker per date imports each module dynamically (a failed static import would stop the
// whole Worker, which is what the build prevents; here each module is tried on its own).
import { Miniflare, supportedCompatibilityDate } from "miniflare";

const { dates, modules } = JSON.parse(process.argv[2]);
const script = `
const modules = ${JSON.stringify(modules)};
export default {
  async fetch() {
    const out = {};
    for (const name of modules) {
      try { await import("node:" + name); out[name] = true; } catch (error) { out[name] = String(error?.message ?? error); }
    }
    return Response.json(out);
  },
};`;
const available = {};
for (const date of dates) {
  const mf = new Miniflare({
    modules: [{ type: "ESModule", path: "probe.mjs", contents: script }],
    compatibilityDate: date,
    compatibilityFlags: ["nodejs_compat"],
  });
  try {
    available[date] = await (await mf.dispatchFetch("http://probe/")).json();
  } finally {
    await mf.dispose();
  }
}
console.log(JSON.stringify({ supportedCompatibilityDate, available }));
