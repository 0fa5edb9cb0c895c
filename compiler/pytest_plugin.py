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
from collections.abc import Callable
from functools import cache
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .result import Artifact, BuildResult

ROOT_INI = "nitro_build_root"


def pytest_configure(config: pytest.Config) -> None:
    """With syrupy installed, `snapshot == artifact` also stores the artifact as its own file."""
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
    SnapshotAssertion.__eq__ = __eq__  # type: ignore[method-assign,assignment]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(ROOT_INI, "Project folder the nitro_build fixture builds (relative to the rootdir).",
                  default=".")


@pytest.fixture
def nitro_build(request: pytest.FixtureRequest) -> Callable[..., BuildResult]:
    """A function that builds the project for a preset and returns its BuildResult (dry run by default)."""
    default_root = project_root(request)

    def run(
        preset: str | None = None,
        *,
        root: str | Path | None = None,
        dry_run: bool = True,
        strict: bool = False,
    ) -> BuildResult:
        from . import build

        # A relative `root` is relative to the project, not to wherever pytest was started.
        folder = default_root / root if root is not None else default_root
        return build(folder, preset, strict=strict, dry_run=dry_run)

    return run


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
