"""pytest plugin (installed with the package, `pytest11` entry point): snapshot-test generated configs.

    def test_wrangler(nitro_build, snapshot):
        assert nitro_build("cloudflare_module").artifacts["wrangler.toml"] == snapshot

(`snapshot == artifact` works too: the plugin teaches syrupy's assertion about artifacts.)

`nitro_build(preset=None, *, root=None, dry_run=True, strict=False)` builds the project (the
`nitro_build_root` ini option, else the nearest folder above the test file with a nitro config, else
the rootdir; a dry run unless told otherwise) and returns its BuildResult. An artifact compared
with syrupy's `snapshot` is stored as its own file with the artifact's real extension
(`__snapshots__/test_configs/test_wrangler[output-server-wrangler].toml`), so a review shows a
syntax-highlighted diff; `pytest --snapshot-update` accepts a change.
Importing this module is cheap: nitro-build and syrupy load only when a test uses them.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .result import Artifact, BuildResult

ROOT_INI = "nitro_build_root"


def pytest_configure(config: pytest.Config) -> None:
    """Declare the marker; with syrupy installed, `snapshot == artifact` also stores the artifact
    as its own file."""
    config.addinivalue_line(
        "markers",
        "nitro_build(preset=None, *, root=None, dry_run=True, strict=False): "
        "what the nitro_build fixture builds when its result is read directly",
    )
    try:
        from syrupy.assertion import SnapshotAssertion
    except ImportError:
        return
    original = SnapshotAssertion.__eq__
    if getattr(original, "nitro_build", False):
        return

    def __eq__(self: Any, other: object) -> bool:  # noqa: N807 (the method it replaces)
        from .result import Artifact

        if isinstance(other, Artifact):
            return compare_with_snapshot(other, self)
        return bool(original(self, other))

    __eq__.nitro_build = True  # type: ignore[attr-defined]
    SnapshotAssertion.__eq__ = __eq__  # type: ignore[method-assign]


def pytest_addoption(parser: pytest.Parser) -> None:
    """The project folder option (the `nitro_build` marker is declared in pytest_configure)."""
    parser.addini(
        ROOT_INI, "Project folder the nitro_build fixture builds (relative to the rootdir).", default="."
    )


class NitroBuild:
    """The `nitro_build` fixture: call it to build (`nitro_build("vercel")`), or read a result's
    attributes from it directly (`nitro_build.artifacts`), which builds once with the preset of
    `@pytest.mark.nitro_build(preset=...)` or of `parametrize("nitro_build", [...], indirect=True)`,
    else the config's."""

    def __init__(self, root: Path, defaults: dict[str, Any]) -> None:
        self.root = root
        self.defaults = {"preset": None, "root": None, "dry_run": True, "strict": False, **defaults}
        self._result: BuildResult | None = None

    def __call__(
        self,
        preset: str | None = None,
        *,
        root: str | Path | None = None,
        dry_run: bool | None = None,
        strict: bool | None = None,
    ) -> BuildResult:
        """Build the project for `preset`; a relative `root` is relative to the project."""
        from . import build

        given = {"preset": preset, "root": root, "dry_run": dry_run, "strict": strict}
        opts: dict[str, Any] = {k: self.defaults[k] if v is None else v for k, v in given.items()}
        folder = self.root / opts["root"] if opts["root"] is not None else self.root
        return build(folder, opts["preset"], strict=opts["strict"], dry_run=opts["dry_run"])

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        if self._result is None:
            self._result = self()
        return getattr(self._result, name)


@pytest.fixture
def nitro_build(request: pytest.FixtureRequest) -> NitroBuild:
    """Builds the project for a preset (a dry run by default) and gives its BuildResult."""
    marker = request.node.get_closest_marker("nitro_build")
    defaults = dict(marker.kwargs) if marker else {}
    if marker and marker.args:
        defaults["preset"] = marker.args[0]
    param = getattr(request, "param", None)
    if param is not None:
        defaults.update(param if isinstance(param, dict) else {"preset": param})
    return NitroBuild(project_root(request), defaults)


def project_root(request: pytest.FixtureRequest) -> Path:
    """The `nitro_build_root` ini option, else the nearest folder above the test file holding a
    nitro config, else the rootdir."""
    config = request.config
    if config.getini(ROOT_INI) != ".":
        return config.rootpath / str(config.getini(ROOT_INI))
    from .config import CONFIG_NAMES

    for folder in Path(request.path).parents:
        if any((folder / name).is_file() for name in CONFIG_NAMES):
            return folder
        if folder == config.rootpath:
            break
    return config.rootpath


# ---------------------------------------------------------------- syrupy


def compare_with_snapshot(artifact: Artifact, snapshot: Any) -> bool:
    """`artifact == snapshot`: syrupy's assertion, with the artifact's own file extension and,
    unless the test named the snapshot, a name made from the artifact's path."""
    named = getattr(snapshot, "_custom_index", None)
    name = None if named else snapshot_name(artifact.path)
    return bool(snapshot(extension_class=artifact_extension(artifact.path), name=name) == str(artifact))


def snapshot_name(path: str) -> str:
    """`.output/server/wrangler.toml` -> `output-server-wrangler` (the extension names the file type)."""
    stem = str(PurePosixPath(path).with_suffix(""))
    return re.sub(r"[^A-Za-z0-9_]+", "-", stem).strip("-") or "artifact"


def artifact_extension(path: str) -> type:
    """The syrupy extension class that stores snapshots with `path`'s extension (`.toml`, ...)."""
    return _extension_for(PurePosixPath(path).suffix.lstrip(".").lower() or "txt")


@cache
def _extension_for(suffix: str) -> type:
    from syrupy.extensions.single_file import SingleFileSnapshotExtension, WriteMode

    class ArtifactSnapshotExtension(SingleFileSnapshotExtension):
        """One text file per snapshot, named with the artifact's extension."""

        _write_mode = WriteMode.TEXT
        file_extension = suffix

    ArtifactSnapshotExtension.__name__ = ArtifactSnapshotExtension.__qualname__ = (
        f"Artifact{suffix.capitalize()}SnapshotExtension"
    )
    return ArtifactSnapshotExtension
