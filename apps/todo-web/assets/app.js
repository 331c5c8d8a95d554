// Behaviour of the todo-web UI: talks to /api/tasks (proxied to todo-api) and renders the list.
// User text is only ever set through textContent, never parsed as HTML, so task titles cannot inject markup.
"use strict";

const state = { filter: "all", tasks: [] };
const $ = (id) => document.getElementById(id);

async function api(method, path, body) {
  const init = { method, headers: { Accept: "application/json" } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const res = await fetch(path, init);
  if (res.status === 204) return null;
  let data = null;
  try {
    data = await res.json();
  } catch (_) {
    // Non-JSON answers (e.g. from a proxy in front of us) fall through to the status text below.
  }
  if (!res.ok) {
    throw new Error(data && data.error ? data.error : `${res.status} ${res.statusText}`);
  }
  return data;
}

function showError(err) {
  const box = $("error");
  box.textContent = err ? String(err.message || err) : "";
  box.hidden = !err;
}

async function load() {
  const query = state.filter === "all" ? "" : `?status=${state.filter}`;
  try {
    state.tasks = await api("GET", `/api/tasks${query}`);
    showError(null);
  } catch (err) {
    showError(err);
  }
  render();
}

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

function renderTask(task) {
  const li = el("li", `task ${task.status}`);
  li.dataset.id = task.id;

  const check = el("button", "check");
  check.type = "button";
  check.title = task.status === "done" ? "Done" : "Mark as done";
  check.setAttribute("aria-label", `${check.title}: ${task.title}`);
  check.disabled = task.status === "done";
  check.addEventListener("click", () => act(() => api("POST", `/api/tasks/${task.id}/complete`)));

  const body = el("div");
  body.append(el("div", "task-title", task.title));
  if (task.description) body.append(el("div", "task-desc", task.description));
  const meta = el("div", "meta");
  meta.append(el("span", `pill ${task.priority}`, task.priority));
  if (task.due_date) {
    const overdue = task.status === "open" && task.due_date < today();
    meta.append(el("span", overdue ? "overdue" : "", `${overdue ? "Overdue" : "Due"} ${task.due_date}`));
  }
  body.append(meta);

  const del = el("button", "delete", "×");
  del.type = "button";
  del.title = "Delete";
  del.setAttribute("aria-label", `Delete: ${task.title}`);
  del.addEventListener("click", () => act(() => api("DELETE", `/api/tasks/${task.id}`)));

  li.append(check, body, del);
  return li;
}

function render() {
  const list = $("list");
  list.replaceChildren(...sorted(state.tasks).map(renderTask));
  $("empty").hidden = state.tasks.length > 0;
  const open = state.tasks.filter((t) => t.status === "open").length;
  const label = { all: "", open: " open", done: " done" }[state.filter];
  $("summary").textContent =
    state.filter === "all" ? `${open} open of ${state.tasks.length}` : `${state.tasks.length}${label}`;
  for (const b of document.querySelectorAll("[data-filter]")) {
    b.setAttribute("aria-pressed", String(b.dataset.filter === state.filter));
  }
}

// Runs a change, then reloads the list; errors are shown, not thrown.
async function act(change) {
  try {
    await change();
    await load();
  } catch (err) {
    showError(err);
  }
}

function init() {
  $("add").addEventListener("submit", (event) => {
    event.preventDefault();
    const title = $("title").value.trim();
    if (!title) return;
    const task = { title, priority: $("priority").value };
    const description = $("description").value.trim();
    if (description) task.description = description;
    if ($("due").value) task.due_date = $("due").value;
    act(async () => {
      await api("POST", "/api/tasks", task);
      $("add").reset();
      $("title").focus();
    });
  });
  for (const b of document.querySelectorAll("[data-filter]")) {
    b.addEventListener("click", () => {
      state.filter = b.dataset.filter;
      load();
    });
  }
  load();
}

// The script is deferred, so the DOM is normally parsed already; otherwise wait for it.
if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", init);
} else {
  init();
}
