// Hover dots on demand (an anywidget ES module, no build step): tells the kernel when the
// mouse enters or leaves one of its dashboard's line charts, so the chart's invisible hover
// dots (whose tooltips show key, time and value) exist only while someone points at it.
// With 60 dots per line on every chart, bqplot repositioned and restyled ~1,200 SVG
// groups on every frame (the time axis moves every frame): half the page's work.
//
// A chart is found by its class "rtnb-line-id-<model id>" (LiveLine adds it), anywhere in
// the document as long as the id is one of the dashboard's lines (the model's "lines"):
// a line of the dashboard also displayed on its own keeps its tooltips. A leave is told
// after LEAVE_MS without coming back, so crossing a legend or a tooltip does not empty
// and refill the dots. Every message carries this view's token: two views of one
// dashboard (two tabs, "New View for Output") each say what they point at, and the
// kernel shows a chart's dots while any of them points at it. When a view goes (its
// cleanup, or the page hidden by a reload or a close) it tells its leave and says bye;
// a new view's "ready" makes the kernel ask the live views ("ask"), which answer with
// what they point at ("here"). A view pointing at a chart says so again every
// REFRESH_MS: the kernel drops a hover it has not heard of for a few seconds (a page
// that died without its pagehide would have kept its chart's dots coming for good).

const LEAVE_MS = 300;
const REFRESH_MS = 2000;
const PREFIX = "rtnb-line-id-";

function lineId(line) {
  for (const c of line.classList) if (c.startsWith(PREFIX)) return c.slice(PREFIX.length);
  return null;
}

function render({ model, el }) {
  el.style.display = "none";
  const token = Math.random().toString(36).slice(2) + Date.now().toString(36);
  let current = null, leaving = null, gone = false;  // current: the model id pointed at

  function send(msg) {
    try { model.send({ ...msg, token }); } catch (e) { /* no kernel: nothing to tell */ }
  }
  function tell(id, on) { send({ hover: id, on }); }
  // The id of the dashboard's line chart under `target`, or null.
  function chartAt(target) {
    const line = target instanceof Element ? target.closest(".rtnb-live-line") : null;
    const id = line ? lineId(line) : null;
    const ours = model.get("lines") || [];
    return id !== null && ours.includes(id) ? id : null;
  }
  function cancelLeave() { if (leaving !== null) { clearTimeout(leaving); leaving = null; } }
  function away() {
    if (current === null || leaving !== null) return;
    leaving = setTimeout(() => { leaving = null; if (current) tell(current, false); current = null; }, LEAVE_MS);
  }
  function over(ev) {
    const id = chartAt(ev.target);
    if (id === null) { away(); return; }
    cancelLeave();
    if (id === current) return;  // (also another copy of the same chart)
    if (current) tell(current, false);
    current = id;
    tell(id, true);
  }
  function out(ev) { if (!ev.relatedTarget) away(); }  // left the window
  function asked(msg) {
    if (msg && msg.ask) send({ here: true, hover: current !== null && leaving === null ? current : null });
  }
  function bye() {
    if (gone) return;
    gone = true;
    cancelLeave();
    if (current) tell(current, false);
    current = null;
    send({ bye: true });
  }
  document.addEventListener("pointerover", over, true);
  document.addEventListener("pointerout", out, true);
  window.addEventListener("pagehide", bye);
  model.on("msg:custom", asked);
  const refresh = setInterval(() => { if (!gone && current !== null && leaving === null) tell(current, true); },
    REFRESH_MS);
  send({ ready: true });
  return () => {
    clearInterval(refresh);
    bye();
    document.removeEventListener("pointerover", over, true);
    document.removeEventListener("pointerout", out, true);
    window.removeEventListener("pagehide", bye);
    model.off("msg:custom", asked);
  };
}

export default { render };
