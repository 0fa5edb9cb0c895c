"""The Node adapter's fast path and the source maps, on real Node (node_server).

Handlers still get a web Request (built when they read it); string, JSON and byte answers carry
content-length; streams still stream; a failing task's stack names its .ts file and line through
the bundle's source map; the same input gives the same bundle and .map bytes, without the build
machine's paths.
"""

from __future__ import annotations

import hashlib
import http.client
import json
from pathlib import Path

from conftest import build_project, preview_argv, wait_until, write_project

FILES = {
    "nitro.config.toml": "[experimental]\ntasks = true\n",
    "api/hello.ts": 'export default defineEventHandler(() => ({ hello: "world" }));\n',
    "api/text.ts": 'export default defineEventHandler(() => "héllo");\n',
    "api/bytes.ts": "export default defineEventHandler(() => new Uint8Array([1, 2, 3]).subarray(1));\n",
    "api/empty.ts": "export default defineEventHandler(() => null);\n",
    "api/status.ts": (
        "export default defineEventHandler((event) => {\n"
        '  event.res.status = 201;\n  event.res.headers.set("x-made", "yes");\n'
        "  return { made: true };\n});\n"
    ),
    "api/inspect.post.ts": (
        "export default defineEventHandler(async (event) => ({\n"
        "  isRequest: event.req instanceof Request,\n"
        "  url: event.req.url,\n"
        '  header: event.headers.get("x-probe"),\n'
        "  body: await event.req.json(),\n"
        "}));\n"
    ),
    # Holds the stream open until /api/release is called: the first chunk must arrive before.
    "api/stream.ts": (
        "export default defineEventHandler(() => new ReadableStream({\n"
        '  start(c) { c.enqueue(new TextEncoder().encode("first;")); globalThis.release = () => {\n'
        '    c.enqueue(new TextEncoder().encode("second")); c.close(); }; },\n}));\n'
    ),
    "api/release.ts": "export default defineEventHandler(() => { globalThis.release(); return 'ok'; });\n",
    "api/later.ts": (
        "export default defineEventHandler((event) => {\n"
        "  event.waitUntil(new Promise((r) => setTimeout(r, 50)).then(() => { globalThis.later = 'done'; }));\n"
        "  return 'queued';\n});\n"
    ),
    # Several set-cookie headers stay several header lines (a Headers joins them in get()), from a
    # plain answer with the handler's headers and from a Response.
    "api/cookies.ts": (
        "export default defineEventHandler((event) => {\n"
        '  event.res.headers.append("set-cookie", "a=1");\n  event.res.headers.set("x-made", "cookies");\n'
        '  event.res.headers.append("set-cookie", "b=2; Path=/");\n  return "baked";\n});\n'
    ),
    "api/cookie-response.ts": (
        'export default defineEventHandler(() => new Response("r", {\n'
        '  headers: [["set-cookie", "c=3"], ["x-made", "response"], ["set-cookie", "d=4"]] }));\n'
    ),
    "api/later-result.ts": "export default defineEventHandler(() => globalThis.later ?? 'pending');\n",
    # h3's defineHandler from nitro/h3: the function form with its fetch(), the object form with
    # middleware; and whether Node has loaded undici (its Request/Response/Headers) so far.
    "api/lean.ts": 'import { defineHandler } from "nitro/h3";\nexport default defineHandler(() => ({ lean: true }));\n',
    "api/undici.ts": 'export default () => ({ loaded: process.moduleLoadList.some((m) => m.includes("undici")) });\n',
    "api/composed.ts": (
        'import { defineHandler } from "nitro/h3";\n'
        "export default defineHandler({\n"
        '  meta: { kind: "composed" },\n'
        "  middleware: [\n"
        '    (event) => { event.res.headers.set("x-first", "1"); },\n'
        '    (event, next) => (event.url.searchParams.has("stop") ? "stopped" : next()),\n'
        "  ],\n"
        '  handler: () => "handled",\n'
        "});\n"
    ),
    "api/fetched.ts": (
        'import lean from "./lean";\nimport composed from "./composed";\n'
        "export default defineEventHandler(async () => {\n"
        '  const [a, b] = await Promise.all([lean.fetch("/lean"), composed.fetch(new Request("http://x/c?stop"))]);\n'
        '  return { lean: [a.status, await a.json()], composed: [b.status, await b.text(), b.headers.get("x-first")],\n'
        "    meta: composed.meta };\n"
        "});\n"
    ),
    "tasks/probe.ts": (
        "export default defineTask({ run({ payload }) {\n"
        "  const loaded = (name) => process.moduleLoadList.some((m) => m.includes(name));\n"
        '  return { result: { payload, undici: loaded("undici"), streams: loaded("webstreams/readablestream") } };\n'
        "} });\n"
    ),
    "tasks/boom.ts": (
        "export default defineTask({\n"
        '  meta: { description: "fails" },\n'
        "  run() {\n"
        '    throw new Error("boom from the task");\n'
        "  },\n"
        "});\n"
    ),
}


def built(tmp_path: Path) -> Path:
    project = write_project(tmp_path / "p", FILES)
    proc = build_project(project)
    assert proc.returncode == 0, proc.stderr
    return project


def get(port: int, path: str, method: str = "GET", body: bytes | None = None, headers: dict | None = None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
    conn.request(method, path, body=body, headers=headers or {})
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    return resp, data


def test_answers_carry_content_length_and_streams_still_stream(tmp_path, start_server) -> None:
    project = built(tmp_path)
    server = start_server(preview_argv(project), project)
    resp, data = get(server.port, "/api/hello")
    assert (resp.status, json.loads(data)) == (200, {"hello": "world"})
    assert resp.getheader("content-length") == str(len(data))
    assert resp.getheader("content-type") == "application/json; charset=utf-8"
    resp, data = get(server.port, "/api/text")
    assert data.decode() == "héllo" and resp.getheader("content-length") == str(len("héllo".encode()))
    resp, data = get(server.port, "/api/bytes")
    assert data == b"\x02\x03" and resp.getheader("content-length") == "2"
    resp, data = get(server.port, "/api/empty")
    assert (resp.status, data, resp.getheader("content-length")) == (204, b"", None)
    resp, data = get(server.port, "/api/status")
    assert (resp.status, resp.getheader("x-made"), json.loads(data)) == (201, "yes", {"made": True})
    resp, data = get(server.port, "/api/cookies")
    assert (data, resp.getheader("content-length"), resp.getheader("x-made")) == (b"baked", "5", "cookies")
    assert resp.msg.get_all("set-cookie") == ["a=1", "b=2; Path=/"]
    resp, data = get(server.port, "/api/cookie-response")
    assert (data, resp.getheader("x-made"), resp.msg.get_all("set-cookie")) == (
        b"r",
        "response",
        ["c=3", "d=4"],
    )
    resp, data = get(server.port, "/api/hello", method="HEAD")
    assert (resp.status, data, resp.getheader("content-length")) == (200, b"", "17")

    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=15)
    conn.request("GET", "/api/stream")
    resp = conn.getresponse()
    assert resp.getheader("transfer-encoding") == "chunked" and resp.getheader("content-length") is None
    assert resp.read1() == b"first;"  # arrives while the stream is still open
    assert get(server.port, "/api/release")[1] == b"ok"
    assert resp.read() == b"second"
    conn.close()

    assert get(server.port, "/api/later")[1] == b"queued"
    # Polled for a time, not a count: 100 quick requests can all come before the 50 ms timer.
    wait_until(lambda: get(server.port, "/api/later-result")[1] == b"done", 10, "the waitUntil work")
    assert get(server.port, "/api/later-result")[1] == b"done"


def test_h3_define_handler_answers_json_without_loading_undici(tmp_path, start_server) -> None:
    project = built(tmp_path)
    server = start_server(preview_argv(project), project)
    resp, data = get(server.port, "/api/lean")
    assert (resp.status, json.loads(data), resp.getheader("content-length")) == (200, {"lean": True}, "13")
    # Node loads undici the first time Request, Response or Headers is read: a JSON answer must not.
    assert json.loads(get(server.port, "/api/undici")[1]) == {"loaded": False}
    resp, data = get(server.port, "/api/composed")
    assert (resp.status, data, resp.getheader("x-first")) == (200, b"handled", "1")
    assert get(server.port, "/api/composed?stop")[1] == b"stopped"
    assert json.loads(get(server.port, "/api/fetched")[1]) == {
        "lean": [200, {"lean": True}],
        "composed": [200, "stopped", "1"],
        "meta": {"kind": "composed"},
    }


def test_handlers_still_get_a_web_request(tmp_path, start_server) -> None:
    project = built(tmp_path)
    server = start_server(preview_argv(project), project)
    body = json.dumps({"n": 1}).encode()
    headers = {"x-probe": "seen", "content-type": "application/json", "host": f"127.0.0.1:{server.port}"}
    resp, data = get(server.port, "/api/inspect?q=1", "POST", body, headers)
    assert resp.status == 200
    assert json.loads(data) == {
        "isRequest": True,
        "url": f"http://127.0.0.1:{server.port}/api/inspect?q=1",
        "header": "seen",
        "body": {"n": 1},
    }
    resp, data = get(server.port, "/api/hello", "TRACE")
    assert resp.status == 501


def test_task_run_over_http_reads_token_and_body_without_loading_undici(tmp_path, start_server) -> None:
    """The tasks endpoint reads the bearer token and the POST body from Node's request itself: a
    web Request would load undici, about 15 ms of a task's first run after start (bench/README.md)."""
    project = built(tmp_path)
    server = start_server(preview_argv(project), project, env={"NITRO_TASKS_TOKEN": "t0ken"})
    body = json.dumps({"payload": {"n": 1}}).encode()
    auth = {"authorization": "Bearer t0ken", "content-type": "application/json"}
    resp, data = get(server.port, "/_nitro/tasks/probe?q=2", "POST", body, auth)
    assert (resp.status, json.loads(data)) == (
        200,
        {"result": {"payload": {"n": 1, "q": "2"}, "undici": False, "streams": False}},
    )
    resp, _ = get(server.port, "/_nitro/tasks/probe", "POST", body, {"authorization": "Bearer wrong"})
    assert resp.status == 401
    too_big = {**auth, "content-length": str(2 * 1024 * 1024)}
    resp, data = get(server.port, "/_nitro/tasks/probe", "POST", b"{}", too_big)
    assert resp.status == 413


def test_failing_task_stack_names_its_ts_file_and_line(tmp_path, start_server) -> None:
    project = built(tmp_path)
    server = start_server(preview_argv(project), project, env={"NITRO_TASKS_TOKEN": "t0ken"})
    resp, data = get(server.port, "/_nitro/tasks/boom", "POST", b"{}", {"authorization": "Bearer t0ken"})
    assert resp.status == 500 and json.loads(data)["message"] == "boom from the task"
    server.wait_for("boom from the task")
    server.wait_for(f"{project / 'tasks' / 'boom.ts'}:4:")


def test_source_maps_are_reproducible_and_hold_no_build_paths(tmp_path) -> None:
    project = built(tmp_path)
    server_dir = project / ".output" / "server"

    def digest() -> dict[str, str]:
        files = sorted(p for p in server_dir.rglob("*") if p.is_file())
        return {
            p.relative_to(server_dir).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in files
        }

    first = digest()
    maps = [name for name in first if name.endswith(".map")]
    assert "index.mjs.map" in maps and len(maps) > 1
    assert build_project(project).returncode == 0
    assert digest() == first
    for name in maps:
        text = (server_dir / name).read_text()
        assert str(tmp_path) not in text and "/work/" not in text and "/home/" not in text
        for source in json.loads(text)["sources"]:
            assert not source.startswith("/") and not (server_dir / name).parent.joinpath(
                source
            ).resolve().is_relative_to(project / ".nitro" / "staging")
    assert (server_dir / "index.mjs").read_text().rstrip().endswith("//# sourceMappingURL=index.mjs.map")
