// waitUntil where the platform has none (Node, Bun, Deno, the task CLI): promises are kept until
// they settle, so a shutdown or the CLI can wait for the work a task handed over.

/** A waitUntil that remembers its promises; `settled()` resolves when all have settled. */
export function tracker() {
  const promises = new Set();
  return {
    // An arrow function: adapters pass `add` on by itself, as the requests' waitUntil.
    add: (promise) => {
      const tracked = Promise.resolve(promise)
        .catch((error) => console.error("[nitro] waitUntil promise rejected:", error))
        .finally(() => promises.delete(tracked));
      promises.add(tracked);
    },
    // A promise added meanwhile is waited for too.
    async settled() {
      while (promises.size) await Promise.allSettled([...promises]);
    },
  };
}
