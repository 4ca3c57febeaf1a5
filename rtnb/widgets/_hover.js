// Hover dots on demand (an anywidget ES module, no build step): tells the kernel when the
// mouse enters or leaves one of its dashboard's line charts, so the chart's invisible hover
// dots (whose tooltips show key, time and value) exist only while someone points at it.
// With 60 dots per line on every chart, bqplot repositioned and restyled ~1,200 SVG
// groups on every frame (the time axis moves every frame): half the page's work.
//
// A chart is found by its class "rtnb-line-id-<model id>" (LiveLine adds it). A leave is
// told after LEAVE_MS without coming back, so crossing a legend or a tooltip does not
// empty and refill the dots.

const LEAVE_MS = 300;
const PREFIX = "rtnb-line-id-";

function lineId(line) {
  for (const c of line.classList) if (c.startsWith(PREFIX)) return c.slice(PREFIX.length);
  return null;
}

function render({ model, el }) {
  el.style.display = "none";
  let current = null, leaving = null;

  function tell(line, on) {
    const id = lineId(line);
    if (id) { try { model.send({ hover: id, on }); } catch (e) { /* no kernel: nothing to tell */ } }
  }
  // The line chart of this dashboard under `target`, or null.
  function chartAt(target) {
    const root = el.closest(".rtnb-dashboard");
    const line = root && target instanceof Element ? target.closest(".rtnb-live-line") : null;
    return line && root.contains(line) ? line : null;
  }
  function cancelLeave() { if (leaving !== null) { clearTimeout(leaving); leaving = null; } }
  function away() {
    if (current === null || leaving !== null) return;
    leaving = setTimeout(() => { leaving = null; if (current) tell(current, false); current = null; }, LEAVE_MS);
  }
  function over(ev) {
    const line = chartAt(ev.target);
    if (line === null) { away(); return; }
    cancelLeave();
    if (line === current) return;
    if (current) tell(current, false);
    current = line;
    tell(line, true);
  }
  function out(ev) { if (!ev.relatedTarget) away(); }  // left the window
  document.addEventListener("pointerover", over, true);
  document.addEventListener("pointerout", out, true);
  try { model.send({ ready: true }); } catch (e) { /* no kernel */ }
  return () => {
    cancelLeave();
    document.removeEventListener("pointerover", over, true);
    document.removeEventListener("pointerout", out, true);
  };
}

export default { render };
