// Node stack traces through the bundle's source maps, each map read the first time a stack needs
// it. `process.setSourceMapsEnabled(true)` made Node read, parse and keep the .map of every
// module loaded afterwards: at 10,000 tasks about 0.15 ms and 47 KiB of heap for each task-group
// chunk a first run loaded, most of which no stack ever used (bench/README.md, "first run").
// Here `Error.prepareStackTrace` (https://v8.dev/docs/stack-trace-api) maps each frame of a
// file with a `//# sourceMappingURL=` comment through node:module's SourceMap
// (https://nodejs.org/api/module.html#class-modulesourcemap), writing a frame as Node's own
// source-map support does: `at name (/abs/tasks/x.ts:LINE:COLUMN)`, the names a minifier shortened
// read back from the map (callName). Under --enable-source-maps too: Node's own names a function
// from the map only at its start or at a caller in the same file (`at v (runtime/task.mjs:...)`).
// Left alone: Deno (which maps stacks itself), Bun, and a process where something else formats
// stacks (nitro dev does not import this module).
import { readFileSync } from "node:fs";
import * as nodeModule from "node:module";
import { isAbsolute } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const maps = new Map(); // a frame's file name -> { map, code, lines? } (readMap), or null
let formatting = false;

// Only Node bundles import this module (presets/base.py node_stack_maps), and Node has had
// node:module's SourceMap since 13.7: a runtime without it would only leave every frame unmapped
// (readMap's `new SourceMap` throws into its catch). Node 20's call sites (V8 11) all have
// isAsync, isConstructor and getEnclosingLineNumber/ColumnNumber.
if (
  !globalThis.Deno &&
  !globalThis.Bun &&
  // Node 20's own is a function too (`ErrorPrepareStackTrace`), which the override replaces.
  [undefined, "ErrorPrepareStackTrace"].includes(Error.prepareStackTrace?.name)
) {
  Error.prepareStackTrace = prepareStackTrace;
}

/** V8's stack text, `header\n    at frame...`, with the frames of mapped files mapped. */
export function prepareStackTrace(error, trace) {
  // Reading a map may throw, and that error's stack must not come back here: while formatting,
  // a stack keeps V8's frames.
  const mapping = !formatting;
  formatting = true;
  try {
    return header(error) + trace.map((site) => `\n    at ${mapping ? frame(site) : site}`).join("");
  } finally {
    if (mapping) formatting = false;
  }
}

function header(error) {
  let plain = "Error"; // if a name or message getter throws
  try {
    plain = Error.prototype.toString.call(error);
    // Node's own errors name their code, as their toString does: `TypeError [ERR_X]: message`.
    const coded = `${error.name} [${error.code}]: ${error.message}`;
    return typeof error.code === "string" && error.toString() === coded ? coded : plain;
  } catch {
    return plain;
  }
}

function frame(site) {
  try {
    const mapped = mapOf(site.getFileName());
    const found = mapped?.map.findEntry(site.getLineNumber() - 1, site.getColumnNumber() - 1);
    if (found?.originalSource && found.originalLine !== undefined) {
      const { originalSource: original } = found;
      const source = original.startsWith("file:") ? fileURLToPath(original) : original;
      const where = `${source}:${found.originalLine + 1}:${found.originalColumn + 1}`;
      const kind = site.isAsync() ? "async " : site.isConstructor() ? "new " : "";
      return `${kind}${callName(mapped, site)} (${where})`;
    }
  } catch {
    // an unreadable map: the frame as V8 writes it
  }
  return `${site}`;
}

/**
 * The frame's function as Node names it (`Type.name`), with the names a minifier shortened (esbuild
 * without --keep-names, compiler/keep_names.py) read back from the map, which names the identifier
 * that declares the function or class: `function t(`, `var o=r=>`, `var e=class{`, `class r`.
 */
function callName(mapped, site) {
  const line = site.getEnclosingLineNumber() - 1;
  const column = site.getEnclosingColumnNumber() - 1;
  const own = (name, after) => (line >= 0 && name && declared(mapped, line, column, name, after)) || name;
  const type = site.getTypeName();
  // A receiver's class (`r.go`) may be a subclass declared after the method.
  const prefix = type !== null && type !== undefined && type !== "global" ? `${own(type, true)}.` : "";
  return `${prefix}${own(site.getFunctionName() ?? site.getMethodName()) ?? "<anonymous>"}`;
}

/**
 * The original name of `name`'s declaration nearest before (line, column), else after it if
 * `after`. esbuild's map names each identifier it renamed (https://tc39.es/source-map/#names).
 */
function declared(mapped, line, column, name, after) {
  if (!/^[\w$]+$/.test(name)) return undefined;
  const id = name.replaceAll("$", "\\$");
  // `var e=class r{`: esbuild maps `r`, the name inside the class, as `_Klass`, and `e` as `Klass`.
  const binding = `([\\w$]+)\\s*=\\s*class\\s+${id}`;
  const declaration = `(?:(?:async\\s*)?function\\s*\\*?\\s*|class\\s+)(${id})`;
  const pattern = new RegExp(`(?<![\\w$.])(?:(?:${binding}|${declaration})(?![\\w$])|(${id})\\s*=(?![=>]))`, "dg");
  const found = [...((mapped.lines ??= mapped.code.split("\n"))[line] ?? "").matchAll(pattern)];
  const match = found.findLast((m) => m.index <= column) ?? (after ? found[0] : undefined);
  const at = match?.indices.find((span, i) => i && span)[0];
  const entry = at !== undefined && mapped.map.findEntry(line, at);
  return entry?.generatedLine === line && entry.generatedColumn === at ? entry.name : undefined;
}

/** A frame's file (a path, a URL, `node:...` or none) -> readMap's answer, read once. */
function mapOf(file) {
  if (!maps.has(file)) maps.set(file, readMap(file));
  return maps.get(file);
}

/**
 * The SourceMap the file's `//# sourceMappingURL=` names (a file or a base64 data: URL) and the
 * file's code (callName reads the declarations the map names), or null.
 */
function readMap(file) {
  try {
    const url = file.startsWith("file:") ? new URL(file) : isAbsolute(file) ? pathToFileURL(file) : null;
    if (!url) return null;
    const code = readFileSync(url, "utf8");
    // The last such comment, which ends the file (an inline map can be longer than any tail):
    // from 4 characters before the last "sourceMappingURL=", its `//# ` or `//@ `.
    const tail = code.slice(code.lastIndexOf("sourceMappingURL=") - 4);
    const ref = /^\/\/[#@] sourceMappingURL=([^\s'"]+)\s*$/.exec(tail)?.[1];
    if (!ref) return null;
    const mapUrl = new URL(ref, url);
    const inline = mapUrl.protocol === "data:";
    const payload = JSON.parse(inline ? dataText(ref) : readFileSync(mapUrl, "utf8"));
    // Sources relative to the map (an inline map's to its file), as Node resolves them.
    const base = inline ? url : mapUrl;
    payload.sources = (payload.sources ?? []).map((s) => new URL(`${payload.sourceRoot ?? ""}${s}`, base).href);
    // `lines`, the code's lines, is added by the first callName that reads them.
    return { map: new nodeModule.SourceMap(payload), code };
  } catch {
    return null;
  }
}

function dataText(ref) {
  const comma = ref.indexOf(",");
  const body = ref.slice(comma + 1);
  const base64 = ref.slice(0, comma).endsWith(";base64");
  return base64 ? Buffer.from(body, "base64").toString() : decodeURIComponent(body);
}
