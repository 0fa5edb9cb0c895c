"""The runtime's one kit of HTTP and auth helpers (templates/runtime/http.mjs), run by real Node.

One constant-time compare with one contract: synchronous and boolean, so no caller can test a
Promise (always truthy) and let every request through; and no second copy anywhere in the runtime.
"""

from __future__ import annotations

import json
import re
import subprocess

from conftest import NODE, REPO

RUNTIME = REPO / "templates" / "runtime"

SCRIPT = """
import { bearerToken, hasBearer, jsonError, sameSecret } from "./http.mjs";
const req = (auth) => new Request("http://x/", auth === undefined ? {} : { headers: { authorization: auth } });
const compare = [["s3cret", "s3cret"], ["s3cre", "s3cret"], ["s3crett", "s3cret"], ["", "s3cret"],
  ["S3CRET", "s3cret"], ["caf\\u00e9", "caf\\u00e9"], ["cafe", "caf\\u00e9"]];
let refused = null;
try { sameSecret(undefined, "x"); } catch (error) { refused = error.constructor.name; }
const error = jsonError(401, "no", { "www-authenticate": "Bearer" });
console.log(JSON.stringify({
  compare: compare.map(([a, b]) => sameSecret(a, b)),
  types: compare.map(([a, b]) => typeof sameSecret(a, b)),
  refused,
  tokens: [bearerToken(req("Bearer  tok ")), bearerToken(req("bearer tok")), bearerToken(req("Basic tok")) ?? null,
           bearerToken(req()) ?? null],
  has: [hasBearer(req("Bearer tok"), "tok"), hasBearer(req("Bearer tok2"), "tok"), hasBearer(req(), "tok")],
  error: { status: error.status, type: error.headers.get("content-type"), auth: error.headers.get("www-authenticate"),
           body: await error.json() },
}));
"""


def test_secret_compare_and_bearer_parsing_have_one_synchronous_contract() -> None:
    proc = subprocess.run(
        [NODE, "--input-type=module", "-e", SCRIPT], cwd=RUNTIME, capture_output=True, text=True, timeout=30
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["compare"] == [True, False, False, False, False, True, False]
    assert set(out["types"]) == {"boolean"}  # never a Promise
    assert out["refused"] == "TypeError"  # a missing secret is a bug, not a mismatch
    assert out["tokens"] == ["tok", "tok", None, None]
    assert out["has"] == [True, False, False]
    assert out["error"] == {
        "status": 401,
        "type": "application/json; charset=utf-8",
        "auth": "Bearer",
        "body": {"statusCode": 401, "message": "no"},
    }


def test_the_runtime_defines_each_helper_once() -> None:
    """A second sameSecret (the old async one in app.mjs) or json() would bring back two contracts."""
    sources = {
        path.relative_to(RUNTIME).as_posix(): path.read_text(encoding="utf-8")
        for path in RUNTIME.rglob("*.mjs")
    }
    for name in ("sameSecret", "json", "jsonError", "bearerToken", "readEnv", "listenAddress"):
        defined = [file for file, text in sources.items() if re.search(rf"\bfunction {name}\(", text)]
        assert defined in (["http.mjs"], ["env.mjs"]), (name, defined)
    parsers = [file for file, text in sources.items() if "timingSafeEqual" in text or "Bearer\\s" in text]
    assert parsers == ["http.mjs"], parsers
