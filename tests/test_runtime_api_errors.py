"""Bad input for the runtime APIs is a build error that names the file, the key and what to do, and
leaves the previous output as it was: an unknown storage driver, a plugin without a default
export, and a storage driver the preset's platform cannot run."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from conftest import build_project, copy_fixture, run_cli
from runtime_apis import set_config


def tree_digest(folder: Path) -> str:
    """One digest of every file (path and bytes) under `folder`."""
    digest = hashlib.sha256()
    for file in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(str(file.relative_to(folder)).encode() + b"\0" + file.read_bytes())
    return digest.hexdigest()


def built(tmp_path: Path, preset: str) -> tuple[Path, str]:
    """fixtures/runtime_apis built once (memory storage), and the digest of its output."""
    root = copy_fixture("runtime_apis", tmp_path)
    set_config(root, storage={"data": {"driver": "memory"}})
    build_project(root, preset)
    out = root / (".vercel/output" if preset == "vercel" else ".output")
    return root, tree_digest(out)


def fails(root: Path, preset: str, digest: str) -> str:
    """Build again, expecting failure; the previous output must be untouched. Returns stderr."""
    proc = run_cli("build", "--preset", preset, "--dir", str(root))
    assert proc.returncode == 1, proc.stdout
    assert "Traceback" not in proc.stderr
    assert tree_digest(root / (".vercel/output" if preset == "vercel" else ".output")) == digest
    return proc.stderr


def test_unknown_driver_gets_a_did_you_mean(tmp_path: Path) -> None:
    root, digest = built(tmp_path, "node_server")
    set_config(root, storage={"data": {"driver": "reddis", "url": "redis://127.0.0.1"}})
    err = fails(root, "node_server", digest)
    assert (
        "nitro.config.json: storage.data.driver: unknown storage driver 'reddis'; did you mean 'redis'?"
        in err
    )
    assert "cloudflare-kv-binding" in err  # unstorage's own names are listed


def test_unknown_driver_in_dev_storage(tmp_path: Path) -> None:
    root, digest = built(tmp_path, "node_server")
    set_config(root, devStorage={"cache": {"driver": "lru-cach"}})
    assert "devStorage.cache.driver: unknown storage driver 'lru-cach'; did you mean 'lru-cache'?" in fails(
        root, "node_server", digest
    )


def test_plugin_without_default_export(tmp_path: Path) -> None:
    root, digest = built(tmp_path, "node_server")
    (root / "plugins" / "03.named.ts").write_text("export function setup() {}\n")
    err = fails(root, "node_server", digest)
    assert "plugins/03.named.ts: a plugin needs a default export" in err
    assert "export default defineNitroPlugin" in err


def test_configured_plugin_that_does_not_exist(tmp_path: Path) -> None:
    root, digest = built(tmp_path, "node_server")
    set_config(root, plugins=["plugins/nope.ts"])
    assert "nitro.config.json: plugins[0]: 'plugins/nope.ts' is not a file" in fails(
        root, "node_server", digest
    )


@pytest.mark.parametrize(
    ("preset", "driver", "why"),
    [
        ("cloudflare_module", "fs", "no lasting, shared filesystem"),
        ("cloudflare_pages", "redis", "TCP sockets"),
        ("vercel", "fs", "no lasting, shared filesystem"),
        ("node_server", "cloudflare-kv-binding", "Cloudflare Worker binding"),
        ("bun", "cloudflare-kv-binding", "Cloudflare Worker binding"),
    ],
)
def test_driver_the_preset_cannot_run(tmp_path: Path, preset: str, driver: str, why: str) -> None:
    root, digest = built(tmp_path, preset)
    set_config(root, storage={"data": {"driver": driver}})
    err = fails(root, preset, digest)
    assert (
        f"storage.data.driver: storage driver {driver!r} (useStorage) is not available on preset {preset}"
        in err
    )
    assert why in err
