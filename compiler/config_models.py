"""The config's schema: strict pydantic models, the one source of truth for what a nitro config may
hold, and the error messages for a config they refuse.

Keys are Nitro's own camelCase names (https://nitro.build/config). Every error names the file
and the key path, and a misspelt key gets a did-you-mean. Importing pydantic and building these
models is most of a small build's start-up, so config.py imports this module only when a config
is not in the validated-config cache (config_store.py).
"""

from __future__ import annotations

import datetime
import difflib
import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError

from .config_json import key_path
from .errors import ConfigError
from .nitro_keys import NITRO_UNUSED


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True, strict=True)


class Experimental(_Strict):
    tasks: bool = False


class TaskConfig(_Strict):
    handler: str | None = None
    description: str | None = None
    overlap: Literal["skip", "allow"] = "skip"


class OutputConfig(_Strict):
    dir: str | None = None


class CloudflareConfig(_Strict):
    wrangler: dict[str, Any] = Field(default_factory=dict)
    pages_cron_worker: bool = Field(False, alias="pagesCronWorker")


class VercelBuildConfig(_Strict):
    """Nitro's `vercel.config` (merged into config.json): its cron jobs, checked by the preset."""

    crons: list[Any] = Field(default_factory=list)


class VercelConfig(_Strict):
    cron_handler_route: str = Field("/_vercel/cron", alias="cronHandlerRoute")
    allow_unauthenticated_cron: bool = Field(False, alias="allowUnauthenticatedCron")
    config: VercelBuildConfig = Field(default_factory=VercelBuildConfig)


# DNS-1123 labels (https://kubernetes.io/docs/concepts/overview/working-with-objects/names/); a
# name of 36 characters leaves room for the CronJob suffix within CronJob's 52-character limit.
K8S_NAME = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"


class KubernetesResources(_Strict):
    """A container's `resources` (https://kubernetes.io/docs/concepts/configuration/manage-resources-containers/)."""

    requests: dict[Literal["cpu", "memory", "ephemeral-storage"], str] = Field(default_factory=dict)
    limits: dict[Literal["cpu", "memory", "ephemeral-storage"], str] = Field(default_factory=dict)


class KubernetesConfig(_Strict):
    """`kubernetes.*`: the kubernetes preset's manifests (README "kubernetes")."""

    image: str | None = Field(None, min_length=1)  # required by the kubernetes preset
    name: str = Field("nitro", max_length=36, pattern=K8S_NAME)
    namespace: str | None = Field(None, max_length=63, pattern=K8S_NAME)
    replicas: int = Field(1, ge=0)
    port: int = Field(3000, ge=1, le=65535)
    starting_deadline_seconds: int | None = Field(None, ge=0, alias="startingDeadlineSeconds")
    successful_jobs_history_limit: int = Field(3, ge=0, alias="successfulJobsHistoryLimit")
    failed_jobs_history_limit: int = Field(1, ge=0, alias="failedJobsHistoryLimit")
    backoff_limit: int = Field(6, ge=0, alias="backoffLimit")
    resources: KubernetesResources = Field(default_factory=KubernetesResources)
    job_resources: KubernetesResources | None = Field(None, alias="jobResources")


class LockConfig(_Strict):
    driver: Literal["redis"]
    url: str | None = None
    prefix: str = "nitro"
    on_lock_error: Literal["skip", "run"] = Field("skip", alias="onLockError")


class SchedulerConfig(_Strict):
    lock: LockConfig | None = None
    # IANA zone every schedule fires in unless its key starts with `CRON_TZ=Zone` (README "Time zones").
    timezone: str | None = None


# ---- Nitro runtime APIs (runtimeConfig, storage, devStorage, plugins): issue 12. nitrocompat's
# config loading owns the file formats; these are only the keys the runtime APIs read.


class StorageMount(BaseModel):
    """One `storage.<base>` mount: unstorage's driver name plus that driver's own options."""

    model_config = ConfigDict(extra="allow", frozen=True, strict=True)
    driver: str


class NitroConfig(_Strict):
    # Editors read `$schema` to find schema/nitro.config.schema.json (`nitro-build schema`).
    schema_url: str | None = Field(None, alias="$schema")
    preset: str | None = None
    experimental: Experimental = Field(default_factory=Experimental)
    tasks: dict[str, TaskConfig] = Field(default_factory=dict)
    scheduled_tasks: dict[str, str | list[str]] = Field(default_factory=dict, alias="scheduledTasks")
    # Nitro 3: false scans the project root, true means "server" (Nitro's resolvers/paths.ts).
    server_dir: str | bool = Field(".", alias="serverDir")
    # Nitro's compatibility date: "YYYY-MM-DD", "latest", or per platform {default, cloudflare}.
    compatibility_date: str | dict[str, str] | None = Field(None, alias="compatibilityDate")
    output: OutputConfig = Field(default_factory=OutputConfig)
    cloudflare: CloudflareConfig = Field(default_factory=CloudflareConfig)
    vercel: VercelConfig = Field(default_factory=VercelConfig)
    scheduler: SchedulerConfig = Field(default_factory=SchedulerConfig)
    kubernetes: KubernetesConfig = Field(default_factory=KubernetesConfig)
    # Nitro runtime APIs (issue 12)
    runtime_config: dict[str, Any] = Field(default_factory=dict, alias="runtimeConfig")
    storage: dict[str, StorageMount] = Field(default_factory=dict)
    dev_storage: dict[str, StorageMount] = Field(default_factory=dict, alias="devStorage")
    plugins: list[str] = Field(default_factory=list)
    # Nitro keys present in the file that nitro-build does not use (nitro_keys.py), for the warning.
    _unused: tuple[str, ...] = PrivateAttr(default=())

    @property
    def unused_keys(self) -> tuple[str, ...]:
        """Dotted paths of the Nitro keys in the file that nitro-build sets aside."""
        return self._unused

    @property
    def scan_dir(self) -> str:
        """serverDir as a path relative to the project."""
        if isinstance(self.server_dir, bool):
            return "server" if self.server_dir else "."
        return self.server_dir


def validate(kept: dict[str, Any], filename: str) -> NitroConfig:
    """`kept` (the file's data, Nitro keys nitro-build does not use set aside) as a NitroConfig, or
    a ConfigError with one line per problem."""
    try:
        return NitroConfig.model_validate(kept)
    except ValidationError as exc:
        raise ConfigError(_format_validation(filename, exc, kept)) from None


def _format_validation(filename: str, exc: ValidationError, raw: dict[str, Any]) -> str:
    """One line per pydantic error: file, key path, what is wrong and what to do."""
    errors = exc.errors()
    unions = [e for e in errors if _is_union_branch(e)]
    lines = [_format_one(filename, err, raw) for err in errors if err not in unions]
    for err in unions:
        loc = key_path(_clean_loc(err["loc"]))
        lines.append(
            f"{filename}: {loc}: must be a task name or an array of task names "
            f"(got {_describe(err.get('input'))})"
        )
    return "\n".join(dict.fromkeys(lines))


def _is_union_branch(err: Any) -> bool:
    """True for the per-branch errors of the `str | list[str]` schedule value union."""
    return (
        err["loc"][0] == "scheduledTasks"
        and len(err["loc"]) >= 3
        and err["loc"][2]
        in (
            "str",
            "list[str]",
        )
    )


def _format_one(filename: str, err: Any, raw: dict[str, Any]) -> str:
    loc = _clean_loc(err["loc"])
    where = f"{filename}: {key_path(loc)}"
    if err["type"] == "extra_forbidden":
        return where + ": unknown key" + _did_you_mean(loc, raw)
    if err["type"] == "missing":
        return where + ": required key is missing"
    if err["type"] in ("model_type", "dict_type"):
        got = _describe(err.get("input"))
        return f"{where}: must be a table of settings (got {got}){_table_hint(loc, err)}"
    if err["type"] == "literal_error":
        return f"{where}: {err['msg'].lower()}, got {_describe(err.get('input'))}"
    return f"{where}: {err['msg'].lower()} (got {_describe(err.get('input'))})"


def _table_hint(loc: tuple[Any, ...], err: Any) -> str:
    """`tasks.a = "tasks/a.ts"` is a likely shorthand: show the table it has to be."""
    if len(loc) == 2 and loc[0] == "tasks" and isinstance(err.get("input"), str):
        return f"; a task is a table of settings: set its handler key to {json.dumps(err['input'])}"
    return ""


def _clean_loc(loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """Drop pydantic's union branch labels (`str`, `list[str]`) from a location."""
    return tuple(p for p in loc if p not in ("str", "list[str]", "LockConfig"))


def _did_you_mean(loc: tuple[Any, ...], raw: dict[str, Any]) -> str:
    """Suggest the closest known key for a misspelt one."""
    model: Any = NitroConfig
    annotation: Any = None
    for part in loc[:-1]:
        if annotation is not None and getattr(annotation, "__origin__", None) is dict:
            annotation = annotation.__args__[1]  # a free-form key such as a task name
            model = _model_of(annotation)
            continue
        field = _field_by_alias(model, part)
        if field is None:
            return ""
        annotation = field.annotation
        model = _model_of(annotation)
        if model is None:
            return ""
    names = [f.alias or n for n, f in model.model_fields.items()]
    # Nitro's own keys count too: `routeRule` is a misspelt `routeRules`, accepted when spelt right.
    nitro = sorted(NITRO_UNUSED.get(".".join(map(str, loc[:-1])), ()))
    close = difflib.get_close_matches(str(loc[-1]), names + nitro, n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return hint + f" Known keys here: {', '.join(sorted(names))}"


def _field_by_alias(model: Any, key: Any) -> Any:
    for name, field in model.model_fields.items():
        if key in (name, field.alias):
            return field
    return None


def _model_of(annotation: Any) -> Any:
    """The pydantic model inside an annotation like `X`, `X | None` or `dict[str, X]`."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_of(arg)
        if found is not None:
            return found
    return None


def _describe(value: Any) -> str:
    """A short rendering of a config value for an error message (any type TOML or JSON gives)."""
    if isinstance(value, (dict, list)):
        return type(value).__name__.replace("dict", "a table").replace("list", "an array")
    if isinstance(value, (datetime.date, datetime.time)):  # TOML's unquoted dates and times
        return f"the TOML date/time {value.isoformat()}; put it in quotes to make it a string"
    if isinstance(value, int) and value.bit_length() > 64:
        return "a number too large for any setting"
    text = repr(value) if isinstance(value, str) else json.dumps(value)
    return text if len(text) <= 80 else text[:60] + f"... ({len(text)} characters)"
