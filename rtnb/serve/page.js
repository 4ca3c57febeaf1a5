// rtnb live page: one metric by SSE, WebSocket or polling; a badge that ages here.
// No build step, no dependencies. State is in window.rtnbPage (tests read it).
"use strict";
(function () {
  const cfg = JSON.parse(document.getElementById("rtnb-config").textContent);
  const base = location.pathname.replace(/\/[^/]*$/, "");
  const metricPath = base + "/metrics/" + encodeURIComponent(cfg.metric);
  const tokenQ = cfg.token ? "token=" + encodeURIComponent(cfg.token) : "";
  const $ = (id) => document.getElementById(id);
  const S = window.rtnbPage = {
    pattern: cfg.pattern, metric: cfg.metric, status: "connecting", version: null,
    updates: 0, missed: 0, reconnects: 0, versions: [], ageMs: null, newestMs: null,
    offsetMs: 0, retryAt: null, attempt: 0, gaps: [], snapshot: null,
  };
  const BASE_DELAY = 1.0, MAX_DELAY = 30.0, JITTER = 0.5;

  $("title").textContent = cfg.metric || "no metric yet";
  $("subtitle").textContent = "delivered by " + {sse: "Server-Sent Events", ws: "WebSocket",
    poll: "short polling every " + cfg.interval + " s"}[cfg.pattern] +
    " · fresh while under " + cfg.limit_s + " s old";

  function withQuery(url, extra) {
    const q = [extra, tokenQ].filter(Boolean).join("&");
    return q ? url + "?" + q : url;
  }

  function fmtAge(ms) {
    if (ms === null) return "no data";
    const s = ms / 1000;
    if (s < 10) return s.toFixed(1) + " s old";
    if (s < 60) return Math.round(s) + " s old";
    if (s < 3600) return Math.floor(s / 60) + " min " + Math.round(s % 60) + " s old";
    return (s / 3600).toFixed(1) + " h old";
  }

  function render() {
    const now = Date.now() + S.offsetMs;
    S.ageMs = S.newestMs === null ? null : Math.max(0, now - S.newestMs);
    const badge = $("badge");
    let state, text = fmtAge(S.ageMs);
    if (S.status === "disconnected") {
      state = "disconnected";
      const left = S.retryAt === null ? 0 : Math.max(0, Math.ceil((S.retryAt - Date.now()) / 1000));
      text += " · disconnected — retrying in " + left + " s";
    } else if (S.status === "connecting") {
      state = "connecting"; text += " · connecting…";
    } else if (S.ageMs === null) {
      state = "stale";
    } else {
      const lim = cfg.limit_s * 1000;
      state = S.ageMs <= lim ? "fresh" : S.ageMs <= 3 * lim ? "late" : "stale";
    }
    badge.dataset.state = state;
    badge.dataset.ageMs = S.ageMs === null ? "" : String(Math.round(S.ageMs));
    badge.textContent = text;
    S.badge = state;
  }
  setInterval(render, 100);

  function cell(v) { return v === null ? "–" : typeof v === "number" ? (Number.isInteger(v) ? String(v) : v.toFixed(3)) : String(v); }

  function showSnapshot(snap, nowMs) {
    if (nowMs !== undefined && nowMs !== null) S.offsetMs = nowMs - Date.now();
    const v = snap.version;
    if (S.version !== null && v > S.version + 1) S.missed += v - S.version - 1;
    if (S.version !== null && v <= S.version && !S.reset) return;  // a duplicate
    S.reset = false;
    S.version = v; S.updates += 1; S.versions.push(v); S.snapshot = snap;
    if (S.versions.length > 5000) S.versions.splice(0, 1000);
    S.newestMs = snap.newest_event_ms;
    const t = snap.table;
    const head = "<tr>" + t.index_names.map((n) => "<th>" + esc(n === null ? "" : n) + "</th>").join("") +
      t.columns.map((c) => "<th>" + esc(c) + "</th>").join("") + "</tr>";
    $("table").tHead.innerHTML = head;
    $("table").tBodies[0].innerHTML = t.data.map((row, i) => "<tr>" +
      t.index[i].map((k) => "<td>" + esc(cell(k)) + "</td>").join("") +
      row.map((x) => "<td>" + esc(cell(x)) + "</td>").join("") + "</tr>").join("");
    $("version").textContent = v;
    $("updates").textContent = S.updates;
    $("missed").textContent = S.missed;
    $("newest").textContent = when(snap.newest_event);
    $("watermark").textContent = when(snap.watermark);
    $("counters").textContent = Object.entries(snap.counters).map(([k, x]) => k + " " + x).join(", ");
    render();
  }

  function when(iso) { return iso ? iso.replace("T", " ").slice(0, 23) + " UTC" : "–"; }

  function esc(s) { return String(s).replace(/[&<>"]/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}[c])); }

  function connected() {
    if (S.down) { S.down = false; S.reconnects += 1; $("reconnects").textContent = S.reconnects; }
    S.status = "live"; S.attempt = 0; S.retryAt = null;
    $("status").textContent = "live";
  }

  let timer = null;
  function disconnected(why) {
    if (timer !== null) return;  // already waiting
    S.status = "disconnected"; S.down = true;
    const delay = Math.min(MAX_DELAY, BASE_DELAY * Math.pow(2, S.attempt)) * (1 + JITTER * Math.random());
    S.attempt += 1;
    S.retryAt = Date.now() + delay * 1000;
    $("status").textContent = why || "";
    render();
    timer = setTimeout(() => { timer = null; S.status = "connecting"; connect(); }, delay * 1000);
  }

  function gap(g) { S.gaps.push(g); if (g.reason === "reset") S.reset = true; }

  let source = null;
  function connectSSE() {
    const last = S.version === null ? "" : "last_event_id=" + S.version;
    const es = source = new EventSource(withQuery(metricPath + "/events", last));
    es.addEventListener("snapshot", (e) => { connected(); const m = JSON.parse(e.data); showSnapshot(m.snapshot, m.now_ms); });
    es.addEventListener("gap", (e) => gap(JSON.parse(e.data)));
    es.addEventListener("heartbeat", (e) => { connected(); S.offsetMs = JSON.parse(e.data).now_ms - Date.now(); });
    es.onerror = () => { es.close(); if (source === es) disconnected("the event stream ended"); };
  }

  function connectWS() {
    const last = S.version === null ? "" : "last_version=" + S.version;
    const proto = location.protocol === "https:" ? "wss://" : "ws://";
    const ws = source = new WebSocket(proto + location.host + withQuery(metricPath + "/ws", last));
    ws.onmessage = (e) => {
      const m = JSON.parse(e.data);
      connected();
      if (m.type === "snapshot") showSnapshot(m.snapshot, m.now_ms);
      else if (m.type === "gap") gap(m);
      else if (m.type === "heartbeat") S.offsetMs = m.now_ms - Date.now();
    };
    ws.onclose = (e) => { if (source === ws) disconnected("the socket closed (" + e.code + ")"); };
  }

  let etag = null, pollTimer = null;
  async function pollOnce() {
    pollTimer = null;
    const headers = {};
    if (etag) headers["If-None-Match"] = etag;
    try {
      const r = await fetch(withQuery(metricPath, ""), {headers, cache: "no-store"});
      if (r.status !== 200 && r.status !== 304) throw new Error("HTTP " + r.status);
      connected();
      const now = r.headers.get("X-Rtnb-Now-Ms");
      if (now) S.offsetMs = parseFloat(now) - Date.now();
      if (r.status === 200) { etag = r.headers.get("ETag"); showSnapshot(await r.json()); }
      pollTimer = setTimeout(pollOnce, cfg.interval * 1000);
    } catch (err) {
      disconnected("the poll failed");
    }
  }

  function connect() {
    if (!cfg.metric) { $("status").textContent = "no metric in the store yet"; return; }
    if (cfg.pattern === "sse") connectSSE();
    else if (cfg.pattern === "ws") connectWS();
    else pollOnce();
  }
  connect();
})();
