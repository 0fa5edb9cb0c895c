// What Nitro 2 code imports as "#imports" or "nitropack/runtime", and Nitro 3 code as "nitro/runtime":
// every runtime API in one module (each is bundled only when used).
export * from "./h3.mjs";
export { HTTPError, defineTask, runTask } from "./task.mjs";
export { defineHandler } from "./nitro.mjs";
export { useRuntimeConfig } from "./runtime-config.mjs";
export { useStorage } from "./storage.mjs";
export { defineNitroPlugin, nitroPlugin, useNitroApp } from "./nitro-app.mjs";
export { $fetch } from "./fetch.mjs";
