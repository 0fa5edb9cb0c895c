// Injected by esbuild (`--inject`): user files may call these without importing them.
// Both paths resolve to the same module files, so there is one task registry per bundle.
export { defineTask, runTask } from "./task.mjs";
export { defineHandler } from "./nitro.mjs";
