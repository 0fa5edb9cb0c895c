"""The JSON Schema of nitro.config.json / nitro.config.toml, generated from the pydantic models.

`nitro-build schema` prints it; the repository commits it as schema/nitro.config.schema.json
(tests/test_schema.py fails when the two differ), for VS Code's `json.schemas` / `$schema` and
taplo's `#:schema` directive (README: "Editor support").
"""

from __future__ import annotations

import json
from typing import Any

from .config_models import NitroConfig
from .nitro_keys import NITRO_UNUSED
from .presets import ALIASES, PRESETS

SCHEMA_URL = "https://raw.githubusercontent.com/nitro-build/nitro-build/main/schema/nitro.config.schema.json"

# Shown by editors on hover, per model and key (the README's config table says the same).
DESCRIPTIONS: dict[str, dict[str, str]] = {
    "NitroConfig": {
        "$schema": "The JSON Schema this file follows (for editors); ignored by the build.",
        "preset": "Default preset for `nitro build` (--preset and NITRO_PRESET win).",
        "experimental": "Opt-in features.",
        "tasks": "Tasks by name: handler module, description, overlap policy.",
        "scheduledTasks": "Cron expression -> a task name or an array of names, run in parallel.",
        "serverDir": "Where tasks/, api/ and routes/ live (default `.`, else `server/` when only "
        "it has them; true means `server`, false the root).",
        "compatibilityDate": "Nitro's compatibility date; gives Cloudflare's compatibility_date.",
        "runtimeConfig": "Values for useRuntimeConfig(), overridable by NITRO_* variables.",
        "storage": "useStorage() mounts: base -> { driver, ...options }.",
        "devStorage": "useStorage() mounts under `nitro dev`.",
        "plugins": "Plugin modules run at start-up.",
        "output": "Where the build writes its output.",
        "cloudflare": "cloudflare_module / cloudflare_pages settings.",
        "vercel": "vercel preset settings.",
        "scheduler": "Scheduler settings for the server presets.",
    },
    "Experimental": {"tasks": "Must be true for tasks and schedules to be compiled."},
    "TaskConfig": {
        "handler": "Module path, relative to the project; wins over a scanned file.",
        "description": "Shown in listings when the module has no meta.description.",
        "overlap": "A firing while the task still runs: skip it (default) or allow it.",
    },
    "OutputConfig": {"dir": "Output folder (default `.output`; `dist` for cloudflare_pages)."},
    "CloudflareConfig": {
        "wrangler": "Table merged over your wrangler config.",
        "pagesCronWorker": "Emit a companion cron Worker for cloudflare_pages.",
    },
    "VercelConfig": {
        "cronHandlerRoute": "Base path of the cron endpoints (default /_vercel/cron).",
        "allowUnauthenticatedCron": "Serve cron endpoints without CRON_SECRET (warned).",
        "config": "Nitro's config.json fragment; its `crons` are added as vercel.json's are.",
    },
    "VercelBuildConfig": {"crons": "Extra Vercel cron jobs: [{ path, schedule }]."},
    "LockConfig": {
        "driver": "The lock store; only redis.",
        "url": "redis:// or rediss:// URL; better NITRO_SCHEDULER_REDIS_URL at run time.",
        "prefix": "Prefix of the lock keys.",
        "onLockError": "Redis unreachable: skip the firing (default) or run it anyway.",
    },
    "SchedulerConfig": {"lock": "Run each firing once across replicas."},
}


def preset_names() -> list[str]:
    """Every spelling get_preset accepts: the names, Nitro's kebab-case ones and the aliases."""
    kebab = [p.replace("_", "-") for p in PRESETS if "_" in p]
    return [*PRESETS, *kebab, *ALIASES]


def config_schema() -> dict[str, Any]:
    """The config's JSON Schema (draft 2020-12), with descriptions and the preset names."""
    schema = NitroConfig.model_json_schema(by_alias=True)
    models = {"NitroConfig": schema, **schema.get("$defs", {})}
    for name, model in models.items():
        for key, prop in model.get("properties", {}).items():
            prop.pop("title", None)  # pydantic's "Pagescronworker" titles help nobody
            if key in DESCRIPTIONS.get(name, {}):
                prop["description"] = DESCRIPTIONS[name][key]
    _accept_nitro_keys(schema, models)
    schema["properties"]["preset"] = {
        "description": DESCRIPTIONS["NitroConfig"]["preset"],
        "enum": preset_names(),
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_URL,
        **{k: v for k, v in schema.items() if k != "title"},
        "title": "nitro-build config (nitro.config.json / nitro.config.toml)",
    }


# Where NITRO_UNUSED's key paths live in the generated schema.
_MODEL_OF_PATH = {
    "": "NitroConfig",
    "experimental": "Experimental",
    "output": "OutputConfig",
    "cloudflare": "CloudflareConfig",
    "vercel": "VercelConfig",
    "vercel.config": "VercelBuildConfig",
}


def _accept_nitro_keys(schema: dict[str, Any], models: dict[str, Any]) -> None:
    """Nitro's own keys validate too (any value): the build accepts and ignores them."""
    for where, names in NITRO_UNUSED.items():
        props = models[_MODEL_OF_PATH[where]]["properties"]
        for name in sorted(names):
            props[name] = {"description": "A Nitro option nitro-build accepts and does not use."}


def schema_text() -> str:
    """The schema as committed: two-space indent, keys in model order, trailing newline."""
    return json.dumps(config_schema(), indent=2, ensure_ascii=False) + "\n"
