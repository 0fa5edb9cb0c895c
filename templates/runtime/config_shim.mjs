// What nitro.config.ts gets from "nitro", "nitro/config", "nitropack" and "nitropack/config"
// while nitro-build evaluates it (compiler/config_script.py), and without importing them.
/** Returns the config unchanged: it exists for typing, as Nitro's own. */
export function defineConfig(config) {
  return config;
}
export const defineNitroConfig = defineConfig;
