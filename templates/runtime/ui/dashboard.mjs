// The dashboard's script (served as /_nitro/ui/dashboard.mjs, no build step). Everything a task
// returns is put in the page as text (textContent), never parsed as HTML. The production token
// lives in sessionStorage and travels only in the Authorization header. Next firings come from
// the server (/_nitro/ui/schedules, computed by the runtime's own cron.mjs), so the page carries no
// cron code.

const TOKEN_KEY = "nitro-tasks-token";
const POLL_MS = 1000;
const $ = (id) => document.getElementById(id);
let history = [];
let pollTimer = null;
let scheduleData = null;

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "text") node.textContent = value;
    else if (key in node && !key.includes("-")) node[key] = value;
    else node.setAttribute(key, value);
  }
  node.append(...children.filter((child) => child != null));
  return node;
}

async function api(path, init = {}) {
  const token = sessionStorage.getItem(TOKEN_KEY);
  const headers = new Headers(init.headers);
  if (token) headers.set("authorization", `Bearer ${token}`);
  const response = await fetch(path, { ...init, headers, cache: "no-store", credentials: "omit" });
  if (response.status === 401) throw Object.assign(new Error("unauthorized"), { unauthorized: true });
  return response;
}

async function readJson(response) {
  const body = await response.json();
  if (!response.ok) throw new Error(body?.message ?? `HTTP ${response.status}`);
  return body;
}

function say(text) {
  $("status").textContent = text;
}

// ---------------------------------------------------------------- start and token prompt

async function start() {
  try {
    const data = await readJson(await api("/_nitro/ui/schedules"));
    const listing = await readJson(await api("/_nitro/tasks"));
    $("login").hidden = true;
    $("app").hidden = false;
    renderTasks(listing.tasks, data.files ?? {});
    scheduleData = data;
    renderSchedules(data);
    history = Object.values(listing.tasks).flatMap((task) => task.runs ?? []);
    renderFilters(Object.keys(listing.tasks));
    renderRuns();
    say(`${Object.keys(listing.tasks).length} tasks. History refreshes every second.`);
    poll();
  } catch (error) {
    if (error.unauthorized) return askToken();
    say(`Could not load the tasks: ${error.message}`);
  }
}

function askToken(wrong = false) {
  $("app").hidden = true;
  $("login").hidden = false;
  $("login-error").textContent = wrong ? "That token was refused." : "";
  say("A token is required.");
  $("token").focus();
}

$("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  sessionStorage.setItem(TOKEN_KEY, $("token").value.trim());
  $("token").value = "";
  try {
    await readJson(await api("/_nitro/ui/schedules"));
    start();
  } catch (error) {
    sessionStorage.removeItem(TOKEN_KEY);
    if (error.unauthorized) askToken(true);
    else $("login-error").textContent = error.message;
  }
});

// ---------------------------------------------------------------- tasks and run forms

function renderTasks(tasks, files) {
  const list = $("tasks");
  list.replaceChildren();
  for (const [name, task] of Object.entries(tasks).sort(([a], [b]) => a.localeCompare(b))) {
    list.append(taskCard(name, task, files[name]));
  }
}

function taskCard(name, task, file) {
  const id = `task-${name.replace(/[^A-Za-z0-9_-]/g, "_")}`;
  const payload = el("textarea", { id: `${id}-payload`, name: "payload", spellcheck: false, "aria-describedby": `${id}-hint` });
  payload.value = "{}";
  const hint = el("p", { id: `${id}-hint`, className: "muted", text: "A JSON object, e.g. {\"key\": \"value\"}." });
  const output = el("div", { className: "output", "aria-live": "polite", "data-task": name });
  const button = el("button", { type: "submit", text: `Run ${name}` });
  const form = el("form", { "data-task": name },
    el("label", { htmlFor: payload.id, text: `Payload for ${name}` }), payload, hint, button, output);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    runFromForm(name, payload, button, output);
  });
  return el("article", { className: "task", id, "data-task": name },
    el("h3", { text: name }),
    el("p", { text: task.description || "(no description)", className: task.description ? "" : "muted" }),
    file ? el("p", { className: "muted mono", text: `Source: ${file}` }) : null,
    form);
}

/** The payload as an object, or an error message: nothing is sent until it is valid. */
function parsePayload(text) {
  if (text.trim() === "") return { payload: {} };
  let value;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { error: `Invalid JSON: ${error.message}` };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return { error: "The payload must be a JSON object." };
  return { payload: value };
}

async function runFromForm(name, textarea, button, output) {
  const parsed = parsePayload(textarea.value);
  if (parsed.error) {
    textarea.setAttribute("aria-invalid", "true");
    output.replaceChildren(el("p", { className: "error payload-error", role: "alert", text: parsed.error }));
    textarea.focus();
    return;
  }
  textarea.removeAttribute("aria-invalid");
  button.disabled = true;
  output.replaceChildren(el("p", { className: "muted", text: "Running…" }));
  const started = performance.now();
  try {
    const response = await api(`/_nitro/tasks/${encodeURIComponent(name)}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ payload: parsed.payload }),
    });
    const duration = Math.round(performance.now() - started);
    const text = await response.text();
    const type = response.headers.get("content-type") ?? "";
    const value = type.includes("json") && text ? JSON.parse(text) : text || null;
    if (!response.ok) showOutcome(output, "error", duration, value?.message ?? text);
    else showOutcome(output, "success", duration, shown(value));
  } catch (error) {
    if (error.unauthorized) return askToken(true);
    showOutcome(output, "error", Math.round(performance.now() - started), error.message);
  } finally {
    button.disabled = false;
  }
  refreshRuns();
}

/** Nitro tasks return `{ result }`: show the result itself. */
const shown = (value) => (value && typeof value === "object" && Object.hasOwn(value, "result") ? value.result : value);

function showOutcome(output, outcome, duration, value) {
  const text = outcome === "error" ? String(value) : JSON.stringify(value, null, 2);
  output.replaceChildren(
    el("p", {}, el("span", { className: `${outcome} outcome`, text: outcome }), ` in ${duration} ms`),
    el("pre", { className: outcome === "error" ? "error-text" : "result", text: text ?? "null" }),
  );
}

// ---------------------------------------------------------------- schedules

function renderSchedules(data) {
  const box = $("schedules");
  box.replaceChildren();
  const local = Intl.DateTimeFormat().resolvedOptions().timeZone;
  // Where the deployment fires: a schedule's own zone (CRON_TZ=, scheduler.timezone), else UTC on
  // Cloudflare and Vercel, else the server's zone; the server computes the firings there.
  const zone = data.utc ? "UTC" : data.timeZone;
  $("zone-note").textContent = `Schedules without their own zone fire in ${zone}. Times are shown in your time zone (${local}) and in UTC.`;
  if (data.schedules.length === 0) box.append(el("p", { className: "muted", text: "No scheduled tasks." }));
  for (const schedule of data.schedules) box.append(scheduleCard(schedule));
}

function scheduleCard(schedule) {
  const firings = el("ol", { className: "firings" });
  for (const at of schedule.firings) {
    firings.append(el("li", {},
      el("time", { dateTime: new Date(at).toISOString(), text: localTime(at) }), " — ",
      el("span", { className: "mono", text: utcTime(at) })));
  }
  if (firings.children.length === 0) firings.append(el("li", { text: "Never fires again." }));
  const own = schedule.timeZone ? ` (in ${schedule.timeZone})` : "";
  return el("article", { className: "schedule", "data-cron": schedule.cron },
    el("h3", { text: schedule.cron + own }),
    el("p", { text: `Runs: ${schedule.tasks.join(", ")}` }),
    el("p", { className: "muted", text: "Next firings (your time — UTC):" }),
    firings);
}

/** Fetches the schedules again once a shown firing has passed (its list moves on). */
async function refreshSchedules() {
  const passed = scheduleData.schedules.some((schedule) => schedule.firings[0] <= Date.now());
  if (!passed) return;
  try {
    scheduleData = await readJson(await api("/_nitro/ui/schedules"));
    renderSchedules(scheduleData);
  } catch (error) {
    if (error.unauthorized) return askToken(true);
  }
}

const localTime = (ms) => new Date(ms).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" });
const utcTime = (ms) => `${new Date(ms).toISOString().slice(0, 19).replace("T", " ")} UTC`;

// ---------------------------------------------------------------- run history

function renderFilters(names) {
  const select = $("filter-task");
  for (const name of names.sort()) select.append(el("option", { value: name, text: name }));
  select.addEventListener("change", renderRuns);
  $("filter-outcome").addEventListener("change", renderRuns);
}

function renderRuns() {
  const task = $("filter-task").value;
  const outcome = $("filter-outcome").value;
  const rows = history
    .filter((run) => (!task || run.task === task) && (!outcome || run.outcome === outcome))
    .sort((a, b) => b.startedAt.localeCompare(a.startedAt))
    .map(runRow);
  const body = $("runs").tBodies[0];
  body.replaceChildren(...rows);
  if (rows.length === 0) body.append(el("tr", {}, el("td", { colSpan: 6, className: "muted", text: "No runs yet." })));
}

function runRow(run) {
  const trigger = run.trigger === "schedule" && run.cron ? `schedule (${run.cron})` : run.trigger;
  const detail = run.outcome === "error"
    ? [run.error?.message ?? "", run.error?.stack ?? ""].filter(Boolean).join("\n")
    : JSON.stringify(shown(run.result), null, 2) + (run.truncated ? "\n… (truncated)" : "");
  return el("tr", { "data-task": run.task, "data-outcome": run.outcome, "data-trigger": run.trigger },
    el("td", {}, el("time", { dateTime: run.startedAt, text: localTime(Date.parse(run.startedAt)) })),
    el("td", { className: "mono", text: run.task }),
    el("td", { text: trigger }),
    el("td", { text: `${run.duration} ms` }),
    el("td", {}, el("span", { className: run.outcome, text: run.outcome })),
    el("td", {}, el("pre", { text: detail })));
}

async function refreshRuns() {
  try {
    const { runs } = await readJson(await api("/_nitro/tasks/runs"));
    const next = Object.values(runs).flat();
    const known = new Set(history.map((run) => run.id));
    const fresh = next.filter((run) => !known.has(run.id));
    history = next;
    if (fresh.length > 0) {
      renderRuns();
      const last = fresh[0];
      say(`${last.task} finished: ${last.outcome} in ${last.duration} ms (${last.trigger}).`);
    }
  } catch (error) {
    if (error.unauthorized) return askToken(true);
  }
}

function poll() {
  clearInterval(pollTimer);
  pollTimer = setInterval(() => {
    refreshRuns();
    refreshSchedules(); // next firings move on as time passes (no focusable content)
  }, POLL_MS);
}

start();
