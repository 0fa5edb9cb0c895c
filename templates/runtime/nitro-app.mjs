// The Nitro app that plugins receive: `nitroApp.hooks` is hookable's (https://github.com/unjs/hookable),
// as in Nitro. Hooks: `close` (awaited at graceful shutdown), `request` (event), `error` (error,
// { event?, tags }), and ours around every task run: `task:start` ({ name, payload, context }) and
// `task:end` ({ name, payload, context, duration, result } or { ..., error }).
import { createHooks } from "hookable";
import { setBoot, setNitroApp } from "./hooks.mjs";

let nitroApp;

/** The process's Nitro app (created on first use). */
export function useNitroApp() {
  if (!nitroApp) {
    const hooks = createHooks();
    nitroApp = {
      hooks,
      captureError: (error, context = {}) =>
        Promise.resolve(hooks.callHookParallel("error", error, context)).catch((hookError) =>
          console.error("[nitro] error hook failed:", hookError),
        ),
    };
    setNitroApp(nitroApp);
  }
  return nitroApp;
}

/** Returns the plugin unchanged (for typing, as Nitro's defineNitroPlugin). */
export function defineNitroPlugin(plugin) {
  return plugin;
}

export const nitroPlugin = defineNitroPlugin;

/** A plugin failed at start-up; the message names its file. */
export class PluginError extends Error {
  constructor(file, cause) {
    super(`plugin ${file} failed at start-up: ${cause?.message ?? cause}`, { cause });
    this.name = "PluginError";
  }
}

/**
 * Registers the registry's plugins `[{ file, load }]`: `ready()` (hooks.mjs) runs them once, in
 * order, each awaited, before the first request or firing is handled.
 */
export function registerPlugins(plugins) {
  setBoot(async () => {
    const app = useNitroApp();
    for (const { file, load } of plugins) {
      try {
        const plugin = (await load()).default;
        await plugin(app);
      } catch (error) {
        throw new PluginError(file, error);
      }
    }
  });
}
