"""JSON with comments and trailing commas, as wrangler.json(c) allows (wrangler's parseJSONC)."""

from __future__ import annotations

import json
import re
from typing import Any

from ..errors import ConfigError


def parse_jsonc(text: str, filename: str) -> Any:
    """JSON with comments and trailing commas, as wrangler.json(c) allows."""
    try:
        return json.loads(_drop_trailing_commas(_blank_comments(text, filename)))
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{filename}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}; "
            "fix the file and build again"
        ) from None


_JSONC_TOKEN = re.compile(r'"(?:\\.|[^"\\\n])*"|//[^\n]*|/\*.*?\*/|/\*', re.S)


def _blank_comments(text: str, filename: str) -> str:
    """Comments become spaces (newlines kept), so JSON errors still point at the right place."""

    def blank(match: re.Match[str]) -> str:
        token = match.group()
        if token == "/*":
            line = text.count("\n", 0, match.start()) + 1
            raise ConfigError(f"{filename}: line {line}: a /* comment is never closed")
        return token if token.startswith('"') else re.sub(r"[^\n]", " ", token)

    return _JSONC_TOKEN.sub(blank, text)


_TRAILING_COMMA = re.compile(r'"(?:\\.|[^"\\\n])*"|,(?=\s*[}\]])')


def _drop_trailing_commas(text: str) -> str:
    return _TRAILING_COMMA.sub(lambda m: m.group() if m.group().startswith('"') else " ", text)
