"""Cron expressions in croner's dialect: parse, validate, compile for the runtime, translate.

The input dialect is croner's (https://croner.56k.guru/usage/pattern/), the engine Nitro uses
for its Node, Bun and Deno presets: 5 fields, or 6 with seconds first; `*` `?` `,` `-` `/`;
`L` and `W` in day-of-month; `L` and `#` in day-of-week; `+` before day-of-week for AND;
JAN-DEC and SUN-SAT names; weekday 0-7 (0 and 7 are Sunday); @yearly-style nicknames.
When day-of-month and day-of-week are both restricted a day matches if either matches.

`CronExpr.compiled()` is the data `templates/runtime/cron.mjs` evaluates; the runtime never
parses cron text. Errors raise `CronError` with a reason and no file name: the caller prefixes
the file and key path.

Modules: `fields` (field bounds and names), `expr` (CronExpr, its day rule and the data it
compiles to for the runtime), `parse` (text -> CronExpr), `validate` (the never-fires check),
`firings` (next firing times for the CLI summary), `translate` (Cloudflare, Deno.cron and Vercel dialects).
"""

from .expr import CronExpr
from .fields import NICKNAMES
from .firings import next_firings
from .parse import parse_cron
from .translate import (
    DENO_DOC,
    KUBERNETES_DOC,
    NETLIFY_DOC,
    VERCEL_DOC,
    fires_more_than_daily,
    to_cloudflare,
    to_deno,
    to_kubernetes,
    to_netlify,
    to_vercel,
)

__all__ = [
    "DENO_DOC",
    "KUBERNETES_DOC",
    "NETLIFY_DOC",
    "NICKNAMES",
    "VERCEL_DOC",
    "CronExpr",
    "fires_more_than_daily",
    "next_firings",
    "parse_cron",
    "to_cloudflare",
    "to_deno",
    "to_kubernetes",
    "to_netlify",
    "to_vercel",
]
