// `$fetch` as in Nitro: ofetch (https://github.com/unjs/ofetch) whose requests to a path of our own
// ("/api/...") go to the app in this process instead of the network, as Nitro's localFetch does.
import { createFetch } from "ofetch";
import { getLocalApp } from "./hooks.mjs";

function localFetch(input, init) {
  const app = getLocalApp();
  const path = typeof input === "string" ? input : null;
  if (!app || path === null || !path.startsWith("/") || path.startsWith("//")) return globalThis.fetch(input, init);
  return app.fetch(new Request(`http://localhost${path}`, init), {});
}

export const $fetch = createFetch({ fetch: localFetch });
