"""The dashboard (/_nitro/ui) in a real headless Chromium (Debian's /usr/bin/chromium, driven by
selenium through /usr/bin/chromedriver; no browser download), against `nitro dev` on
fixtures/basic and against a production node_server bundle behind NITRO_TASKS_TOKEN. A failing
test saves a screenshot under the pytest temp folder (its path is in the failure message)."""

from __future__ import annotations

import json
import re
import shutil
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import NODE_BUNDLE, build_project, copy_fixture, free_port
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait
from test_dev import running_dev

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
TOKEN = "tok-dashboard-7f1e"
EXTRA_TASKS = {
    # A failing task, and one firing every second whose result would run script if put in as HTML.
    "tasks/demo/fail.ts": 'export default defineTask({ meta: { description: "Always fails" }, run() { throw new Error("deliberate <b>failure</b>"); } });\n',
    "tasks/demo/tick.ts": 'export default defineTask({ meta: { description: "Every second" }, run() { return { result: "<script>window.pwned = 1</script><img src=x onerror=\\"window.pwned = 2\\">" }; } });\n',
}

pytestmark = pytest.mark.skipif(
    not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()),
    reason="needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)",
)


def project(tmp_path: Path) -> Path:
    root = copy_fixture("basic", tmp_path)
    for rel, text in EXTRA_TASKS.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    config = root / "nitro.config.toml"
    config.write_text(config.read_text() + '"* * * * * *" = "demo:tick"\n', encoding="utf-8")
    return root


@contextmanager
def browser(shots: Path, name: str) -> Iterator[webdriver.Chrome]:
    """A fresh headless Chromium; on an exception, a screenshot at shots/<name>.png before quitting."""
    profile = shots / f"profile-{name}"
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        f"--user-data-dir={profile}",
        "--window-size=1280,1600",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_script_timeout(10)
    try:
        yield driver
    except BaseException:
        shot = shots / f"{name}-failure.png"
        try:
            driver.save_screenshot(str(shot))
            print(f"screenshot saved: {shot}")
        except WebDriverException:
            pass
        raise
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def wait(driver, condition, timeout: float = 10, what: str = "condition"):
    return WebDriverWait(driver, timeout, poll_frequency=0.1).until(lambda d: condition(d), message=what)


def task_card(driver, name: str):
    return driver.find_element(By.CSS_SELECTOR, f'article.task[data-task="{name}"]')


def run_with(driver, name: str, payload: str):
    card = task_card(driver, name)
    area = card.find_element(By.TAG_NAME, "textarea")
    area.clear()
    area.send_keys(payload)
    # Keyboard only: tab from the payload past its hint to the Run button, press Enter.
    area.send_keys(Keys.TAB)
    assert driver.switch_to.active_element.text == f"Run {name}"
    driver.switch_to.active_element.send_keys(Keys.ENTER)
    return card


def sent_requests(driver) -> list[str]:
    return driver.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name).filter(n => n.includes('/_nitro/tasks/'))"
    )


def test_dashboard_in_nitro_dev(tmp_path: Path) -> None:
    root = project(tmp_path)
    with running_dev(root) as dev, browser(tmp_path, "dev") as driver:
        url = f"http://127.0.0.1:{dev.port}/_nitro/ui"
        dev.wait_for(f"[nitro dev] dashboard: {url}", timeout=5)
        driver.get(url)
        wait(driver, lambda d: len(d.find_elements(By.CSS_SELECTOR, "article.task")) == 5, what="five tasks")
        names = [
            el.get_attribute("data-task") for el in driver.find_elements(By.CSS_SELECTOR, "article.task")
        ]
        assert names == ["cms:update", "db:migrate", "demo:fail", "demo:tick", "echo:payload"]
        assert "Returns the provided payload" in task_card(driver, "echo:payload").text
        assert "Source: tasks/echo/payload.ts" in task_card(driver, "echo:payload").text
        # Every schedule, each with five firings shown in local time and UTC.
        crons = [
            str(el.get_attribute("data-cron"))
            for el in driver.find_elements(By.CSS_SELECTOR, "article.schedule")
        ]
        assert sorted(crons) == ["* * * * *", "* * * * * *", "0 3 * * *"]
        daily = driver.find_element(By.CSS_SELECTOR, 'article.schedule[data-cron="0 3 * * *"]')
        firings = daily.find_elements(By.CSS_SELECTOR, "ol.firings li")
        assert len(firings) == 5
        stamps = [str(f.find_element(By.TAG_NAME, "time").get_attribute("datetime")) for f in firings]
        # The server and the browser share this machine's zone: 03:00 local, a day apart.
        local = [
            time.localtime(time.mktime(time.strptime(s[:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone)
            for s in stamps
        ]
        assert all((t.tm_hour, t.tm_min) == (3, 0) for t in local), stamps
        assert all(re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$", f.text) for f in firings)

        # A payload run: the result shows as the task's result, and the history gets it.
        card = run_with(driver, "echo:payload", '{"a": 1}')
        result = wait(
            driver, lambda d: card.find_elements(By.CSS_SELECTOR, ".output pre.result"), what="echo result"
        )
        assert json.loads(result[0].text) == {"a": 1}
        assert card.find_element(By.CSS_SELECTOR, ".output .outcome").text == "success"

        # Bad JSON: an error next to the form, and nothing sent.
        before = len(sent_requests(driver))
        card = run_with(driver, "echo:payload", '{"a": 1')
        error = wait(
            driver, lambda d: card.find_elements(By.CSS_SELECTOR, ".payload-error"), what="payload error"
        )
        assert "Invalid JSON" in error[0].text
        assert card.find_element(By.TAG_NAME, "textarea").get_attribute("aria-invalid") == "true"
        time.sleep(0.3)
        assert [r for r in sent_requests(driver)[before:] if "echo" in r] == []

        # A failing task shows its error.
        card = run_with(driver, "demo:fail", "{}")
        failed = wait(
            driver,
            lambda d: card.find_elements(By.CSS_SELECTOR, ".output pre.error-text"),
            what="error shown",
        )
        assert "deliberate <b>failure</b>" in failed[0].text
        assert card.find_element(By.CSS_SELECTOR, ".output .outcome").text == "error"

        # The every-second schedule appears in the history within 3 s, output as text, not HTML.
        shown_at = time.monotonic()
        row = wait(
            driver,
            lambda d: d.find_elements(By.CSS_SELECTOR, 'tr[data-task="demo:tick"][data-trigger="schedule"]'),
            timeout=3,
            what="a scheduled run in the history within 3 s",
        )
        assert time.monotonic() - shown_at <= 3
        assert "<script>window.pwned = 1</script>" in row[0].text
        assert "schedule (* * * * * *)" in row[0].text
        assert driver.execute_script(
            "return window.pwned === undefined && document.querySelectorAll('td script, td img').length === 0"
        )

        # Filters: by task, and by outcome.
        Select(driver.find_element(By.ID, "filter-task")).select_by_value("demo:fail")
        rows = driver.find_elements(By.CSS_SELECTOR, "#runs tbody tr")
        assert rows and {r.get_attribute("data-task") for r in rows} == {"demo:fail"}
        Select(driver.find_element(By.ID, "filter-task")).select_by_value("")
        Select(driver.find_element(By.ID, "filter-outcome")).select_by_value("success")
        rows = driver.find_elements(By.CSS_SELECTOR, "#runs tbody tr")
        assert {r.get_attribute("data-outcome") for r in rows} == {"success"}
        assert {"echo:payload", "demo:tick"} <= {r.get_attribute("data-task") for r in rows}
        # Every form control is labelled.
        unlabeled = driver.execute_script(
            "return [...document.querySelectorAll('textarea, select, input')].filter(e => !e.labels || e.labels.length === 0).map(e => e.id)"
        )
        assert unlabeled == []
        driver.save_screenshot(str(tmp_path / "dev.png"))
        assert not [
            e for e in driver.get_log("browser") if e["level"] == "SEVERE" and e.get("source") != "network"
        ]


def fetch(port: int, path: str, token: str | None = None) -> tuple[int, dict[str, str], bytes]:
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}")
    if token:
        req.add_header("authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def test_dashboard_in_production_behind_the_token(tmp_path: Path, start_server) -> None:
    root = project(tmp_path)
    assert build_project(root).returncode == 0
    port = free_port()
    server = start_server(NODE_BUNDLE, root, env={"NITRO_TASKS_TOKEN": TOKEN, "TZ": "Asia/Tokyo"}, port=port)
    # Headers of the page and its files: CSP without inline script, nosniff, no framing.
    for path in ("/_nitro/ui", "/_nitro/ui/dashboard.mjs", "/_nitro/ui/dashboard.css"):
        status, headers, body = fetch(port, path)
        assert status == 200, path
        csp = headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
        assert headers["x-content-type-options"] == "nosniff"
    page = fetch(port, "/_nitro/ui")[2].decode()
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page), "inline script in the page"
    assert not re.search(r"\son[a-z]+=", page), "inline event handler in the page"
    # Without the token every data call answers 401.
    for path in ("/_nitro/tasks", "/_nitro/tasks/runs", "/_nitro/tasks/echo:payload", "/_nitro/ui/schedules"):
        assert fetch(port, path)[0] == 401, path
        assert fetch(port, path, "wrong")[0] == 401, path
    with browser(tmp_path, "prod") as driver:
        driver.get(f"http://127.0.0.1:{port}/_nitro/ui")
        wait(driver, lambda d: d.find_element(By.ID, "login").is_displayed(), what="token prompt")
        assert not driver.find_element(By.ID, "app").is_displayed()
        assert driver.find_elements(By.CSS_SELECTOR, "article.task") == []
        # A wrong token is refused and not kept.
        driver.find_element(By.ID, "token").send_keys("wrong", Keys.ENTER)
        wait(driver, lambda d: "refused" in d.find_element(By.ID, "login-error").text, what="refusal")
        assert driver.execute_script("return sessionStorage.getItem('nitro-tasks-token')") is None
        driver.find_element(By.ID, "token").send_keys(TOKEN, Keys.ENTER)
        wait(
            driver,
            lambda d: len(d.find_elements(By.CSS_SELECTOR, "article.task")) == 5,
            what="tasks after the token",
        )
        assert TOKEN not in driver.current_url
        assert driver.execute_script("return sessionStorage.getItem('nitro-tasks-token')") == TOKEN
        # The server fires in its own zone (Tokyo, UTC+9): 03:00 there is 18:00 UTC the day before.
        daily = driver.find_element(By.CSS_SELECTOR, 'article.schedule[data-cron="0 3 * * *"]')
        firings = daily.find_elements(By.CSS_SELECTOR, "ol.firings li")
        assert len(firings) == 5 and all(f.text.endswith("18:00:00 UTC") for f in firings), [
            f.text for f in firings
        ]
        assert "fire in Asia/Tokyo" in driver.find_element(By.ID, "zone-note").text
        # Production names no source files.
        assert "Source:" not in task_card(driver, "echo:payload").text
        card = run_with(driver, "echo:payload", '{"a": 1}')
        result = wait(
            driver, lambda d: card.find_elements(By.CSS_SELECTOR, ".output pre.result"), what="echo result"
        )
        assert json.loads(result[0].text) == {"a": 1}
        wait(
            driver,
            lambda d: d.find_elements(By.CSS_SELECTOR, 'tr[data-task="demo:tick"]'),
            timeout=3,
            what="scheduled run",
        )
        driver.save_screenshot(str(tmp_path / "prod.png"))
        # Every request the page made carried no token in its URL.
        urls = driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
        assert urls and all(TOKEN not in u for u in urls + [driver.current_url])
    assert "Listening" in server.output
