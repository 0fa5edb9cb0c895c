// useRuntimeConfig(): the config's `runtimeConfig`, overridden by environment variables exactly as
// Nitro 2 does (nitropack src/runtime/internal/utils.env.ts and config.ts): for every key path,
// `NITRO_<UPPER_SNAKE_PATH>` or `<envPrefix><UPPER_SNAKE_PATH>` (envPrefix: runtimeConfig.nitro.envPrefix,
// else NITRO_ENV_PREFIX, else "_"); values are parsed with destr (JSON-looking text becomes data);
// an object value is merged over a nested table. Computed once, on first use, then frozen.
import destr from "destr";
import { runtimeConfig as inlineConfig } from "#nitro-virtual/runtime-config.mjs";
import { readEnv } from "./env.mjs";

let cached;

/** The runtime config, with environment overrides applied (the optional event is accepted, as in Nitro 2). */
export function useRuntimeConfig(_event) {
  cached ??= deepFreeze(applyEnv(structuredClone(inlineConfig), envOptions(inlineConfig)));
  return cached;
}

function envOptions(config) {
  return {
    prefix: "NITRO_",
    altPrefix: config.nitro?.envPrefix ?? configEnv("NITRO_ENV_PREFIX") ?? "_",
    envExpansion: Boolean(config.nitro?.envExpansion ?? configEnv("NITRO_ENV_EXPANSION") ?? false),
  };
}

/** Nitro's applyEnv: walks `obj`, replacing each key whose variable is set. */
export function applyEnv(obj, opts, parentKey = "") {
  for (const key in obj) {
    const subKey = parentKey ? `${parentKey}_${key}` : key;
    const envValue = getEnv(subKey, opts);
    if (isObject(obj[key])) {
      if (isObject(envValue)) {
        obj[key] = { ...obj[key], ...envValue };
        applyEnv(obj[key], opts, subKey);
      } else if (envValue === undefined) {
        applyEnv(obj[key], opts, subKey);
      } else {
        obj[key] = envValue ?? obj[key];
      }
    } else {
      obj[key] = envValue ?? obj[key];
    }
    if (opts.envExpansion && typeof obj[key] === "string") obj[key] = expandFromEnv(obj[key]);
  }
  return obj;
}

function getEnv(key, opts) {
  const envKey = snakeCase(key).toUpperCase();
  return destr(configEnv(opts.prefix + envKey) ?? configEnv(opts.altPrefix + envKey));
}

// `{{NAME}}` is replaced by that variable when nitro.envExpansion is on (Nitro's experimental option).
const expandFromEnv = (value) => value.replace(/\{\{([^{}]*)\}\}/g, (match, key) => configEnv(key) || match);

const isObject = (value) => value !== null && typeof value === "object" && !Array.isArray(value);

/**
 * scule's snakeCase, which Nitro uses for the variable names: words split at `-_/.` and at case
 * changes (`apiBase` -> api_base, `HTTPServer` -> http_server); digits belong to no case.
 */
export function snakeCase(text) {
  const parts = [];
  let buff = "";
  let previousUpper;
  let previousSplitter;
  for (const char of text) {
    if ("-_/.".includes(char)) {
      parts.push(buff);
      buff = "";
      previousUpper = undefined;
      continue;
    }
    const isUpper = /\d/.test(char) ? undefined : char !== char.toLowerCase();
    if (previousSplitter === false && previousUpper === false && isUpper === true) {
      parts.push(buff);
      buff = char;
      previousUpper = isUpper;
      continue;
    }
    if (previousSplitter === false && previousUpper === true && isUpper === false && buff.length > 1) {
      parts.push(buff.slice(0, -1));
      buff = buff.at(-1) + char;
      previousUpper = isUpper;
      continue;
    }
    buff += char;
    previousUpper = isUpper;
    previousSplitter = false;
  }
  parts.push(buff);
  return parts.map((part) => part.toLowerCase()).join("_");
}

/**
 * One variable: the Worker's `env` bindings on Cloudflare (the adapter sets `globalThis.__env__` at
 * each request or firing, as Nitro's Cloudflare handlers do), else the process environment.
 */
function configEnv(key) {
  return readEnv(key, globalThis.__env__);
}

function deepFreeze(value) {
  for (const child of Object.values(value)) if (child && typeof child === "object") deepFreeze(child);
  return Object.freeze(value);
}
