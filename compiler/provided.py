"""What the bundle provides to user code: one table of module specifiers and auto-imports.

Everything else reads this table: the esbuild aliases (`bundle.py`), the injected module that
gives auto-imported names to files that use them without importing, and the build errors that
name what is available when a file asks for something we do not provide (`imports_check.py`).
To provide a new API, add its runtime file under `templates/runtime/`, its specifiers to
`MODULES` and its auto-imported names to `AUTO_IMPORTS`; tests/test_provided.py checks the
table against the files' real exports.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .lazy_tasks import awaiting_message


@dataclass(frozen=True)
class Module:
    """A runtime file (under templates/runtime) and the public names it exports."""

    file: str
    exports: tuple[str, ...]


_NITRO = Module("nitro.mjs", ("HTTPError", "defineHandler", "defineTask", "runTask", "definePlugin"))
_TASK = Module("task.mjs", ("defineTask", "runTask"))
# h3 2.x's own exports (h3.mjs re-exports the installed package), v1 names included, plus the v1
# names h3 2 dropped, adapted in h3.mjs (send, sendError, toWebRequest, define*Middleware).
H3_NAMES = (
    "EventStream",
    "H3",
    "H3Core",
    "H3Error",
    "H3Event",
    "HTTPResponse",
    "appendAcceptQuery",
    "appendCorsHeaders",
    "appendCorsPreflightHeaders",
    "appendHeader",
    "appendHeaders",
    "appendResponseHeader",
    "appendResponseHeaders",
    "assertBodySize",
    "assertMethod",
    "basicAuth",
    "bodyLimit",
    "callMiddleware",
    "clearResponseHeaders",
    "clearSession",
    "composeMiddleware",
    "createApp",
    "createError",
    "createEventStream",
    "createRouter",
    "defaultContentType",
    "defineEventHandler",
    "defineJsonRpcHandler",
    "defineJsonRpcWebSocketHandler",
    "defineLazyEventHandler",
    "defineMiddleware",
    "defineNodeHandler",
    "defineNodeListener",
    "defineNodeMiddleware",
    "definePlugin",
    "defineRoute",
    "defineValidatedHandler",
    "defineWebSocket",
    "defineWebSocketHandler",
    "deleteChunkedCookie",
    "deleteCookie",
    "dynamicEventHandler",
    "eventHandler",
    "fetchWithEvent",
    "fromNodeHandler",
    "fromNodeMiddleware",
    "fromWebHandler",
    "getBodyStream",
    "getChunkedCookie",
    "getCookie",
    "getEventContext",
    "getHeader",
    "getHeaders",
    "getMethod",
    "getProxyRequestHeaders",
    "getQuery",
    "getRequestFingerprint",
    "getRequestHeader",
    "getRequestHeaders",
    "getRequestHost",
    "getRequestIP",
    "getRequestPath",
    "getRequestProtocol",
    "getRequestURL",
    "getRequestWebStream",
    "getResponseHeader",
    "getResponseHeaders",
    "getResponseStatus",
    "getResponseStatusText",
    "getRouterParam",
    "getRouterParams",
    "getSession",
    "getValidatedCookies",
    "getValidatedQuery",
    "getValidatedRouterParams",
    "handleCacheHeaders",
    "handleCors",
    "html",
    "isCanonicalPath",
    "isCorsOriginAllowed",
    "isError",
    "isEvent",
    "isHTTPEvent",
    "isMethod",
    "isPreflightRequest",
    "iterable",
    "lazyEventHandler",
    "mockEvent",
    "noContent",
    "normalizeRoute",
    "onDispose",
    "onError",
    "onRequest",
    "onResponse",
    "parseCookies",
    "proxy",
    "proxyRequest",
    "raw",
    "readBody",
    "readFormData",
    "readFormDataBody",
    "readMultipartFormData",
    "readRawBody",
    "readValidatedBody",
    "redirect",
    "redirectBack",
    "removeResponseHeader",
    "removeRoute",
    "requestWithBaseURL",
    "requestWithURL",
    "requireBasicAuth",
    "requireContentType",
    "resolveDotSegments",
    "sanitizeStatusCode",
    "sanitizeStatusMessage",
    "sealSession",
    "sendIterable",
    "sendNoContent",
    "sendProxy",
    "sendRedirect",
    "sendStream",
    "sendWebResponse",
    "serve",
    "serveStatic",
    "setChunkedCookie",
    "setCookie",
    "setHeader",
    "setHeaders",
    "setResponseHeader",
    "setResponseHeaders",
    "setResponseStatus",
    "setServerTiming",
    "toEventHandler",
    "toMiddleware",
    "toNodeHandler",
    "toNodeListener",
    "toRequest",
    "toResponse",
    "toWebHandler",
    "unsealSession",
    "updateSession",
    "useBase",
    "useSession",
    "withBase",
    "withCacheIsolation",
    "withServerTiming",
    "writeEarlyHints",
    "send",
    "sendError",
    "toWebRequest",
    "defineRequestMiddleware",
    "defineResponseMiddleware",
)
_H3 = Module("h3.mjs", ("HTTPError", "defineHandler", *H3_NAMES))
# Nitro's runtime APIs (issue 12), each its own module so that only the used ones are bundled.
_RUNTIME_CONFIG = Module("runtime-config.mjs", ("useRuntimeConfig",))
_STORAGE = Module("storage.mjs", ("useStorage",))
_APP = Module("nitro-app.mjs", ("defineNitroPlugin", "nitroPlugin", "useNitroApp"))
_FETCH = Module("fetch.mjs", ("$fetch",))
# Nitro 2's `#imports` / `nitropack/runtime`: all of them in one module (bundles every library used).
_IMPORTS = Module(
    "imports.mjs",
    tuple(
        dict.fromkeys(
            (
                *_H3.exports,
                *_NITRO.exports,
                *_RUNTIME_CONFIG.exports,
                *_STORAGE.exports,
                *_APP.exports,
                *_FETCH.exports,
            )
        )
    ),
)
# Type-only modules: TypeScript `import type` is erased, and a value import from them is an error.
_TYPES = Module("types.mjs", ())

# Import specifier -> what it resolves to. Nitro 3 names (https://nitro.build/guide), Nitro 2's
# `nitropack/runtime` and `#imports`, and h3 itself (Nitro re-exports h3 as `nitro/h3`).
MODULES: dict[str, Module] = {
    "nitro": _NITRO,
    "nitro/task": _TASK,
    "nitro/h3": _H3,
    "h3": _H3,
    "nitro/types": _TYPES,
    "nitropack/types": _TYPES,
    "nitropack/runtime": _IMPORTS,
    "#imports": _IMPORTS,
    # Nitro 2 runtime code often imports its utilities from here (nitropack src/runtime).
    "#internal/nitro": _IMPORTS,
    "nitro/runtime-config": _RUNTIME_CONFIG,
    "nitro/storage": _STORAGE,
    "nitro/app": _APP,
    # Internal: where the auto-imported $fetch comes from (no Nitro specifier exports it alone).
    "#nitro-fetch": _FETCH,
}

# Specifier families that are ours: an import below one of these that MODULES lacks is a build
# error listing MODULES, never an attempt to resolve it from node_modules.
FAMILIES = ("nitro", "nitropack", "#imports", "#internal/nitro", "h3")

# Name used without an import -> the specifier it comes from (Nitro's auto-imports).
AUTO_IMPORTS: dict[str, str] = {
    "defineTask": "nitro/task",
    "runTask": "nitro/task",
    "defineHandler": "nitro",
    "HTTPError": "nitro",
    "useRuntimeConfig": "nitro/runtime-config",
    "useStorage": "nitro/storage",
    "useNitroApp": "nitro/app",
    "defineNitroPlugin": "nitro/app",
    "nitroPlugin": "nitro/app",
    "$fetch": "#nitro-fetch",
    **{name: "nitro/h3" for name in H3_NAMES},
}

# Names Nitro 2/3 auto-import (its runtime utilities, https://nitro.build/guide/utils, and h3's)
# that a file may use without importing. Those not in AUTO_IMPORTS are a build error where used,
# instead of a run-time "X is not defined".
NITRO_AUTO_IMPORTS = (
    "useStorage",
    "useRuntimeConfig",
    "useAppConfig",
    "useNitroApp",
    "useEvent",
    "useDatabase",
    "defineNitroPlugin",
    "nitroPlugin",
    "defineCachedFunction",
    "cachedFunction",
    "defineCachedEventHandler",
    "cachedEventHandler",
    "defineCachedHandler",
    "defineRenderHandler",
    "defineNitroErrorHandler",
    "defineRouteMeta",
    "getRouteRules",
    "runCronTasks",
    "defineEventHandler",
    "eventHandler",
    "defineHandler",
    "defineTask",
    "runTask",
    "createError",
    "getQuery",
    "getRouterParam",
    "getRouterParams",
    "readBody",
    "readRawBody",
    "readValidatedBody",
    "getValidatedQuery",
    "getHeader",
    "getHeaders",
    "getRequestHeader",
    "getRequestHeaders",
    "setHeader",
    "setHeaders",
    "setResponseHeader",
    "setResponseHeaders",
    "setResponseStatus",
    "getResponseStatus",
    "getMethod",
    "getCookie",
    "setCookie",
    "deleteCookie",
    "parseCookies",
    "sendRedirect",
    "sendError",
    "send",
    "sendStream",
    "getRequestURL",
    "getRequestHost",
    "getRequestIP",
    "isMethod",
    "assertMethod",
    "handleCors",
    "useSession",
    "getSession",
    "updateSession",
    "clearSession",
    "proxyRequest",
    "sendProxy",
    "fetchWithEvent",
    "appendHeader",
    "appendResponseHeader",
    "defineLazyEventHandler",
    "lazyEventHandler",
    "fromNodeMiddleware",
    "toWebRequest",
    "getRequestWebStream",
    "defineMiddleware",
    "defineRequestMiddleware",
    "defineResponseMiddleware",
    "HTTPError",
)


def alias_args(runtime: Path) -> list[str]:
    """esbuild `--alias` flags mapping each provided specifier onto its file in `runtime`."""
    return [f"--alias:{spec}={runtime / mod.file}" for spec, mod in MODULES.items()]


def auto_import_source(
    runtime: Path,
    used: frozenset[str] | None = None,
    project: tuple[tuple[str, str], ...] = (),
    awaiting: tuple[tuple[str, str, str], ...] = (),
) -> str:
    """The module injected into every file (`--inject`): esbuild adds an import of a name only to
    files that use it unbound. Names Nitro auto-imports that we lack come from `MISSING_PREFIX`
    stubs, so that a use is found in the bundle and reported at build time (imports_check.py).
    `used`: the words the project's files contain; other names are left out (see bundle.py).
    `project`: the project's own auto-imports (utils/ exports: name, module), which win.
    `awaiting`: utils/ exports not auto-imported (name, module, the module that awaits): a use without an import throws
    an error naming the module and what to do (nitro dev's hot-reloaded tasks read the module
    whole, so a stub's presence in the bundle does not mean a use)."""
    keep = (lambda name: True) if used is None else used.__contains__
    stubs = {name: (file, via) for name, file, via in awaiting}
    own = {name: file for name, file in project if name not in stubs}
    lines = [
        f"export {{ {name} }} from {json.dumps(file)};" for name, file in sorted(own.items()) if keep(name)
    ]
    lines += [
        f"export {{ {name} }} from {str(runtime / LEAVES.get(name, MODULES[spec].file))!r};"
        for name, spec in sorted(AUTO_IMPORTS.items())
        if keep(name) and name not in own and name not in stubs
    ]
    lines += [
        f"export function {name}() {{ throw new Error({awaiting_message(file, repr(name), via)!r}); }}"
        for name, (file, via) in sorted(stubs.items())
        if keep(name)
    ]
    lines += [
        f"export function {name}() {{ throw new Error({MISSING_PREFIX + name!r}); }}"
        for name in sorted(set(NITRO_AUTO_IMPORTS) - set(AUTO_IMPORTS) - set(own) - set(stubs))
        if keep(name)
    ]
    return "\n".join(lines) + "\n"


MISSING_PREFIX = "nitro-build: not provided: "


# Auto-imported names whose module (re-exported by MODULES' file) imports nothing: a file using
# only them pulls no more of the runtime into the chunk that loads it.
LEAVES = {"defineTask": "define_task.mjs"}


def available_modules() -> str:
    """The provided specifiers, for error messages."""
    return ", ".join(spec for spec, mod in MODULES.items() if mod.exports and not spec.startswith("#nitro-"))


def available_auto_imports() -> str:
    """The names usable without an import, for error messages (h3's summed up)."""
    own = sorted(name for name, spec in AUTO_IMPORTS.items() if spec != "nitro/h3")
    return ", ".join(own) + " and h3's exports (getQuery, readBody, defineEventHandler, ...)"


# Nitro server folders the bundle does not build yet: present in a project, they are named in a
# warning (layout.py) rather than silently ignored. Remove a name when its support lands.
UNSUPPORTED_DIRS = ("middleware",)
