// Keeps the status page current: fetch the status JSON, rewrite each table's body in place.
// Every value goes in through textContent (never innerHTML): task names and error messages are
// user data. A failed fetch marks the "updated" time stale and tries again at the next tick.
(() => {
  "use strict";
  const root = document.getElementById("dualqueue-status");
  if (!root) return;
  const url = root.dataset.jsonUrl;
  const every = 1000 * Number(root.dataset.refreshSeconds || 2);
  const $ = (id) => document.getElementById(id);

  function td(text, cls) {
    const cell = document.createElement("td");
    cell.textContent = text === null || text === undefined ? "–" : String(text);
    if (cls) cell.className = cls;
    return cell;
  }
  function row(cells, attrs) {
    const tr = document.createElement("tr");
    for (const cell of cells) tr.appendChild(cell);
    for (const [k, v] of Object.entries(attrs || {})) tr.setAttribute(k, v);
    return tr;
  }
  function fill(table, rows) {
    if (!table) return;
    const body = table.tBodies[0] || table.appendChild(document.createElement("tbody"));
    body.replaceChildren(...rows);
  }
  function table(headings, id) {
    const t = document.createElement("table");
    t.id = id;
    const tr = t.createTHead().insertRow();
    for (const h of headings) tr.appendChild(Object.assign(document.createElement("th"), {textContent: h}));
    t.createTBody();
    return t;
  }
  const bad = (n) => (n ? "bad" : "");
  const secs = (s, digits = 1) => (s === null || s === undefined ? "–" : `${Number(s).toFixed(digits)} s`);
  const workers = (p, started) => `${p.workers} (${started ? p.alive_workers : "not started"})`;
  const perPool = (pools, key) => Object.entries(pools).map(([n, p]) => `${n} ${p[key]}`).join(", ");

  function render(s) {
    $("pid").textContent = s.pid;
    $("live-count").textContent = s.totals.live_processes;
    const live = s.totals.live_processes;
    fill($("totals"), Object.entries(s.totals.pools).map(([name, p]) => row([
      td(name), td(live), td(workers(p, p.alive_workers > 0)), td(p.queued), td(p.running), td(p.succeeded),
      td(p.failed, bad(p.failed)), td(p.dropped, bad(p.dropped)), td(p.rejected, bad(p.rejected)),
    ], {"data-pool": name})));
    fill($("processes"), s.processes.map((p) => {
      const left = Object.entries(p.unfinished).map(([n, u]) => `${n}: ${u.queued} queued, ${u.running} running`);
      return row([
        td(p.this ? `${p.pid} (this one)` : p.pid), td(p.state, `text state-${p.state}`), td(p.started_at, "text"),
        td(`${Number(p.last_heard_seconds).toFixed(1)} s ago`), td(perPool(p.pools, "queued")),
        td(perPool(p.pools, "running")), td(perPool(p.pools, "succeeded")), td(perPool(p.pools, "failed")),
        td(left.length ? left.join("; ") : "–", left.length ? "text bad" : "text"),
      ], {"data-process": p.key, "data-pid": p.pid, "data-state": p.state});
    }));
    fill($("pools"), Object.values(s.pools).map((p) => row([
      td(p.closed ? `${p.name} (closed)` : p.name), td(workers(p, p.started)), td(p.queued), td(p.running),
      td(p.succeeded), td(p.failed, bad(p.failed)), td(p.dropped, bad(p.dropped)), td(p.rejected, bad(p.rejected)),
      td(p.error_rate), td(secs(p.oldest_queued_seconds)),
      td(p.last_error ? `${p.last_error.type} at ${p.last_error.at}` : "–", "text"),
    ], {"data-pool": p.name})));
    const recent = {};
    for (const p of s.processes) {
      if (p.state !== "live") continue;
      for (const [name, pool] of Object.entries(p.pools)) {
        recent[name] = (recent[name] || []).concat((pool.recent || []).map((t) => ({...t, pid: p.pid})));
      }
    }
    for (const [name, tasks] of Object.entries(recent)) {
      tasks.sort((a, b) => (a.finished_at < b.finished_at ? 1 : -1));
      const shown = tasks.slice(0, 10).map((t) => row([
        td(t.task), td(t.pid), td(secs(t.wait_seconds, 3)), td(secs(t.run_seconds, 3)),
        td(t.error_type ? `${t.outcome} (${t.error_type})` : t.outcome, t.outcome === "succeeded" ? "text" : "text bad"),
        td(t.finished_at, "text"),
      ]));
      const empty = row([td("none yet")], {class: "idle"});
      empty.firstChild.colSpan = 6;
      fill($(`recent-${name}`), shown.length ? shown : [empty]);
    }
    const letters = [];
    for (const p of s.processes) {
      for (const [name, pool] of Object.entries(p.pools)) {
        for (const l of pool.dead_letters || []) letters.push({...l, pool: name, pid: p.pid});
      }
    }
    letters.sort((a, b) => (String(a.failed_at) < String(b.failed_at) ? 1 : -1));
    if (letters.length) {
      if (!$("dead-letters")) {
        $("dead-letters-section").replaceChildren(
          table(["task", "pool", "pid", "attempts", "error", "failed at"], "dead-letters"));
      }
      fill($("dead-letters"), letters.map((l) => row([
        td(l.task), td(l.pool, "text"), td(l.pid), td(l.attempts), td(`${l.error_type}: ${l.message}`, "text"),
        td(l.failed_at, "text"),
      ])));
    }
    const debouncers = Object.values(s.debouncers);
    const section = $("debouncers-section");
    if (!debouncers.length) {
      section.replaceChildren(Object.assign(document.createElement("p"), {textContent: "No debouncer in this process yet."}));
    } else {
      if (!$("debouncers")) section.replaceChildren(table(
        ["debouncer", "pool", "wait", "pending items", "next run in", "running", "runs", "delivered", "failed runs",
         "dropped", "last run"], "debouncers"));
      fill($("debouncers"), debouncers.map((d) => row([
        td(d.name), td(d.pool || "inline", "text"), td(`${d.wait} s`), td(d.pending_items), td(secs(d.next_run_in)),
        td(d.running ? `yes (${Number(d.running_seconds).toFixed(1)} s)` : "no"), td(d.runs), td(d.delivered),
        td(d.failed_runs, bad(d.failed_runs)), td(d.dropped, bad(d.dropped)), td(d.last_run_at, "text"),
      ])));
    }
    const stores = Object.entries(s.results.backends);
    const results = $("results-section");
    if (stores.length) {
      if (!$("results")) results.replaceChildren(table(["backend", "kept", "limit", "evicted"], "results"));
      fill($("results"), stores.map(([alias, st]) => row([
        td(alias), td(st.kept), td(st.limit === null ? "unbounded" : st.limit), td(st.evicted),
      ])));
    }
    const updated = $("updated");
    updated.textContent = new Date().toLocaleTimeString([], {hour12: false});
    updated.classList.remove("stale");
    root.dataset.updates = String(Number(root.dataset.updates || 0) + 1);
    document.title = `Background tasks · ${live} process${live === 1 ? "" : "es"}`;
  }

  // Sections a project adds (the "extra" block) refresh themselves too: an element with
  // data-refresh-url gets that URL's HTML (the project's own, server-rendered fragment) each tick.
  async function refreshFragments() {
    for (const box of root.querySelectorAll("[data-refresh-url]")) {
      const answer = await fetch(box.dataset.refreshUrl, {credentials: "same-origin"});
      if (answer.ok) box.innerHTML = await answer.text();
    }
  }

  async function tick() {
    try {
      const answer = await fetch(url, {headers: {Accept: "application/json"}, credentials: "same-origin"});
      if (!answer.ok) throw new Error(`status ${answer.status}`);
      render(await answer.json());
      await refreshFragments();
    } catch (err) {
      $("updated").classList.add("stale");
      root.dataset.error = String(err);  // for whoever debugs the page (and for the browser test)
    } finally {
      setTimeout(tick, every);
    }
  }
  setTimeout(tick, every);
})();
