"""The one place the version is written: pyproject.toml reads it from here (setuptools `attr`)."""

__version__ = "0.2.0"
