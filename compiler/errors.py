"""One error base class and the warning collector every build step reports through."""

from __future__ import annotations


class CompilerError(Exception):
    """A user-facing build error: the message names the file, the key and what to do."""


class ConfigError(CompilerError):
    """The nitro config (or a platform config the user owns) is invalid."""


class ScanError(CompilerError):
    """The project's files cannot be turned into tasks or routes."""


class CronError(CompilerError):
    """A cron expression is invalid, never fires, or a preset cannot express it."""


class PresetError(CompilerError):
    """A preset cannot do what the project asks of it."""


class UnsupportedFeatureError(PresetError):
    """The project uses a feature its preset declares it cannot provide (presets/*.py `features`)."""


class BundleError(CompilerError):
    """esbuild is missing or failed."""


class Warnings:
    """Collects warnings so they print together; `strict` turns the first one into an error.

    A plain class, not a dataclass: every command imports this module, and `dataclasses` (with
    `inspect`) was a tenth of `nitro-build --help` (issue 14)."""

    def __init__(self, strict: bool = False, items: list[str] | None = None) -> None:
        self.strict = strict
        self.items: list[str] = [] if items is None else items
        # Seen messages, for de-duplication: scanning `items` made 40,000 warnings take 18 s.
        self._seen: set[str] = set()

    def __repr__(self) -> str:
        return f"Warnings(strict={self.strict!r}, items={self.items!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Warnings):
            return NotImplemented
        return (self.strict, self.items) == (other.strict, other.items)

    __hash__ = None  # type: ignore[assignment]  # mutable, as the dataclass was

    def warn(self, message: str) -> None:
        """Record a warning, or raise it as an error in strict mode."""
        if self.strict:
            raise CompilerError(f"{message} (--strict turns warnings into errors)")
        if message not in self._seen:
            self._seen.add(message)
            self.items.append(message)
