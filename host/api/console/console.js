// The Hops console: a small page app over the host's JSON API (/api/openapi.json describes
// it). No build step and no dependencies: the host serves this file as it is. Everything the
// API returns is put on the page as text (never as HTML), so run data cannot inject markup.
"use strict";

(() => {
  const TOKEN_KEY = "hops.token";
  const main = document.getElementById("main");
  const announcer = document.getElementById("announce");
  /** Aborted on every navigation: stops the live stream and polls of the page left. */
  let pageLife = new AbortController();
  let firstRender = true;

  // ---- DOM helpers -------------------------------------------------------------------------

  /** Builds an element: `attrs` keys are attributes, `on<event>` listeners, `text` the text. */
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "text") el.textContent = String(value);
      else if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
      else if (value === true) el.setAttribute(key, "");
      else el.setAttribute(key, String(value));
    }
    for (const child of children.flat()) {
      if (child === undefined || child === null || child === false) continue;
      el.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return el;
  }

  /** `el.replaceChildren` without the `null`s (which it would print as text). */
  function fill(el, ...nodes) {
    el.replaceChildren(...nodes.flat().filter((n) => n !== null && n !== undefined && n !== false));
  }

  function render(title, ...nodes) {
    document.title = `${title} · Hops`;
    fill(main, ...nodes);
    if (!firstRender) main.focus({ preventScroll: false });
    firstRender = false;
  }

  function announce(text) {
    announcer.textContent = "";
    setTimeout(() => { announcer.textContent = text; }, 30);
  }

  function notice(text, kind) {
    return h("p", { class: `notice ${kind || ""}`, role: kind === "error" ? "alert" : "status", text });
  }

  function pretty(value) {
    return h("pre", { class: "json", tabindex: 0 }, JSON.stringify(value, null, 2));
  }

  function titleCase(name) {
    return String(name).split(/[_\-\s]+/).filter(Boolean)
      .map((w) => w[0].toUpperCase() + w.slice(1)).join(" ");
  }

  function when(iso) {
    if (!iso) return "—";
    const d = new Date(iso);
    return h("time", { datetime: iso, title: iso }, d.toLocaleString());
  }

  function duration(ms) {
    if (ms === null || ms === undefined || Number.isNaN(ms)) return "—";
    if (ms < 1000) return `${Math.round(ms)} ms`;
    const s = ms / 1000;
    if (s < 60) return `${s.toFixed(1)} s`;
    const m = Math.floor(s / 60);
    if (m < 60) return `${m} min ${Math.round(s % 60)} s`;
    return `${Math.floor(m / 60)} h ${m % 60} min`;
  }

  function span(from, to) {
    if (!from) return null;
    const end = to ? new Date(to) : new Date();
    return end - new Date(from);
  }

  function statusBadge(status) {
    return h("span", { class: `status status-${status}` }, status);
  }

  // ---- the API -----------------------------------------------------------------------------

  class AuthNeeded extends Error {}

  /** Calls the API; resolves to `{status, body}`; a 401 shows the token form instead. */
  async function api(path, options = {}) {
    const headers = { Accept: "application/json" };
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (token) headers.Authorization = `Bearer ${token}`;
    let body;
    if (options.body !== undefined) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(options.body);
    }
    const response = await fetch(path, {
      method: options.method || "GET", headers, body, signal: options.signal || pageLife.signal,
      credentials: "same-origin",
    });
    const text = await response.text();
    let parsed = null;
    try { parsed = text ? JSON.parse(text) : null; } catch { parsed = { message: text }; }
    if (response.status === 401) throw new AuthNeeded(parsed && parsed.message);
    return { status: response.status, body: parsed };
  }

  /** GETs JSON or throws with the API's message. */
  async function get(path) {
    const { status, body } = await api(path);
    if (status >= 400) throw new Error((body && body.message) || `${path}: HTTP ${status}`);
    return body;
  }

  /**
   * Follows a Server-Sent Events stream with fetch (EventSource cannot send the token).
   * Calls `onEvent(name, data)`; resolves when the stream ends.
   */
  async function follow(path, onEvent, signal) {
    const headers = { Accept: "text/event-stream" };
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (token) headers.Authorization = `Bearer ${token}`;
    const response = await fetch(path, { headers, signal, credentials: "same-origin" });
    if (response.status === 401) throw new AuthNeeded();
    if (!response.ok || !response.body) throw new Error(`${path}: HTTP ${response.status}`);
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value.replace(/\r\n/g, "\n");
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        let name = "message";
        const data = [];
        for (const line of block.split("\n")) {
          if (line.startsWith("event:")) name = line.slice(6).trim();
          else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
        }
        if (data.length || name !== "message") onEvent(name, data.join("\n"));
      }
    }
  }

  // ---- forms from params (tasks and inputs) ------------------------------------------------

  /** One form field for a param; `initial` (from the URL) beats the default. */
  function paramField(param, initial, prefix) {
    const id = `${prefix}-${param.name}`;
    const label = param.display_name || titleCase(param.name);
    const helpId = param.help ? `${id}-help` : null;
    const errorId = `${id}-error`;
    const describedBy = [helpId, errorId].filter(Boolean).join(" ");
    const start = initial !== undefined ? initial : param.default;
    let input;
    if (param.type === "bool") {
      const checked = initial !== undefined
        ? ["true", "1", "on", "yes"].includes(String(initial).toLowerCase())
        : param.default === true;
      input = h("input", { type: "checkbox", id, name: param.name, checked, "aria-describedby": describedBy });
    } else if (param.type === "text") {
      input = h("textarea", { id, name: param.name, rows: 4, "aria-describedby": describedBy, "aria-required": param.required && param.default === undefined ? "true" : null });
      input.value = start === undefined || start === null ? "" : String(start);
    } else {
      input = h("input", {
        type: "text", id, name: param.name, "aria-describedby": describedBy,
        inputmode: param.type === "number" ? "decimal" : null,
        autocomplete: "off",
        "aria-required": param.required && param.default === undefined ? "true" : null,
      });
      input.value = start === undefined || start === null ? "" : String(start);
    }
    const error = h("p", { class: "field-error", id: errorId, hidden: true });
    const required = param.required && param.default === undefined;
    const labelEl = h("label", { for: id }, label, required ? h("span", { class: "req", "aria-hidden": "true" }, " *") : null);
    const row = h("div", { class: `field field-${param.type}` },
      param.type === "bool" ? h("div", { class: "check" }, input, labelEl) : [labelEl, input],
      param.help ? h("p", { class: "help", id: helpId }, param.help) : null,
      error);

    return {
      name: param.name,
      row,
      input,
      /** The value to send, `undefined` to leave it out (the host then applies the default). */
      read() {
        if (param.type === "bool") return input.checked;
        const raw = input.value;
        if (raw.trim() === "") return undefined;
        if (param.type === "number") return Number(raw.trim());
        return raw;
      },
      /** The browser's own check: the same rules the host applies. */
      check() {
        const value = this.read();
        if (value === undefined) return required ? ["Required"] : [];
        if (param.type === "number" && !Number.isFinite(value)) return ["Should be a number"];
        return [];
      },
      showErrors(messages) {
        if (messages && messages.length) {
          error.textContent = messages.join("; ");
          error.hidden = false;
          input.setAttribute("aria-invalid", "true");
        } else {
          error.textContent = "";
          error.hidden = true;
          input.removeAttribute("aria-invalid");
        }
      },
    };
  }

  /**
   * A form for `params`; `send(values)` returns the API's `{status, body}`; a 400's field
   * errors are shown beside their fields, others above the button.
   */
  function paramsForm(params, { prefix, initial, submitLabel, send, onDone }) {
    const fields = params.map((p) => paramField(p, initial[p.name], prefix));
    const formError = h("div", { class: "form-error", role: "alert", hidden: true });
    const button = h("button", { type: "submit", class: "primary" }, submitLabel);
    const form = h("form", { class: "params", novalidate: true },
      fields.map((f) => f.row),
      params.length ? null : h("p", { class: "muted" }, "No parameters."),
      formError,
      h("div", { class: "actions" }, button));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      formError.hidden = true;
      let firstBad = null;
      const values = {};
      for (const field of fields) {
        const problems = field.check();
        field.showErrors(problems);
        if (problems.length && !firstBad) firstBad = field;
        const value = field.read();
        if (value !== undefined) values[field.name] = value;
      }
      if (firstBad) {
        firstBad.input.focus();
        announce("Some fields need attention");
        return;
      }
      button.disabled = true;
      try {
        const { status, body } = await send(values);
        if (status >= 200 && status < 300) return onDone(body);
        const errors = (body && body.errors) || {};
        const unplaced = [];
        for (const [name, messages] of Object.entries(errors)) {
          const field = fields.find((f) => f.name === name);
          if (field) field.showErrors(messages);
          else unplaced.push(`${name}: ${messages.join("; ")}`);
        }
        fill(formError, h("p", {}, (body && body.message) || `HTTP ${status}`),
          unplaced.length ? h("ul", {}, unplaced.map((u) => h("li", {}, u))) : null);
        formError.hidden = false;
        const bad = fields.find((f) => errors[f.name]);
        (bad ? bad.input : formError).focus?.();
        announce("The host refused the form; see the messages");
      } catch (err) {
        if (err instanceof AuthNeeded) return tokenPage();
        fill(formError, h("p", {}, String(err.message || err)));
        formError.hidden = false;
      } finally {
        button.disabled = false;
      }
    });
    return form;
  }

  // ---- pages -------------------------------------------------------------------------------

  async function tasksPage() {
    const tasks = await get("/api/tasks");
    const list = tasks.length
      ? h("ul", { class: "cards" }, tasks.map((t) => h("li", { class: "card" },
        h("h2", {}, h("a", { href: `/tasks/${encodeURIComponent(t.name)}` }, `${t.emoji ? t.emoji + " " : ""}${t.display_name || titleCase(t.name)}`)),
        t.summary ? h("p", {}, t.summary) : null,
        h("p", { class: "muted" }, `${t.params.length} parameter${t.params.length === 1 ? "" : "s"} · ${t.filepath}`))))
      : notice("No tasks yet. Add a `task` block to a pipeline file and it shows here.");
    render("Tasks", h("h1", {}, "Tasks"), list);
  }

  async function taskPage(name) {
    const tasks = await get("/api/tasks");
    const task = tasks.find((t) => t.name === name);
    if (!task) {
      return render("Unknown task", h("h1", {}, "Unknown task"),
        notice(`There is no task "${name}". Tasks: ${tasks.map((t) => t.name).join(", ") || "none"}.`, "error"),
        h("p", {}, h("a", { href: "/tasks" }, "All tasks")));
    }
    const initial = Object.fromEntries(new URLSearchParams(location.search));
    const form = paramsForm(task.params, {
      prefix: "param", initial, submitLabel: "Run task",
      send: (values) => api(`/api/tasks/${encodeURIComponent(name)}/runs`, { method: "POST", body: values }),
      onDone: (accepted) => navigate(`/runs/${encodeURIComponent(accepted.run_id)}`),
    });
    render(task.display_name || titleCase(name),
      h("p", { class: "crumbs" }, h("a", { href: "/tasks" }, "Tasks")),
      h("h1", {}, `${task.emoji ? task.emoji + " " : ""}${task.display_name || titleCase(name)}`),
      task.summary ? h("p", { class: "lead" }, task.summary) : null,
      task.description ? h("p", {}, task.description) : null,
      form,
      h("p", { class: "muted small" }, "Every field can be filled from the address: ",
        h("code", {}, `/tasks/${name}?${task.params.map((p) => `${p.name}=…`).join("&")}`)));
  }

  async function runsPage() {
    const query = new URLSearchParams(location.search);
    const status = query.get("status") || "";
    const task = query.get("task") || "";
    const before = query.get("before") || "";
    const [tasks, runs] = await Promise.all([
      get("/api/tasks").catch(() => []),
      get(`/api/runs?${new URLSearchParams(Object.entries({ limit: "25", status, task, before }).filter(([, v]) => v))}`),
    ]);
    const statusSelect = h("select", { id: "filter-status", name: "status" },
      ["", "running", "completed", "errored"].map((s) => h("option", { value: s, selected: s === status }, s || "any")));
    const taskSelect = h("select", { id: "filter-task", name: "task" },
      h("option", { value: "" }, "any"),
      tasks.map((t) => h("option", { value: t.name, selected: t.name === task }, t.display_name || t.name)));
    const filters = h("form", { class: "filters", action: "/runs", method: "get" },
      h("div", { class: "field" }, h("label", { for: "filter-status" }, "Status"), statusSelect),
      h("div", { class: "field" }, h("label", { for: "filter-task" }, "Task"), taskSelect),
      h("button", { type: "submit" }, "Filter"));
    filters.addEventListener("submit", (e) => {
      e.preventDefault();
      const q = new URLSearchParams();
      if (statusSelect.value) q.set("status", statusSelect.value);
      if (taskSelect.value) q.set("task", taskSelect.value);
      navigate(`/runs${q.size ? "?" + q : ""}`);
    });
    const rows = runs.map((r) => h("tr", {},
      h("td", { "data-label": "Status" }, statusBadge(r.status)),
      h("td", { "data-label": "Run" }, h("a", { href: `/runs/${encodeURIComponent(r.run_id)}` }, r.run_id)),
      h("td", { "data-label": "Pipeline" }, r.pipelines && r.pipelines.length ? r.pipelines.join(", ") : "—"),
      h("td", { "data-label": "Task / event" }, r.event === "task" && r.source === "hiphops" ? `task ${r.action}` : [r.source, r.event, r.action].filter(Boolean).join(" · ")),
      h("td", { "data-label": "Started by" }, r.started_by || "—"),
      h("td", { "data-label": "Started" }, when(r.started_at)),
      h("td", { "data-label": "Duration" }, r.finished_at ? duration(span(r.started_at, r.finished_at)) : "running")));
    const table = runs.length
      ? h("table", { class: "runs" },
        h("caption", { class: "visually-hidden" }, "Runs, newest first"),
        h("thead", {}, h("tr", {}, ["Status", "Run", "Pipeline", "Task / event", "Started by", "Started", "Duration"].map((c) => h("th", { scope: "col" }, c)))),
        h("tbody", {}, rows))
      : notice(before ? "No older runs." : "No runs match.");
    const pager = h("nav", { class: "pager", "aria-label": "Pages" },
      before ? h("a", { href: `/runs?${new URLSearchParams(Object.entries({ status, task }).filter(([, v]) => v))}` }, "← Newest") : null,
      runs.length === 25 && runs[runs.length - 1].sequence
        ? h("a", { href: `/runs?${new URLSearchParams(Object.entries({ status, task, before: String(runs[runs.length - 1].sequence) }).filter(([, v]) => v))}`, rel: "next" }, "Older →")
        : null);
    render("Runs", h("h1", {}, "Runs"), filters, table, pager);
  }

  /** Answers given on this page, by run and call: shown on the call after the redraws. */
  const answeredHere = new Map();

  function callItem(call, runId, openInputs) {
    const took = call.duration_ms ?? (call.started_at ? span(call.started_at, call.finished_at) : null);
    const facts = [
      `${call.app}.${call.handler}`,
      call.attempts && call.attempts > 1 ? `${call.attempts} attempts` : null,
      call.status === "pending" || call.status === "waiting" ? null : duration(took),
    ].filter(Boolean).join(" · ");
    const input = call.app === "input" && call.status === "waiting"
      ? openInputs.find((i) => i.run_id === runId && (i.call === call.name || i.slug === call.name)) : null;
    return h("li", { class: `call call-${call.status}`, "data-call": call.name },
      h("div", { class: "call-head" }, statusBadge(call.status), h("strong", {}, call.name), h("span", { class: "muted" }, facts)),
      call.waiting_for ? h("p", { class: "muted" }, `Waiting: ${call.waiting_for}`) : null,
      call.error ? h("p", { class: "error-text" }, call.error) : null,
      call.previous_attempts && call.previous_attempts.length
        ? h("ul", { class: "attempts" }, call.previous_attempts.map((a) => h("li", {}, a))) : null,
      input ? inputForm(input) : null,
      answeredHere.has(`${runId}/${call.name}`) ? notice(answeredHere.get(`${runId}/${call.name}`)) : null,
      h("details", {}, h("summary", {}, "Inputs"), pretty(call.inputs)),
      call.result !== null && call.result !== undefined ? h("details", {}, h("summary", {}, "Output"), pretty(call.result)) : null);
  }

  function inputForm(input) {
    const box = h("div", { class: "input-box" });
    const form = paramsForm(input.params, {
      prefix: `answer-${input.slug}`, initial: {}, submitLabel: "Answer",
      send: (values) => api(`/api/runs/${encodeURIComponent(input.run_id)}/inputs/${encodeURIComponent(input.slug)}`, { method: "POST", body: values }),
      onDone: (answered) => {
        const text = `Answered as ${answered.answered_by}; the run goes on.`;
        answeredHere.set(`${input.run_id}/${input.call}`, text);
        form.replaceWith(notice(text));
        announce("Answer sent");
        refreshBadges();
      },
    });
    box.append(h("p", { class: "prompt" }, input.prompt),
      input.deadline_at ? h("p", { class: "muted small" }, "Deadline: ", when(input.deadline_at)) : null,
      form);
    return box;
  }

  async function runPage(id) {
    const [run, inputs] = await Promise.all([get(`/api/runs/${encodeURIComponent(id)}`), get("/api/inputs").catch(() => [])]);
    const live = h("p", { class: "live", role: "status" });
    const body = h("div", { class: "run" });
    let openInputs = inputs;
    let lastInputsKey = "";
    const draw = (view) => {
      const pipelines = h("ul", { class: "pipelines" }, view.pipelines.map((p) => h("li", {}, statusBadge(p.status), " ", p.name)));
      const hops = view.event && view.event.hops ? view.event.hops : {};
      // Keep open <details> open across redraws.
      const open = new Set([...body.querySelectorAll("details[open]")].map((d) => d.dataset.key));
      fill(body, 
        h("dl", { class: "facts" },
          h("dt", {}, "Status"), h("dd", {}, statusBadge(view.status)),
          h("dt", {}, "Started"), h("dd", {}, when(view.started_at)),
          h("dt", {}, "Duration"), h("dd", {}, view.finished_at ? duration(span(view.started_at, view.finished_at)) : "running"),
          h("dt", {}, "Started by"), h("dd", {}, hops.started_by || "—"),
          h("dt", {}, "Event"), h("dd", {}, [hops.source, hops.event, hops.action].filter(Boolean).join(" · ") || "—")),
        view.error ? notice(view.error, "error") : null,
        h("h2", {}, "Pipelines"), view.pipelines.length ? pipelines : h("p", { class: "muted" }, "No pipeline matched this event."),
        h("h2", {}, "Calls"),
        view.calls.length ? h("ol", { class: "timeline" }, view.calls.map((c) => callItem(c, view.run_id, openInputs))) : h("p", { class: "muted" }, "No calls yet."),
        h("h2", {}, "Event"), h("details", { "data-key": "event", open: open.has("event") || undefined }, h("summary", {}, "Payload"), pretty(view.event)));
      body.querySelectorAll(".call details").forEach((d, i) => {
        d.dataset.key = `call-${i}`;
        if (open.has(d.dataset.key)) d.open = true;
      });
      live.textContent = view.status === "running" ? "Live: updates as the run goes on" : `Finished: ${view.status}`;
    };
    render(`Run ${id}`,
      h("p", { class: "crumbs" }, h("a", { href: "/runs" }, "Runs")),
      h("div", { class: "title-row" }, h("h1", {}, "Run ", h("code", {}, id)),
        h("a", { class: "button", href: `/runs/${encodeURIComponent(id)}/replay` }, "Replay…")),
      live, body);
    draw(run);
    const life = pageLife;
    const onEvent = async (name, data) => {
      if (name === "run") {
        const view = JSON.parse(data);
        const waiting = view.calls.filter((c) => c.app === "input" && c.status === "waiting").map((c) => c.name).join(",");
        if (waiting && waiting !== lastInputsKey) openInputs = await get("/api/inputs").catch(() => openInputs);
        lastInputsKey = waiting;
        // A form someone is typing into is not redrawn under them.
        if (body.contains(document.activeElement) && document.activeElement.closest(".input-box") && view.status === "running") return;
        draw(view);
      } else if (name === "end") {
        announce("The run finished");
        refreshBadges();
      }
    };
    (async () => {
      while (!life.signal.aborted) {
        try {
          await follow(`/api/runs/${encodeURIComponent(id)}/live`, onEvent, life.signal);
          if (!main.querySelector(".live") || /^Finished/.test(live.textContent)) return;
        } catch (err) {
          if (life.signal.aborted) return;
          if (err instanceof AuthNeeded) return tokenPage();
          live.textContent = "Connection lost; reconnecting…";
        }
        await new Promise((r) => setTimeout(r, 2000));
      }
    })();
  }

  async function replayPage(id) {
    const { status, body } = await api(`/api/runs/${encodeURIComponent(id)}/replay?dry_run=true`, { method: "POST" });
    if (status >= 400) throw new Error((body && body.message) || `HTTP ${status}`);
    const go = h("button", { type: "button", class: "primary" }, "Replay now");
    const outcome = h("div", { role: "status" });
    go.addEventListener("click", async () => {
      go.disabled = true;
      const real = await api(`/api/runs/${encodeURIComponent(id)}/replay?dry_run=false`, { method: "POST" });
      if (real.status < 300 && real.body.run_id) return navigate(`/runs/${encodeURIComponent(real.body.run_id)}`);
      fill(outcome, notice((real.body && real.body.message) || `HTTP ${real.status}`, "error"));
      go.disabled = false;
    });
    render(`Replay ${id}`,
      h("p", { class: "crumbs" }, h("a", { href: "/runs" }, "Runs"), " / ", h("a", { href: `/runs/${encodeURIComponent(id)}` }, id)),
      h("h1", {}, "Replay preview"),
      h("p", { class: "lead" }, "Nothing has run yet. With the current pipelines this run's event would start:"),
      body.pipelines.length
        ? h("ul", { class: "pipelines" }, body.pipelines.map((p) => h("li", {}, statusBadge(p.status), " ", p.name)))
        : notice("No pipeline matches this event now; a replay would do nothing.", "warn"),
      h("h2", {}, "First calls"),
      body.calls.length
        ? h("ol", { class: "timeline" }, body.calls.map((c) => h("li", { class: "call" },
          h("div", { class: "call-head" }, h("strong", {}, c.name), h("span", { class: "muted" }, `${c.app}.${c.handler} · ${c.pipeline}`)),
          h("details", { open: true }, h("summary", {}, "Inputs"), pretty(c.inputs)))))
        : h("p", { class: "muted" }, "No calls."),
      body.diagnostics.length ? [h("h2", {}, "Problems"), h("ul", {}, body.diagnostics.map((d) => h("li", { class: "error-text" }, d)))] : null,
      h("div", { class: "actions" }, go, h("a", { href: `/runs/${encodeURIComponent(id)}` }, "Cancel")),
      outcome);
  }

  async function inputsPage() {
    const inputs = await get("/api/inputs");
    render("Inputs", h("h1", {}, "Open inputs"),
      inputs.length
        ? h("ul", { class: "cards" }, inputs.map((i) => h("li", { class: "card" },
          h("h2", {}, i.call, " ", h("span", { class: "muted small" }, "in run ", h("a", { href: `/runs/${encodeURIComponent(i.run_id)}` }, i.run_id))),
          h("p", { class: "muted small" }, "Asked ", when(i.asked_at), i.pipeline ? ` · ${i.pipeline}` : ""),
          inputForm(i))))
        : notice("Nothing is waiting for an answer."));
  }

  function settingsList(settings) {
    if (!settings) return h("p", { class: "muted" }, "No version serving.");
    const row = (k, v) => [h("dt", {}, k), h("dd", {}, v)];
    return h("dl", { class: "facts small" },
      row("Hosts", settings.allowed_hosts && settings.allowed_hosts.length ? settings.allowed_hosts.join(", ") : "none"),
      row("Config", settings.config_keys && settings.config_keys.length ? settings.config_keys.join(", ") : "none"),
      row("Secrets", settings.secrets && Object.keys(settings.secrets).length ? Object.keys(settings.secrets).join(", ") : "none"),
      settings.memory_bytes ? row("Memory", `${Math.round(settings.memory_bytes / 1048576)} MiB`) : null,
      settings.timeout_ms ? row("Timeout", duration(settings.timeout_ms)) : null,
      settings.concurrency ? row("Concurrency", String(settings.concurrency)) : null,
      settings.handlers ? row("Handlers", settings.handlers.join(", ")) : null);
  }

  async function appsPage() {
    const apps = await get("/api/apps");
    render("Apps", h("h1", {}, "Apps"),
      apps.length
        ? h("ul", { class: "cards" }, apps.map((a) => {
          const state = (a.status && a.status.state) || "unknown";
          const errors = a.recent_errors || [];
          return h("li", { class: `card app app-${state}`, "data-app": a.name },
            h("h2", {}, a.name, " ", h("span", { class: `status status-${state}` }, state)),
            h("p", { class: "muted small" }, [a.world, a.version ? `version ${a.version}` : null, a.size_bytes ? `${Math.round(a.size_bytes / 1024)} KiB` : null, a.serving ? "serving" : "not serving"].filter(Boolean).join(" · ")),
            a.status && a.status.message ? h("p", { class: "error-text" }, a.status.message) : null,
            a.listener ? h("details", {}, h("summary", {}, "Listener"), pretty(a.listener)) : null,
            a.settings ? h("details", { open: true }, h("summary", {}, "Grants and limits"), settingsList(a.settings)) : null,
            Object.entries(a).filter(([k]) => !["name", "world", "status", "serving", "version", "size_bytes", "settings", "listener", "recent_errors"].includes(k)).length
              ? h("details", {}, h("summary", {}, "More"), pretty(Object.fromEntries(Object.entries(a).filter(([k]) => !["name", "status", "recent_errors"].includes(k))))) : null,
            h("h3", {}, "Recent errors"),
            errors.length
              ? h("ul", { class: "errors" }, errors.map((e) => h("li", {}, when(e.at), " ", h("a", { href: `/runs/${encodeURIComponent(e.run_id)}` }, `${e.call}`), ": ", h("span", { class: "error-text" }, e.message))))
              : h("p", { class: "muted small" }, "None on this host."));
        }))
        : notice("No apps loaded. Drop a .wasm into the plugins directory."));
  }

  async function problemsPage() {
    const problems = await get("/api/problems");
    const load = problems.pipelines;
    const diagnostics = load ? load.diagnostics : [];
    render("Problems", h("h1", {}, "Problems"),
      h("h2", {}, "Pipelines"),
      load
        ? h("p", {}, load.applied ? `Version ${load.version} is running` : `The last read (version ${load.version}) has errors; ${load.current_version ? `version ${load.current_version} keeps running` : "no version runs yet"}`,
          " · read ", when(load.loaded_at))
        : h("p", { class: "muted" }, "The pipelines have not been read yet."),
      diagnostics.length
        ? h("ul", { class: "diagnostics" }, diagnostics.map((d) => h("li", { class: `diag diag-${d.severity}` },
          h("span", { class: `status status-${d.severity === "error" ? "errored" : "warning"}` }, d.severity), " ",
          d.file ? h("code", {}, `${d.file}${d.line ? `:${d.line}` : ""}${d.column ? `:${d.column}` : ""}`) : null, " ",
          h("strong", {}, d.summary),
          d.detail ? h("p", {}, d.detail) : null,
          d.help ? h("p", { class: "muted" }, d.help) : null)))
        : notice("No pipeline problems."),
      h("h2", {}, "Apps"),
      problems.apps.length
        ? h("ul", { class: "diagnostics" }, problems.apps.map((a) => h("li", { class: "diag diag-error" },
          h("span", { class: "status status-errored" }, a.state), " ", h("strong", {}, a.name), ": ", a.message,
          a.serving ? h("p", { class: "muted" }, "An older version still serves.") : null)))
        : notice("Every app loaded."));
  }

  function tokenPage(message) {
    const input = h("input", { type: "password", id: "token", name: "token", autocomplete: "current-password", required: true });
    const form = h("form", { class: "params" },
      h("div", { class: "field" }, h("label", { for: "token" }, "API token"), input,
        h("p", { class: "help" }, "The host's HOPS_API_TOKEN. It is kept in this tab only and sent with every request.")),
      h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Use token")));
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      if (!input.value) return input.focus();
      sessionStorage.setItem(TOKEN_KEY, input.value);
      route();
    });
    const had = sessionStorage.getItem(TOKEN_KEY);
    render("Token needed", h("h1", {}, "This host needs its API token"),
      had ? notice("The token kept in this tab was refused.", "error") : null,
      message ? h("p", { class: "muted" }, message) : null, form);
    input.focus();
  }

  // ---- navigation --------------------------------------------------------------------------

  const routes = [
    [/^\/$/, tasksPage, "tasks"],
    [/^\/tasks\/?$/, tasksPage, "tasks"],
    [/^\/tasks\/([^/]+)$/, taskPage, "tasks"],
    [/^\/runs\/?$/, runsPage, "runs"],
    [/^\/runs\/([^/]+)\/replay$/, replayPage, "runs"],
    [/^\/runs\/([^/]+)$/, runPage, "runs"],
    [/^\/inputs\/?$/, inputsPage, "inputs"],
    [/^\/apps\/?$/, appsPage, "apps"],
    [/^\/problems\/?$/, problemsPage, "problems"],
  ];

  async function route() {
    pageLife.abort();
    pageLife = new AbortController();
    const path = location.pathname;
    for (const [pattern, page, nav] of routes) {
      const match = path.match(pattern);
      if (!match) continue;
      for (const a of document.querySelectorAll("[data-nav]")) {
        if (a.dataset.nav === nav) a.setAttribute("aria-current", "page");
        else a.removeAttribute("aria-current");
      }
      try {
        await page(...match.slice(1).map(decodeURIComponent));
        refreshBadges();
      } catch (err) {
        if (err instanceof AuthNeeded) return tokenPage(err.message);
        if (err.name === "AbortError") return;
        render("Error", h("h1", {}, "Something went wrong"), notice(String(err.message || err), "error"),
          h("p", {}, h("a", { href: location.pathname + location.search }, "Try again")));
      }
      return;
    }
    render("Not found", h("h1", {}, "No such page"), h("p", {}, h("a", { href: "/" }, "Tasks")));
  }

  function navigate(href) {
    history.pushState(null, "", href);
    route();
  }

  async function refreshBadges() {
    const set = (id, n) => {
      const el = document.getElementById(id);
      el.hidden = !n;
      el.textContent = n ? String(n) : "";
      el.setAttribute("aria-label", `${n} open`);
    };
    try {
      const [inputs, problems] = await Promise.all([
        api("/api/inputs", { signal: undefined }), api("/api/problems", { signal: undefined }),
      ]);
      if (inputs.status === 200) set("inputs-badge", inputs.body.length);
      if (problems.status === 200) {
        const p = problems.body;
        const count = (p.pipelines ? p.pipelines.diagnostics.filter((d) => d.severity === "error").length : 0) + p.apps.length;
        set("problems-badge", count);
      }
    } catch { /* badges are a hint; the pages say the same */ }
  }

  document.addEventListener("click", (event) => {
    const a = event.target.closest("a[href]");
    if (!a || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    const url = new URL(a.href, location.href);
    if (url.origin !== location.origin || url.pathname.startsWith("/api/") || a.target) return;
    if (url.pathname === location.pathname && url.search === location.search && url.hash) return;
    event.preventDefault();
    navigate(url.pathname + url.search);
  });
  window.addEventListener("popstate", route);
  route();
})();
