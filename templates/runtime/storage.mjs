// useStorage(base?): Nitro's storage layer on unstorage itself (https://unstorage.unjs.io), with the
// mounts the build resolved from `storage` (and `devStorage` under nitro dev) in #nitro-virtual/storage.mjs (compiler/nitro_apis.py).
// Bundled only into projects that call useStorage (esbuild drops it otherwise).
import { createStorage, prefixStorage } from "unstorage";
import { mountStorage } from "#nitro-virtual/storage.mjs";

let storage;

/** The storage, or its view under `base` (`useStorage("data")` sees keys under the `data` mount). */
export function useStorage(base = "") {
  storage ??= initStorage();
  return base ? prefixStorage(storage, base) : storage;
}

function initStorage() {
  // The root mount is unstorage's default memory driver, as in Nitro.
  const created = createStorage({});
  mountStorage(created);
  return created;
}
