"""The pipeline, in one direction: load -> scan -> merge -> compile crons -> emit -> swap."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .presets import Preset, get_preset

from .config import load_config
from .emit import Emitter, build_lock
from .errors import CompilerError, PresetError, Warnings
from .merge import build_project
from .model import Project


@dataclass(frozen=True)
class BuildResult:
    """What a finished build produced, for the CLI summary and for tests."""

    project: Project
    preset: Preset
    outputs: tuple[str, ...]
    warnings: tuple[str, ...]

    @property
    def output_dir(self) -> Path:
        return self.project.root / self.preset.output_dir(self.project)

    @property
    def commands(self) -> dict[str, str]:
        return self.preset.commands(self.project)


def load_project(root: Path, warnings: Warnings) -> tuple[Project, str | None]:
    """Load and merge the project at `root`; also return the preset its config names."""
    if not root.is_dir():
        raise CompilerError(f"project folder {root} does not exist")
    config, config_file = load_config(root)
    return build_project(root, config, config_file, warnings), config.preset


def build(
    root: Path, preset: str | None = None, *, strict: bool = False, warnings: Warnings | None = None
) -> BuildResult:
    """Build the project at `root` for `preset` (else the config's, else node_server)."""
    root = root.resolve()
    warnings = warnings or Warnings(strict=strict)
    project, configured = load_project(root, warnings)
    try:
        chosen = get_preset(preset or configured or "node_server")
    except PresetError as exc:
        if preset or not configured or project.config_file is None:
            raise
        raise PresetError(f"{project.config_file.name}: preset: {exc}") from None
    outputs = chosen.outputs(project)
    with build_lock(root):
        em = Emitter(project, chosen.name, warnings)
        try:
            em.check_outputs(outputs)
            chosen.emit(project, em)
            em.swap_into_place(outputs)
        except BaseException:
            em.discard()
            raise
    return BuildResult(project, chosen, tuple(outputs), tuple(warnings.items))
