// The freshness badge, aged in the browser (an anywidget ES module, no build step).
//
// The kernel sends the newest event time and the clock's time when it sent them
// (clock_ms), the rate at which that clock runs (clock seconds per wall second: the
// speed-up; 0 when the run is paused, stopped or not live) and the run state. Between
// messages the browser moves the clock on by itself, so the age keeps growing while the
// kernel is busy or gone: the badge turns late, then stale, and says "kernel not
// responding" when no message came for `silent_s` seconds of a running dashboard.
//
// Each message also carries the kernel's wall time when it was sent (sent_ms). The
// browser compares it with its own clock: a Jupyter server relaying a backlog, or a
// page busy drawing, can show a message tens of seconds after the kernel sent it, and
// the badge then says so ("screen N s behind the kernel", data-kernel="behind"), and
// the data it shows ages by that lag too (a screen 20 s behind shows data 20 s older
// than the kernel's: not fresh). The clocks of kernel and browser may differ (a remote kernel):
// the offset is taken as the smallest (arrival time - sent_ms) seen, so the lag shown
// is how much further behind than its best the screen runs; a lag present from the
// very first message is not seen.
//
// Backpressure: after the next paint following a new beat, the badge acknowledges it
// ({ack: beat}) when it is `ack_every` beats past the last acknowledged one, or once no
// newer beat has come for ACK_IDLE_MS (the kernel holds its frames back: nothing newer
// will come until this one is acknowledged); the kernel's dashboard holds frames back
// while too many beats are unacknowledged (rtnb.runner.FrameAcks), so the screen stays
// a frame or two behind its kernel instead of working through a backlog. Every
// acknowledgement is a message the kernel answers with a busy and an idle status, which
// the page handles too: acknowledging every other beat halves them. A new view (a
// reload, a second tab) acknowledges the beat it shows at once.
//
// Hidden: each view sends a token of its own and says whether it is shown ({view,
// visible}: on render, on visibilitychange, on the page's freeze and resume, and as its
// dashboard scrolls onto or off the screen, or its notebook tab goes behind another) and
// when it leaves ({view, gone}: its cleanup, pagehide). While no view of the badge is
// shown the kernel sends no frames for its dashboard (a long-hidden tab acknowledged at
// Chrome's throttled timer rate, once a minute, and the kernel drew frames nobody saw;
// four dashboards of one notebook shared one page's time, seen or not); the age still
// counts here. A view shown again acknowledges the beat it has, so the next frame
// is the current one, and it says "kernel not responding" only once it has been shown
// for silent_s without a message (nothing was sent to it while it was hidden).

function describeAge(s) {
  if (s === null || !isFinite(s)) return "no data yet";
  if (s < 0) return "from the future (clock skew)";
  if (s < 9.95) return s.toFixed(1) + " s old";
  let n = Math.round(s);
  if (n < 60) return n + " s old";
  if (n < 3600) { const m = Math.floor(n / 60), r = n % 60; return m + " min" + (r ? " " + r + " s" : "") + " old"; }
  if (n < 86400) { const h = Math.floor(n / 3600), m = Math.round((n % 3600) / 60); return h + " h" + (m ? " " + m + " min" : "") + " old"; }
  const d = Math.floor(n / 86400), h = Math.round((n % 86400) / 3600);
  return d + " d" + (h ? " " + h + " h" : "") + " old";
}

function span(s) { return s < 120 ? (+s.toPrecision(6)) + " s" : (+(s / 60).toPrecision(6)) + " min"; }

const COLOURS = { fresh: "#009E73", late: "#E69F00", stale: "#D55E00", paused: "#6b6b6b", stopped: "#6b6b6b",
  restarted: "#6b6b6b" };

// The kernel this badge came from is gone: restarted ("restarted"), or dead / shut
// down ("gone"); null while connected. ipywidgets marks a view whose model lost its
// kernel with the class jupyter-widgets-disconnected (on restart, death or shutdown).
function kernelLost(el, model) {
  if (!el.closest(".jupyter-widgets-disconnected")) return null;
  const k = model.widget_manager && model.widget_manager.kernel;
  return k && k.status !== "dead" && !k.isDisposed ? "restarted" : "gone";
}

// How long a drawn beat waits for a newer one before it is acknowledged on its own (ms):
// longer than a frame interval at the usual 10 frames/s, far shorter than the kernel's
// patience.
const ACK_IDLE_MS = 150;

function render({ model, el }) {
  const badge = document.createElement("span");
  badge.className = "rtnb-freshness";
  badge.style.cssText = "display:inline-block;padding:2px 10px;border-radius:10px;color:white;" +
    "font-size:13px;white-space:nowrap";
  el.appendChild(badge);
  let received = performance.now();
  let lastBeat = model.get("beat");
  let offset = null;  // min over messages of (Date.now() at arrival - sent_ms), ms
  let acked = null, ackQueued = false;  // the newest beat acknowledged; an ack on its way
  const view = Math.random().toString(36).slice(2) + Date.now().toString(36);
  let shown = null, shownAt = performance.now(), gone = false;  // this view is shown; since when

  // Tell the kernel whether this view is shown (with the beat it has, when shown again).
  function tellShown(on) {
    if (gone || on === shown) return;
    shown = on;
    const msg = { view, visible: on };
    if (on) {
      shownAt = performance.now();
      acked = msg.ack = model.get("beat");
    }
    try { model.send(msg); } catch (e) { /* the kernel is gone: nothing to tell */ }
    draw();
  }
  // Shown: the page is visible and, for a badge inside a dashboard, the dashboard is on
  // the screen (scrolled into view, its notebook tab the one in front): a dashboard
  // scrolled away is drawn nothing, like a hidden tab, and gets the current frame as it
  // comes back (scrollMargin starts that a little before it reaches the screen).
  let onScreen = true;  // until the observer has said otherwise
  const visible = () => document.visibilityState !== "hidden" && onScreen;
  const onVisibility = () => tellShown(visible());
  let observer = null;
  function watchScreen() {  // once the view is in the page (its parent renders it first)
    if (observer || typeof IntersectionObserver !== "function") return;
    const dashboard = el.closest(".rtnb-dashboard");
    if (!dashboard) return;
    observer = new IntersectionObserver(entries => {
      onScreen = entries[entries.length - 1].isIntersecting;
      tellShown(visible());
    }, { rootMargin: "200px", scrollMargin: "200px" });
    observer.observe(dashboard);
  }
  const onFreeze = () => tellShown(false);
  const onResume = () => tellShown(visible());
  function leave() {
    if (gone) return;
    gone = true;
    try { model.send({ view, gone: true }); } catch (e) { /* the kernel is gone */ }
  }
  function back(ev) {  // restored from the back/forward cache: the view is here again
    if (!ev.persisted) return;
    gone = false;
    shown = null;
    tellShown(visible());
  }

  // Acknowledge the newest beat after the next paint (rAF, then a task: the frame that
  // shows it has been drawn), or after a second where nothing paints (a hidden tab): at
  // once when it is `ack_every` beats on (or the first), else once no newer beat has
  // come for ACK_IDLE_MS.
  let idle = null;  // the timer of a drawn beat waiting for a newer one
  function sendAck(b) {
    clearTimeout(idle);
    idle = null;
    if (b === acked) return;
    acked = b;
    try { model.send({ ack: b }); } catch (e) { /* the kernel is gone: nothing to tell */ }
  }
  function ack() {
    if (ackQueued) return;
    ackQueued = true;
    let done = false;
    const send = (painted) => {
      if (done) return;
      done = true;
      ackQueued = false;
      const b = model.get("beat"), every = Math.max(1, model.get("ack_every") || 1);
      if (!painted || acked === null || b < acked || b - acked >= every) { sendAck(b); return; }
      clearTimeout(idle);  // a beat in between: acknowledged if nothing newer comes
      idle = setTimeout(() => { if (model.get("beat") === b) sendAck(b); }, ACK_IDLE_MS);
    };
    requestAnimationFrame(() => setTimeout(() => send(true), 0));
    setTimeout(() => send(false), 1000);
  }

  // Seconds since a message last reached the page, and how far (s) the screen runs
  // behind the kernel: since the kernel sent what is shown, beyond the best seen.
  function silence() {
    const quiet = (performance.now() - received) / 1000;
    const sent = model.get("sent_ms");
    if (!sent || offset === null) return [quiet, 0];
    return [quiet, Math.max(0, (Date.now() - sent - offset) / 1000)];
  }

  function draw() {
    const newest = model.get("newest_ms");
    const run = model.get("run_state");
    const [silentFor, lag] = silence();
    // The data ages while no message comes, and by as much as the screen runs behind.
    const clock = model.get("clock_ms") + Math.max(silentFor, lag) * model.get("rate") * 1000;
    const age = newest === null ? null : (clock - newest) / 1000;
    const limit = model.get("limit_s"), staleAfter = model.get("stale_s");
    let fresh = age === null ? "stale" : age <= limit ? "fresh" : age <= staleAfter ? "late" : "stale";
    const lost = kernelLost(el, model);
    // Not responding, or behind: only as long as this view has been shown (nothing is sent
    // to a page while no view of it is shown).
    const sinceShown = shown ? (performance.now() - shownAt) / 1000 : 0;
    const heard = Math.min(silentFor, sinceShown), late = Math.min(lag, sinceShown);
    const silent = run === "running" && heard > model.get("silent_s") && !lost;
    // Messages still arrive, but were sent long ago: the screen is behind, not the kernel.
    const behind = run === "running" && !silent && !lost && late > model.get("silent_s");
    let state = fresh, words;
    if (lost) {
      // A restarted kernel forgot this run: nothing here will move again.
      state = "restarted";
      words = (lost === "restarted" ? "kernel restarted" : "kernel gone") +
        " — this run ended with it; run the cell again";
    } else if (model.get("restarted") && run !== "paused" && run !== "stopped") {
      // Started without a checkpoint over earlier data: the window is partial, not fresh.
      state = "restarted";
      words = "restarted — data " + describeAge(age);
    } else if (run === "paused") {
      state = "paused";
      words = "paused — data " + describeAge(age) + " when paused";
    } else if (run === "stopped") {
      state = "stopped";
      words = "stopped — data " + describeAge(age) + " at the stop";
    } else {
      words = fresh + " — " + describeAge(age) + " (limit " + span(limit) + ")";
    }
    const note = model.get("restart_note");
    if (note && !lost) words += " · " + note;
    if (behind) words += " · screen " + late.toFixed(0) + " s behind the kernel";
    else if (silent) words += " · kernel not responding (" + heard.toFixed(0) + " s)";
    if (model.get("store_status") === "down") {
      const err = model.get("store_error");
      words += " · serving layer down" + (err ? ": " + err.slice(0, 80) : "");
    }
    const text = (state === "paused" ? "❚❚ " : state === "stopped" ? "■ " : state === "restarted" ? "↻ " : "● ") + model.get("label") + ": " + words;
    if (badge.textContent !== text) badge.textContent = text;
    badge.dataset.state = state;
    badge.dataset.freshness = fresh;
    badge.dataset.run = run || "none";
    badge.dataset.kernel = behind ? "behind" : silent ? "not-responding" : "responding";
    badge.dataset.silent = silentFor.toFixed(3);
    badge.dataset.lag = lag.toFixed(3);
    badge.dataset.beat = String(model.get("beat"));
    badge.dataset.sent = String(Math.round(model.get("sent_ms") || 0));
    badge.dataset.acked = acked === null ? "" : String(acked);
    badge.dataset.shown = shown ? "yes" : "no";  // what this view told the kernel
    badge.dataset.offset = offset === null ? "" : String(Math.round(offset));  // ms: clocks' offset + best delivery
    badge.dataset.store = model.get("store_status");
    badge.dataset.age = age === null ? "" : age.toFixed(3);
    if (newest !== null) badge.dataset.newest = String(Math.round(newest));
    badge.style.background = COLOURS[state];
    badge.style.outline = silent ? "2px dashed #D55E00" : "none";
  }

  function onMessage() {
    received = performance.now();
    lastBeat = model.get("beat");
    const sent = model.get("sent_ms");
    if (sent) {
      const d = Date.now() - sent;
      offset = offset === null ? d : Math.min(offset, d);
    }
    draw();
    if (lastBeat !== acked) ack();
  }
  model.on("change", onMessage);
  draw();
  tellShown(visible());  // a new view: shown (with its beat: frames flow to it at once) or hidden
  ack();  // (a hidden new view acknowledges its beat too)
  document.addEventListener("visibilitychange", onVisibility);
  document.addEventListener("freeze", onFreeze);
  document.addEventListener("resume", onResume);
  window.addEventListener("pagehide", leave);
  window.addEventListener("pageshow", back);
  const timer = setInterval(() => { watchScreen(); draw(); }, 100);
  return () => {
    leave();
    if (observer) observer.disconnect();
    clearInterval(timer);
    clearTimeout(idle);
    model.off("change", onMessage);
    document.removeEventListener("visibilitychange", onVisibility);
    document.removeEventListener("freeze", onFreeze);
    document.removeEventListener("resume", onResume);
    window.removeEventListener("pagehide", leave);
    window.removeEventListener("pageshow", back);
  };
}

export default { render };
