"""Nitro's own config keys that nitro-build accepts without using them.

A Nitro project's config is taken as it is: a key Nitro has but nitro-build does not implement
is set aside and listed in one warning (`--strict`: an error), so the same file serves both
tools; a key Nitro does not have either is still an error with a did-you-mean (config.py).

The names come from Nitro's sources: Nitro 3 `src/types/config.ts` (NitroOptions, NitroConfig),
`src/presets/{vercel,cloudflare}/types.ts`, and Nitro 2 (nitropack 2.9 `src/types/nitro.ts`,
2.13 `src/types/config.ts`); plus c12's environment overrides (`$production`, ...).
"""

from __future__ import annotations

import re
from typing import Any

from .errors import ConfigError

# Key path (dotted, "" for the top level) -> Nitro keys there that nitro-build does not use.
NITRO_UNUSED: dict[str, frozenset[str]] = {
    "": frozenset(
        """
        debug static logLevel workspaceDir rootDir scanDirs apiDir routesDir buildDir
        buildAssetsDir database devDatabase renderer ssrRoutes serveStatic noPublicDir
        tracingChannel features wasm openAPI future serverAssets publicAssets imports modules
        virtual compressPublicAssets ignore dev devServer watchOptions devProxy logging baseURL
        apiBaseURL serverEntry handlers devHandlers routeRules routes errorHandler
        devErrorHandler prerender builder rollupConfig rolldownConfig entry unenv alias minify
        inlineDynamicImports sourcemap node oxc replace commonJS exportConditions noExternals
        traceDeps traceOpts typescript hooks commands framework iis defaultPreset extends
        appConfig appConfigFiles bundledStorage timing sourceMap moduleSideEffects esbuild
        externals analyze nodeModulesDirs awsAmplify awsLambda azure firebase netlify zephyr
        srcDir $development $production $test $env $meta
        """.split()
    ),
    "experimental": frozenset(
        """
        openAPI typescriptBundlerResolution asyncContext sourcemapMinify envExpansion websocket
        database tracingLogger legacyExternals wasm bundleRuntimeDependencies nodeFetchCompat
        """.split()
    ),
    "output": frozenset({"serverDir", "publicDir"}),
    "cloudflare": frozenset({"wranglerEnv", "deployConfig", "nodeCompat", "dev", "pages", "exports"}),
    "vercel": frozenset(
        """
        skewProtection immutableStaticFiles regions functions entryFormat queues functionRules
        """.split()
    ),
    # Nitro merges `vercel.config` into .vercel/output/config.json; nitro-build takes its crons.
    "vercel.config": frozenset(
        "version routes images wildcard overrides cache bypassToken framework".split()
    ),
}


def set_aside_unused(raw: dict[str, Any]) -> tuple[dict[str, Any], tuple[str, ...]]:
    """`raw` without the Nitro keys nitro-build does not use, and their dotted paths."""
    unused: list[str] = []
    out = dict(raw)
    for where, names in NITRO_UNUSED.items():
        parent, key = None, ""
        table: Any = out
        for key in where.split(".") if where else ():
            parent, table = table, table.get(key) if isinstance(table, dict) else None
        if not isinstance(table, dict):
            continue
        kept = {k: v for k, v in table.items() if k not in names}
        unused += [f"{where}.{k}" if where else k for k in table if k in names]
        if parent is None:
            out = kept
        else:
            parent[key] = kept
    return out, tuple(unused)


def cloudflare_compatibility_date(value: str | dict[str, str] | None, cfg_name: str) -> str | None:
    """The date Nitro's `compatibilityDate` gives Cloudflare (`.cloudflare`, else `.default`, else
    the string), or None for "latest" or unset: Nitro would take the build day, which makes a
    build depend on when it ran, so the preset's pinned default is used instead."""
    date = value.get("cloudflare") or value.get("default") if isinstance(value, dict) else value
    if date is None or date == "latest":
        return None
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", date):
        raise ConfigError(
            f"{cfg_name}: compatibilityDate: {date!r} is not a date; write it as YYYY-MM-DD "
            '(e.g. "2025-09-01") or "latest"'
        )
    return date
