"""Property test: whatever the config and the project tree, a build exits 0 or 1 with a message,
never a traceback, changes nothing outside its declared outputs, and after a failure leaves the
previous output byte-identical.

Hypothesis generates configs (TOML and JSON: known and random keys, values of every type incl.
dates, huge numbers and NUL bytes, deep nesting, crons from a grammar of valid and invalid
fields) and project trees (odd and non-UTF-8 file names, odd bytes, symlinks to `..`, to
outputs, dangling). Each example builds in-process through the real CLI (click's CliRunner);
esbuild runs only for the projects that get that far.

CI runs a fixed set of examples; `NITRO_FUZZ_EXAMPLES=5000` runs that many random ones, and
`NITRO_FUZZ_LOG=path` records every violation there instead of stopping at the first one.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import traceback
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import BIN, TASK, TASKS_ON, write_project
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nitro_build.cli import build_main

EXAMPLES = int(os.environ.get("NITRO_FUZZ_EXAMPLES", "60"))
LOG = os.environ.get("NITRO_FUZZ_LOG")
# Where a build may write: its work folder, and (when it succeeds) the outputs it reports.
WORK = ".nitro"
ESBUILD = {"NITRO_ESBUILD": str(BIN / "esbuild")}

# --- configs ---------------------------------------------------------------------------------

KNOWN_KEYS = [
    "plugins",
    "srcDir",
    "compatibilityDate",
    "devStorage",
    "routeRules",
    "preset",
    "experimental",
    "tasks",
    "scheduledTasks",
    "serverDir",
    "output",
    "dir",
    "cloudflare",
    "wrangler",
    "pagesCronWorker",
    "vercel",
    "cronHandlerRoute",
    "allowUnauthenticatedCron",
    "scheduler",
    "lock",
    "driver",
    "url",
    "prefix",
    "onLockError",
    "handler",
    "description",
    "overlap",
    "runtimeConfig",
    "storage",
    "compatibility_date",
    "name",
    "a",
    "db:migrate",
]
ODD_TEXT = [
    "",
    " ",
    ".",
    "..",
    "/",
    "\\",
    "\x00",
    "a\x00b",
    "\u00b2",
    "\u0660",
    "\ud7ff",
    "\U0001f600",
    "node_server",
    "cloudflare_module",
    "vercel",
    "dev",
    "bun",
    ".output",
    ".nitro",
    ".nitro/build.lock",
    "tasks",
    "package.json",
    "../x",
    "x" * 300,
    "\u00e9" * 200,
    "\n",
    "[id]",
    "0 0 31 2 *",
    "skip",
    "allow",
    "redis",
    "redis://u:p@h:1",
    "tasks/a.ts",
]
FIELD_ATOMS = [
    "*",
    "?",
    "0",
    "1",
    "5",
    "7",
    "12",
    "23",
    "31",
    "59",
    "60",
    "61",
    "99",
    "L",
    "LW",
    "15W",
    "W",
    "5L",
    "5#2",
    "5#6",
    "1#L",
    "MON",
    "mon",
    "SUN",
    "JAN",
    "DEC",
    "XYZ",
    "\u00b2",
    "\u0661",
    "-1",
    "9" * 30,
    "9" * 4400,
    "",
    "+1",
]


@st.composite
def cron_field(draw: Any) -> str:
    """One cron field: atoms, ranges, steps and lists, valid or not."""
    atom = st.sampled_from(FIELD_ATOMS)
    item = st.one_of(
        atom,
        st.builds(lambda a, b: f"{a}-{b}", atom, atom),
        st.builds(lambda a, s: f"{a}/{s}", atom, atom),
        st.builds(lambda a, b, s: f"{a}-{b}/{s}", atom, atom, atom),
    )
    return ",".join(draw(st.lists(item, min_size=1, max_size=3)))


@st.composite
def cron(draw: Any) -> str:
    nickname = st.sampled_from(["@daily", "@hourly", "@weekly", "@every 5m", "@reboot", "@nope"])
    fields = st.lists(cron_field(), min_size=4, max_size=7).map(" ".join)
    prefix = st.sampled_from(["", "", "", "CRON_TZ=UTC ", " "])
    return draw(prefix) + draw(st.one_of(fields, fields, nickname, st.text(max_size=12)))


SCALARS = st.one_of(
    st.booleans(),
    st.integers(),
    st.integers(min_value=10**40, max_value=10**60),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(ODD_TEXT),
    st.text(max_size=20),
    st.dates(),
    st.datetimes(),
    st.times(),
)


def values(depth: int = 3) -> Any:
    return st.recursive(
        SCALARS,
        lambda inner: st.one_of(
            st.lists(inner, max_size=3),
            st.dictionaries(st.one_of(st.sampled_from(KNOWN_KEYS), st.text(max_size=8)), inner, max_size=3),
        ),
        max_leaves=8,
    )


PATHS = [
    ".output",
    "out",
    "dist",
    "build/out",
    "package.json",
    "README.md",
    "src",
    "tasks",
    "utils",
    ".nitro",
    ".nitro/build.lock",
    ".nitro/build/node_server",
    ".nitro/dev",
    ".",
    "..",
    "../outside",
    "../outside/keep.txt",
    "/tmp",
    "a\x00b",
    "x" * 300,
    "tasks/a.ts",
    "node_modules/x",
    ".output/server",
    "nitro.config.toml",
    ".wrangler",
    ".vercel/output",
    "README.md/out",
    "routes",
    "api/x",
]


@st.composite
def config(draw: Any) -> dict[str, Any]:
    """A config that is often almost right: real sections with risky paths, plus random parts."""
    data: dict[str, Any] = {}
    if draw(st.integers(0, 3)):
        data["experimental"] = {"tasks": True}
    elif draw(st.booleans()):
        data["experimental"] = {"tasks": draw(SCALARS)}
    if draw(st.booleans()):
        names = st.one_of(
            st.just("a"), st.sampled_from(["ghost", "a:b"]), st.lists(st.sampled_from(["a", "b"])), SCALARS
        )
        data["scheduledTasks"] = draw(st.dictionaries(cron(), names, max_size=4))
    if draw(st.integers(0, 2)) == 0:
        data["output"] = {"dir": draw(st.sampled_from(PATHS))}
    if draw(st.integers(0, 4)) == 0:
        data["serverDir"] = draw(st.sampled_from(PATHS))
    if draw(st.integers(0, 4)) == 0:
        data["tasks"] = {
            draw(st.sampled_from(["a", "b", "db:migrate", "", "__proto__"])): {
                "handler": draw(st.sampled_from(PATHS)),
                "description": draw(st.text(max_size=10)),
            }
        }
    if draw(st.integers(0, 2)) == 0:
        for key in draw(st.lists(st.sampled_from(KNOWN_KEYS), min_size=1, max_size=3)):
            data[key] = draw(values())
    if draw(st.integers(0, 9)) == 0:  # deep nesting, beyond any parser's recursion limit
        # Expanded by render_config: hypothesis cannot print a 700-deep example itself.
        data[draw(st.sampled_from(["cloudflare", "x"]))] = {"wrangler": Deep(draw(st.integers(40, 700)))}
    return data


class Deep(int):
    """Stands for `int(self)` nested arrays."""

    def expand(self) -> Any:
        deep: Any = []
        for _ in range(self):
            deep = [deep]
        return deep


def toml_value(value: Any) -> str:
    """TOML for any generated value (inline tables and arrays; dates and floats as TOML spells them)."""
    if isinstance(value, Deep):
        return "[" * value + "]" * value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if value != value:
            return "nan"
        return ("inf" if value > 0 else "-inf") if abs(value) == float("inf") else repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        pairs = (f"{json.dumps(str(k), ensure_ascii=False)} = {toml_value(v)}" for k, v in value.items())
        return "{" + ", ".join(pairs) + "}"
    return value.isoformat()  # date, datetime, time


def render_config(data: dict[str, Any], fmt: str) -> bytes:
    if fmt == "toml":
        lines = [f"{json.dumps(k, ensure_ascii=False)} = {toml_value(v)}" for k, v in data.items()]
        return ("\n".join(lines) + "\n").encode("utf-8", "surrogatepass")
    return json.dumps(_expand(data), default=str, ensure_ascii=False).encode("utf-8", "surrogatepass")


def _expand(value: Any) -> Any:
    if isinstance(value, Deep):
        return value.expand()
    if isinstance(value, dict):
        return {k: _expand(v) for k, v in value.items()}
    return value


# --- project trees ---------------------------------------------------------------------------

NAMES = [
    b"a.ts",
    b"b.mjs",
    b"index.ts",
    b"[id].get.ts",
    b"[...].ts",
    b"[...path].ts",
    b"x[y].ts",
    b"caf\xe9.ts",
    b"\xff.ts",
    b"sp ace.ts",
    b"a=b.ts",
    b"%41.ts",
    b"#x.ts",
    b"__proto__.ts",
    b".hidden.ts",
    b"d.d.ts",
    b"\xe2\x80\x8b.ts",
    b"n" * 250 + b".ts",
    b"-dash.ts",
]
CONTENTS = [
    TASK.encode(),
    b"",
    b"export default 1;\n",
    b"export default defineTask({ run() { return \xff } });\n",
    b"\xef\xbb\xbf" + TASK.encode(),
    b"import './missing';\n" + TASK.encode(),
    b"export default defineHandler(() => 'ok');\n",
    bytes(range(256)),
]
LINKS = [b"..", b".", b"../.output", b"../node_modules", b"../../outside", b"/nonexistent", b"a.ts"]


@st.composite
def tree(draw: Any) -> list[tuple[str, bytes, bytes, bool]]:
    """(folder, name, content or link target, is_link) entries under tasks/, api/, routes/, utils/."""
    folder = st.sampled_from(["tasks", "tasks/db", "api", "routes", "utils", "tasks/\xff"])
    file = st.tuples(folder, st.sampled_from(NAMES), st.sampled_from(CONTENTS), st.just(False))
    link_name = st.sampled_from([b"up", b"loop", b"out", b"deps", b"ext", b"gone.ts", b"twin.ts"])
    link = st.tuples(folder, link_name, st.sampled_from(LINKS), st.just(True))
    return draw(st.lists(st.one_of(file, file, link), max_size=6))


def write_tree(project: Path, entries: list[tuple[str, bytes, bytes, bool]]) -> None:
    base = os.fsencode(project)
    for folder, name, data, is_link in entries:
        parent = os.path.join(base, os.fsencode(folder))
        os.makedirs(parent, exist_ok=True)
        path = os.path.join(parent, name)
        if os.path.lexists(path):
            continue
        if is_link:
            os.symlink(data, path)
        else:
            with open(path, "wb") as handle:
                handle.write(data)


def digest(top: Path, skip: tuple[str, ...] = ()) -> dict[str, str]:
    """Every file, folder and symlink under `top` (names as bytes, links by target, no following)."""
    out: dict[str, str] = {}
    base = os.fsencode(top)
    for dirpath, dirnames, filenames in os.walk(base):
        rel_dir = os.path.relpath(dirpath, base)
        for name in dirnames + filenames:
            rel = os.path.normpath(os.path.join(rel_dir, name)).decode("utf-8", "backslashreplace")
            if any(rel == s or rel.startswith(s + "/") for s in skip):
                continue
            path = os.path.join(dirpath, name)
            if os.path.islink(path):
                out[rel] = "link:" + os.readlink(path).decode("utf-8", "backslashreplace")
            elif os.path.isfile(path):
                with open(path, "rb") as handle:
                    out[rel] = hashlib.sha256(handle.read()).hexdigest()
            else:
                out[rel] = "dir"
    return out


# --- the property ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def previous_output(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One real build's .output, copied into each example as the output a bad build must keep."""
    files = {"nitro.config.toml": TASKS_ON, "tasks/a.ts": TASK}
    project = write_project(tmp_path_factory.mktemp("fuzz-base") / "p", files)
    result = CliRunner().invoke(build_main, ["--dir", str(project)], env=ESBUILD)
    assert result.exit_code == 0, result.output
    return project / ".output"


def check_build(
    previous: Path, data: dict[str, Any], fmt: str, entries: list, preset: str | None
) -> str | None:
    """Build one generated project; return what went wrong, or None."""
    sandbox = Path(tempfile.mkdtemp(prefix="nitro-fuzz-"))
    try:
        project = sandbox / "p"
        (sandbox / "outside").mkdir()
        (sandbox / "outside" / "keep.txt").write_text("outside the project\n")
        write_project(project, {"tasks/a.ts": TASK, "README.md": "# app\n", "package.json": "{}\n"})
        shutil.copytree(previous, project / ".output")
        (project / f"nitro.config.{fmt}").write_bytes(render_config(data, fmt))
        write_tree(project, entries)
        before = digest(sandbox, skip=(f"p/{WORK}",))
        args = ["--dir", str(project), "--json"] + (["--preset", preset] if preset else [])
        result = CliRunner().invoke(build_main, args, env=ESBUILD)
        if LOG:  # what the examples did, for a summary of a long run
            first = next((ln for ln in result.output.splitlines() if ln.startswith("error:")), "")
            log_line({"exit": result.exit_code, "error": first[:160]})
        return judge(result, sandbox, before)
    finally:
        shutil.rmtree(sandbox, ignore_errors=True)


def judge(result: Any, sandbox: Path, before: dict[str, str]) -> str | None:
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        return "".join(traceback.format_exception(result.exception))
    if result.exit_code not in (0, 1):
        return f"exit code {result.exit_code}: {result.output[-2000:]}"
    if "Traceback" in result.output:
        return result.output[-4000:]
    owned = [f"p/{WORK}"]  # a build's own: whatever is below these
    created: set[str] = set()  # and these folders themselves, made to hold an output
    if result.exit_code == 0:
        for out in json.loads(result.stdout)["outputs"]:
            owned.append(f"p/{out}")
            created.update(f"p/{parent}" for parent in Path(out).parents if str(parent) != ".")

    def keep(rel: str) -> bool:
        return rel not in created and not any(rel == o or rel.startswith(o + "/") for o in owned)

    after = {k: v for k, v in digest(sandbox).items() if keep(k)}
    expected = {k: v for k, v in before.items() if keep(k)}
    if after != expected:
        changed = sorted(set(after.items()) ^ set(expected.items()))[:6]
        output = result.output[-1500:]
        return f"exit {result.exit_code} changed files outside its outputs: {changed}\n{output}"
    return None


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    derandomize="NITRO_FUZZ_EXAMPLES" not in os.environ,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)
@given(
    data=config(),
    fmt=st.sampled_from(["toml", "json"]),
    entries=tree(),
    preset=st.sampled_from([None, None, "node_server", "cloudflare_module", "vercel", "dev", "bun"]),
)
def test_any_project_builds_or_fails_with_a_message_and_keeps_the_previous_output(
    previous_output: Path, data: dict[str, Any], fmt: str, entries: list, preset: str | None
) -> None:
    problem = check_build(previous_output, data, fmt, entries, preset)
    if problem and LOG:
        log_line(
            {
                "config": render_config(data, fmt).decode("utf-8", "replace")[:3000],
                "fmt": fmt,
                "preset": preset,
                "tree": repr(entries)[:2000],
                "problem": problem,
            }
        )
        return
    assert problem is None, problem


def log_line(record: dict[str, Any]) -> None:
    assert LOG
    with open(LOG, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(record) + "\n")
