// Behaviour of the todo-web UI: talks to /api/tasks (proxied to todo-api) and renders the list.
// User text is only ever set through textContent, never parsed as HTML, so task titles cannot inject markup.
// When the server cannot be reached the page keeps the last list it loaded, says what happened, and retries with
// backoff until the server answers again; a request in flight disables the control that sent it.
"use strict";

const TITLE_MAX = 200; // todo-api's limit (apps/todo-api/src/task.rs), in characters
const COUNTER_FROM = 150; // the counter appears when the limit comes near
const RETRY_MAX_MS = 15000;
const UNDO_MS = 10000;

const state = {
  filter: "all", // the filter of the list on screen
  wanted: "all", // the filter the user chose (differs from `filter` while it cannot be loaded)
  tasks: null, // the last list loaded; null until the first load succeeds
  loadedAt: null,
  seq: 0, // ignores answers to loads that a newer load superseded
  adding: false,
  busy: new Set(), // ids of tasks with a request in flight
  editing: null, // id of the task being edited
  focusAfter: null, // what to focus after the next render: { id, kind } or { index, kind }
  problem: null, // { what, err } shown in #error while the server cannot be reached
  retry: { attempt: 0, at: 0, timer: null, tick: null },
  notice: { timer: null },
};
const $ = (id) => document.getElementById(id);
const LABELS = { all: "All", open: "Open", done: "Done" };

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
  // Worth retrying: no answer at all, or the proxy/API saying a dependency is down or slow.
  get transient() {
    return this.status === 0 || this.status >= 502;
  }
}

async function api(method, path, body) {
  const init = { method, headers: { Accept: "application/json" } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (_) {
    throw new ApiError(0, "no answer from the server");
  }
  if (res.status === 204) return null;
  let data = null;
  try {
    data = await res.json();
  } catch (_) {
    // Non-JSON answers (e.g. from a proxy in front of us) fall through to the status text below.
  }
  if (!res.ok) {
    throw new ApiError(res.status, data && data.error ? data.error : `${res.status} ${res.statusText}`);
  }
  return data;
}

// A sentence for the user, keeping the server's own words in parentheses for whoever debugs it.
function describe(err) {
  if (!(err instanceof ApiError)) return String(err && err.message ? err.message : err);
  if (err.status === 0) return "The server cannot be reached (no answer).";
  if (/database/i.test(err.message)) return `The database is unavailable right now (${err.message}).`;
  if (err.transient) return `The task service is unavailable right now (${err.message}).`;
  return `${err.message[0].toUpperCase()}${err.message.slice(1)}.`;
}

// ------------------------------------------------------------------ messages

function clock(d) {
  return d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

function renderProblem() {
  const box = $("error");
  const p = state.problem;
  box.hidden = !p;
  if (!p) return;
  const kept = state.tasks
    ? `Showing your tasks as last loaded at ${clock(state.loadedAt)}.`
    : "Your tasks could not be loaded yet.";
  let retry = "";
  if (p.err.transient && state.retry.at) {
    const s = Math.max(0, Math.ceil((state.retry.at - Date.now()) / 1000));
    retry = s > 0 ? ` Retrying in ${s} s.` : " Retrying now…";
  }
  $("error-text").textContent = `${p.what}: ${describe(p.err)} ${kept}${retry}`;
  $("retry").hidden = !p.err.transient;
}

// Shows a server problem; transient ones start the retry loop, which ends when a load succeeds.
function problem(what, err) {
  state.problem = { what, err };
  if (err.transient) scheduleRetry();
  renderProblem();
}

function scheduleRetry() {
  const r = state.retry;
  if (r.timer) return;
  r.attempt += 1;
  const delay = Math.min(1000 * 2 ** (r.attempt - 1), RETRY_MAX_MS);
  r.at = Date.now() + delay;
  r.timer = setTimeout(() => {
    r.timer = null;
    load();
  }, delay);
  if (!r.tick) r.tick = setInterval(renderProblem, 1000);
}

function recovered() {
  const r = state.retry;
  const wasDown = state.problem && state.problem.err.transient;
  clearTimeout(r.timer);
  clearInterval(r.tick);
  Object.assign(r, { attempt: 0, at: 0, timer: null, tick: null });
  state.problem = null;
  renderProblem();
  if (wasDown) notify("Connected again.");
}

// A short confirmation (role=status), optionally with one action button (Undo, Show all).
function notify(text, action) {
  const box = $("notice");
  const btn = $("notice-action");
  clearTimeout(state.notice.timer);
  $("notice-text").textContent = text;
  btn.hidden = !action;
  btn.onclick = null;
  if (action) {
    btn.textContent = action.label;
    btn.onclick = () => {
      box.hidden = true;
      action.run();
    };
  }
  box.hidden = false;
  state.notice.timer = setTimeout(() => (box.hidden = true), action ? UNDO_MS : 5000);
}

// ------------------------------------------------------------------ loading

async function load() {
  const seq = ++state.seq;
  const want = state.wanted;
  const query = want === "all" ? "" : `?status=${want}`;
  try {
    const tasks = await api("GET", `/api/tasks${query}`);
    if (seq !== state.seq) return;
    state.tasks = tasks;
    state.filter = want;
    state.loadedAt = new Date();
    recovered();
  } catch (err) {
    if (seq !== state.seq) return;
    const first = want === state.filter || !state.tasks ? "Could not load your tasks" : `Could not show ${LABELS[want]}`;
    // A retry that fails again keeps the message about what the user was doing (e.g. adding a task).
    const what = state.problem && state.problem.err.transient ? state.problem.what : first;
    // Keep the list on screen and its filter pressed: never a list that does not match its filter.
    state.wanted = state.filter;
    state.retryWanted = want;
    problem(what, err);
  }
  render();
}

// ------------------------------------------------------------------ rendering

function today() {
  const d = new Date();
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

// Open before done; then by due date (undated last); then newest first.
function sorted(tasks) {
  return [...tasks].sort((a, b) => {
    if (a.status !== b.status) return a.status === "open" ? -1 : 1;
    if (a.due_date !== b.due_date) {
      if (!a.due_date) return 1;
      if (!b.due_date) return -1;
      return a.due_date < b.due_date ? -1 : 1;
    }
    return b.id - a.id;
  });
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function button(className, text, label, onClick) {
  const b = el("button", className, text);
  b.type = "button";
  if (label) b.setAttribute("aria-label", label);
  b.addEventListener("click", onClick);
  return b;
}

function renderTask(task) {
  const li = el("li", `task ${task.status}`);
  li.dataset.id = task.id;
  if (state.editing === task.id) {
    li.append(editForm(task));
    return li;
  }
  const busy = state.busy.has(task.id);
  const done = task.status === "done";
  const check = button("check", "", `${done ? "Reopen" : "Mark as done"}: ${task.title}`, () =>
    done ? reopen(task) : complete(task),
  );
  check.title = done ? "Reopen" : "Mark as done";
  check.dataset.kind = "check";

  const body = el("div", "task-body");
  body.append(el("div", "task-title", task.title));
  if (task.description) body.append(el("div", "task-desc", task.description));
  const meta = el("div", "meta");
  meta.append(el("span", `pill ${task.priority}`, task.priority));
  if (task.due_date) {
    const overdue = !done && task.due_date < today();
    meta.append(el("span", overdue ? "due overdue" : "due", `${overdue ? "Overdue" : "Due"} ${task.due_date}`));
  }
  body.append(meta);

  const edit = button("edit", "Edit", `Edit: ${task.title}`, () => startEdit(task));
  edit.dataset.kind = "edit";
  const del = button("delete", "×", `Delete: ${task.title}`, () => remove(task));
  del.title = "Delete";
  del.dataset.kind = "delete";
  for (const b of [check, edit, del]) b.disabled = busy;
  const actions = el("div", "actions");
  actions.append(edit, del);
  li.append(check, body, actions);
  return li;
}

function render() {
  const list = $("list");
  const shown = state.tasks || [];
  // An open edit form survives re-renders (a background retry, another row's action) with what was typed.
  const editing = state.editing !== null && list.querySelector(`li[data-id="${state.editing}"]`);
  list.replaceChildren(
    ...sorted(shown).map((t) => (editing && t.id === state.editing && editing.querySelector("form") ? editing : renderTask(t))),
  );
  const empty = $("empty");
  empty.hidden = shown.length > 0;
  empty.textContent = !state.tasks
    ? state.problem
      ? "Your tasks could not be loaded yet."
      : "Loading…"
    : state.filter === "all"
      ? "No tasks yet. Add one above."
      : `No ${state.filter} tasks.`;
  const open = shown.filter((t) => t.status === "open").length;
  $("summary").textContent = !state.tasks
    ? ""
    : state.filter === "all"
      ? `${open} open of ${shown.length}`
      : `${shown.length} ${state.filter}`;
  for (const b of document.querySelectorAll("[data-filter]")) {
    b.setAttribute("aria-pressed", String(b.dataset.filter === state.filter));
  }
  restoreFocus();
}

// After a row action the row is rebuilt (or gone): put focus back where the user was, never on <body>.
function restoreFocus() {
  const f = state.focusAfter;
  if (!f) return;
  const rows = [...$("list").children];
  let row = f.id !== undefined ? rows.find((r) => r.dataset.id === String(f.id)) : null;
  if (!row && f.index !== undefined && rows.length) row = rows[Math.min(f.index, rows.length - 1)];
  const target = row && (row.querySelector(`[data-kind="${f.kind}"]`) || row.querySelector("button, input"));
  // Still waiting for the answer (the row's buttons are disabled): the render after it places the focus.
  if (target && target.disabled) return;
  state.focusAfter = null;
  (target || $("title")).focus();
}

function rowIndex(id) {
  return [...$("list").children].findIndex((r) => r.dataset.id === String(id));
}

// ------------------------------------------------------------------ row actions

// Runs one request for a task: its buttons are disabled meanwhile; the list is reloaded afterwards.
async function act(task, what, request, after) {
  if (state.busy.has(task.id)) return;
  state.busy.add(task.id);
  render();
  try {
    const result = await request();
    state.busy.delete(task.id);
    if (after) after(result);
  } catch (err) {
    state.busy.delete(task.id);
    problem(`${what} “${task.title}” did not work`, err);
    // While the server is unreachable the retry loop reloads; a reload now would only replace the message.
    if (err.transient) return render();
  }
  await load();
}

function complete(task) {
  state.focusAfter = { id: task.id, kind: "check", index: rowIndex(task.id) };
  return act(task, "Marking", () => api("POST", `/api/tasks/${task.id}/complete`));
}

function reopen(task) {
  state.focusAfter = { id: task.id, kind: "check", index: rowIndex(task.id) };
  return act(task, "Reopening", () => api("PATCH", `/api/tasks/${task.id}`, { status: "open" }));
}

function remove(task) {
  const index = rowIndex(task.id);
  state.focusAfter = { index, kind: "delete" };
  return act(
    task,
    "Deleting",
    () => api("DELETE", `/api/tasks/${task.id}`),
    () => notify(`Deleted “${task.title}”.`, { label: "Undo", run: () => undo(task) }),
  );
}

// Undo re-creates the task with the same fields (and marks it done again if it was); it gets a new id.
async function undo(task) {
  try {
    const copy = { title: task.title, priority: task.priority };
    if (task.description) copy.description = task.description;
    if (task.due_date) copy.due_date = task.due_date;
    const again = await api("POST", "/api/tasks", copy);
    if (task.status === "done") await api("POST", `/api/tasks/${again.id}/complete`);
    state.focusAfter = { id: again.id, kind: "check" };
    notify(`Restored “${task.title}”.`);
  } catch (err) {
    problem(`Restoring “${task.title}” did not work`, err);
  }
  await load();
}

// ------------------------------------------------------------------ editing

function startEdit(task) {
  state.editing = task.id;
  render();
  const input = document.querySelector(`#list li[data-id="${task.id}"] .edit-title`);
  if (input) input.focus();
}

function stopEdit(task) {
  state.editing = null;
  state.focusAfter = { id: task.id, kind: "edit" };
  render();
}

function field(tag, className, label, value) {
  const wrap = el("label", "edit-field");
  wrap.append(el("span", "edit-label", label));
  const input = el(tag, className);
  if (value !== undefined && value !== null) input.value = value;
  wrap.append(input);
  return [wrap, input];
}

function editForm(task) {
  const form = el("form", "edit-form");
  form.noValidate = true;
  const [titleWrap, title] = field("input", "edit-title", "Title", task.title);
  title.type = "text";
  const [notesWrap, notes] = field("textarea", "edit-description", "Notes", task.description);
  notes.rows = 2;
  notes.maxLength = 2000;
  const [dueWrap, due] = field("input", "edit-due", "Due", null);
  due.type = "date";
  due.value = task.due_date || "";
  const [prioWrap, prio] = field("select", "edit-priority", "Priority", null);
  for (const p of ["low", "medium", "high"]) {
    const o = el("option", "", p[0].toUpperCase() + p.slice(1));
    o.value = p;
    prio.append(o);
  }
  prio.value = task.priority;
  const msg = el("p", "field-error");
  msg.hidden = true;
  const row = el("div", "edit-row");
  const save = el("button", "primary", "Save");
  save.type = "submit";
  const cancel = button("", "Cancel", null, () => stopEdit(task));
  row.append(dueWrap, prioWrap, save, cancel);
  form.append(titleWrap, msg, notesWrap, row);

  form.addEventListener("keydown", (e) => {
    if (e.key === "Escape") {
      e.preventDefault();
      stopEdit(task);
    }
  });
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const why = titleProblem(title.value);
    msg.hidden = !why;
    msg.textContent = why || "";
    title.setAttribute("aria-invalid", String(Boolean(why)));
    if (why) {
      title.focus();
      return;
    }
    if (save.disabled) return;
    save.disabled = true;
    try {
      await api("PATCH", `/api/tasks/${task.id}`, {
        title: title.value.trim(),
        description: notes.value.trim() ? notes.value : null,
        due_date: due.value || null,
        priority: prio.value,
      });
      state.editing = null;
      state.focusAfter = { id: task.id, kind: "edit" };
      notify(`Saved “${title.value.trim()}”.`);
      await load();
    } catch (err) {
      save.disabled = false;
      problem(`Saving “${task.title}” did not work`, err);
    }
  });
  return form;
}

// ------------------------------------------------------------------ adding

function length(text) {
  return [...text].length; // characters as the API counts them, not UTF-16 units
}

function titleProblem(value) {
  const t = value.trim();
  if (!t) return "Enter a title — it cannot be empty or only spaces.";
  const n = length(t);
  if (n > TITLE_MAX) return `The title is ${n} characters; the limit is ${TITLE_MAX}. Shorten it by ${n - TITLE_MAX}.`;
  return null;
}

function showTitleProblem(why) {
  const box = $("title-error");
  box.hidden = !why;
  box.textContent = why || "";
  $("title").setAttribute("aria-invalid", String(Boolean(why)));
}

function updateCounter() {
  const n = length($("title").value.trim());
  const counter = $("title-count");
  counter.textContent = n >= COUNTER_FROM ? `${n}/${TITLE_MAX}` : "";
  counter.classList.toggle("over", n > TITLE_MAX);
  // Clear a message once the title is fixed; a new one appears only when Add is pressed.
  if (!$("title-error").hidden && !titleProblem($("title").value)) showTitleProblem(null);
  if (n > TITLE_MAX) showTitleProblem(titleProblem($("title").value));
}

async function add(event) {
  event.preventDefault();
  if (state.adding) return;
  const why = titleProblem($("title").value);
  showTitleProblem(why);
  if (why) {
    $("title").focus();
    return;
  }
  const task = { title: $("title").value.trim(), priority: $("priority").value };
  const description = $("description").value.trim();
  if (description) task.description = $("description").value;
  if ($("due").value) task.due_date = $("due").value;
  state.adding = true;
  const btn = $("add-button");
  btn.disabled = true;
  btn.setAttribute("aria-busy", "true");
  try {
    const created = await api("POST", "/api/tasks", task);
    $("add").reset();
    updateCounter();
    markDueEmpty();
    if (state.filter === "done") {
      notify(`Added “${created.title}”. It is open, so it is not shown under Done.`, {
        label: "Show all",
        run: () => setFilter("all"),
      });
    } else {
      notify(`Added “${created.title}”.`);
    }
    await load();
  } catch (err) {
    // The typed task stays in the form, so trying again is one click.
    problem(`Adding “${task.title}” did not work`, err);
  } finally {
    state.adding = false;
    btn.disabled = false;
    btn.removeAttribute("aria-busy");
    $("title").focus();
  }
}

// The empty date field shows a placeholder (mm/dd/yyyy): muted while empty, text colour once a date is set.
function markDueEmpty() {
  $("due").classList.toggle("empty", !$("due").value);
}

function setFilter(filter) {
  state.wanted = filter;
  load();
}

function init() {
  $("add").addEventListener("submit", add);
  $("title").addEventListener("input", updateCounter);
  $("due").addEventListener("input", markDueEmpty);
  $("due").addEventListener("change", markDueEmpty);
  markDueEmpty();
  $("retry").addEventListener("click", () => {
    clearTimeout(state.retry.timer);
    state.retry.timer = null;
    if (state.retryWanted) state.wanted = state.retryWanted;
    load();
  });
  for (const b of document.querySelectorAll("[data-filter]")) {
    b.addEventListener("click", () => setFilter(b.dataset.filter));
  }
  render();
  load();
}

// The script is deferred, so the DOM is normally parsed already; otherwise wait for it.
if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", init);
} else {
  init();
}
