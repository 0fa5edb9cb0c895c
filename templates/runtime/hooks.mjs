// The seam between the always-bundled runtime and the Nitro app (nitro-app.mjs, hookable):
// adapters and the task runner call `callHook` and `ready`, which cost nothing while no plugin
// or useNitroApp() set an app. No imports, so projects without plugins bundle no hookable.

// Each undefined until set (no Nitro app, no local app, no plugins, not booted).
let nitroApp, localApp, booting, boot;

/** Called by nitro-app.mjs when the Nitro app is created. */
export function setNitroApp(app) {
  nitroApp = app;
}

/**
 * hooks.callHook(name, ...args) of the Nitro app (undefined when there is none). Never rejects: a
 * failing hook is logged, so a logging plugin cannot fail the request or task it observes.
 */
export function callHook(name, ...args) {
  return nitroApp?.hooks.callHook(name, ...args)?.catch((error) => console.error(`[nitro] "${name}" hook failed:`, error));
}

/** The registry's plugin runner (null without plugins); `ready()` runs it once. */
export function setBoot(runPlugins) {
  boot = runPlugins;
}

/**
 * Resolves when every plugin has run (once per process; Cloudflare and Vercel start them on the
 * first request or firing); rejects with the failing plugin's error, on every later call too.
 */
export function ready() {
  if (boot) return (booting ??= boot());
}

/** The app that serves our own routes, for `$fetch("/api/...")` calls that stay in the process. */
export function setLocalApp(app) {
  localApp = app;
}

export function getLocalApp() {
  return localApp;
}
