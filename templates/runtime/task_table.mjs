// The task table behind runTask and listings: the generated registry's groups (a task's group is
// the CRC-32 of its name modulo the group count, compiler/lazy_tasks.py), or a plain
// { name: { meta, load } } object. Web-standard JavaScript (it also runs on workerd and Vercel).

/**
 * The registry's task groups, as `{ find, all }`: `loadGroup(n)` imports group n of `count` (one
 * function, not a loader per group: Bun parsed 200 arrow functions, 10,000 tasks, in 0.8 ms of its
 * start), `list()` every name and description; `replaced(name)`, in nitro dev, the loader of a
 * task whose changed file was bundled alone. Positional arguments and a closure, not a class:
 * option keys, `this.` and a constructor's assignments were bytes of every bundle.
 */
export function taskGroups(count, loadGroup, list, replaced) {
  /**
   * `{ load }` of the task called `name` (load null: it has no handler), or undefined; imports only
   * its group. Nothing reads a found task's `meta`: descriptions are listings' (all()).
   */
  const find = async (name) => {
    if (count === 0) return undefined;
    const group = await loadGroup(crc32(name) % count);
    if (!Object.hasOwn(group.table, name)) return undefined;
    const slot = group.table[name];
    return { load: slot < 0 ? null : async () => replaced?.(name)?.() ?? group.load[slot]() };
  };

  /**
   * The listing (task.mjs listTasks) from the listing module: no task code is read but that of a
   * task whose module may compute its description (`dynamic`, left out of a listing module
   * without one: compiler/lazy_tasks.py), as describe() does.
   */
  const all = async () => {
    const { default: descriptions, dynamic = [] } = await list();
    // fromEntries, not assignments: a task may be called __proto__ (tasks/__proto__.ts).
    const listing = Object.fromEntries(
      Object.entries(descriptions).map(([name, description]) => [name, { description: description ?? "" }]),
    );
    const load = async (name) => (await find(name))?.load?.();
    await Promise.all(
      dynamic.map(async (name) => {
        const mod = await load(name).catch(() => undefined);
        listing[name].description = mod?.default?.meta?.description ?? listing[name].description;
      }),
    );
    return listing;
  };

  return { find, all };
}

/**
 * The same interface over a plain `{ name: { meta, load } }` object (tests, hand-made registries;
 * never in a bundle: task.mjs registerTasks).
 */
export function plainTasks(table) {
  return {
    find: async (name) => (Object.hasOwn(table, name) ? table[name] : undefined),
    all: async () => {
      const entries = Object.entries(table).map(async ([name, task]) => [name, { description: await describe(task) }]);
      return Object.fromEntries(await Promise.all(entries));
    },
  };
}

/**
 * A task's listed description: the module's `meta.description`, else the config's, as Nitro's
 * listing (src/runtime/internal/routes/dev-tasks.ts). The build read a literal one already; a
 * module that may compute it (`meta.dynamic`) is loaded; none gives "".
 */
async function describe({ meta, load }) {
  const mod = meta?.dynamic ? await load?.().catch(() => undefined) : undefined;
  return mod?.default?.meta?.description ?? meta?.description ?? "";
}

/**
 * CRC-32 (zlib's, as Python's zlib.crc32) of the UTF-8 bytes of `text`, a bit at a time: a task
 * name is a few dozen bytes, and building the usual 256-entry table first (2,048 steps in the
 * interpreter) cost 0.5-2 ms of the first task run after start against 0.07 ms (bench/README.md).
 */
export function crc32(text) {
  let crc = ~0;
  for (const byte of new TextEncoder().encode(text)) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? 0xedb88320 ^ (crc >>> 1) : crc >>> 1;
  }
  return ~crc >>> 0;
}
