// A dashboard's frame bus (an anywidget ES module, no build step): one comm message per
// dashboard frame carries the state changes of every view of the frame, and this
// front-end applies them to the views' own models, in order, as the widget manager
// would have applied each view's own message (same deserialisers, same set_state, so
// the views draw exactly as before). One message instead of ~8 per frame: the page's
// per-message work (the kernel connection, its signals, the widget manager's dispatch)
// and the Jupyter server's relay are paid once per frame. A view's custom message sent
// during the frame is an entry of it too ([id, content, n buffers, first, "custom"]),
// delivered to its model as the widget manager would (msg:custom), in order with the
// frame's updates. The kernel resends every widget's full state through the bus when a
// front-end says it is ready after frames went through it (a reload, a second tab: what
// it missed while loading), and the full state of a widget whose update this page had
// to skip (its model not made yet, or not settling: see WAIT_MS) when the page asks.

function putBuffers(state, paths, buffers) {
  for (let i = 0; i < paths.length; i++) {
    let buffer = buffers[i];
    if (!(buffer instanceof DataView)) {
      buffer = new DataView(buffer instanceof ArrayBuffer ? buffer : buffer.buffer, buffer.byteOffset || 0,
        buffer.byteLength);
    }
    let obj = state;
    const path = paths[i];
    for (let j = 0; j < path.length - 1; j++) obj = obj[path[j]];
    obj[path[path.length - 1]] = buffer;
  }
}

// The longest an update waits for its model or its deserialisation (ms). Work that is
// only promise callbacks (a deserialiser, a model already made) always settles before any
// timer fires, however loaded the page is; what does not settle by then waits on
// something else (a model whose creation is stuck or still loading its code): the update
// is skipped, the bus goes on, and the kernel is asked for that widget's full state.
const WAIT_MS = 2000;
// A widget whose updates keep failing is asked for at WAIT_MS, then twice as long after
// each ask, up to ASK_MAX_MS (a model this page never makes: the kernel would resend
// its full state every WAIT_MS for good). Applying one of its updates starts it afresh.
const ASK_MAX_MS = 60000;

// Resolves to `promise`'s value, or to TIMED_OUT if it has not settled within `ms`.
const TIMED_OUT = Symbol("timed out");
function within(promise, ms) {
  let timer;
  const late = new Promise(res => { timer = setTimeout(() => res(TIMED_OUT), ms); });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

function initialize({ model }) {
  const manager = model.widget_manager;
  const models = new Map();
  // Widgets whose updates are skipped at once, without waiting, until their promise
  // settles (then the kernel is asked, once, for their full state; not before: its
  // answer would come while they are still skipped): one that did not settle within
  // WAIT_MS would otherwise hold every later frame WAIT_MS, each frame.
  const pending = new Map();  // id -> the model's promise, not settled within WAIT_MS
  const stuck = new Map();  // id -> an update's deserialisation, not settled within WAIT_MS
  const asked = new Map();  // id -> [when its full state was last asked for, the wait before the next ask]
  const gone = new Set();  // ids the kernel no longer knows: never asked for again
  let applying = Promise.resolve();

  function askFor(ids, always = false) {
    // The kernel resends these widgets' full state through the bus (in order with the
    // frames, which it sends after); each id at most once per its wait unless `always`.
    const now = performance.now();
    const ask = [...ids].filter(id => !gone.has(id) && (always || !asked.has(id) || now - asked.get(id)[0] >= asked.get(id)[1]));
    if (!ask.length) return;
    ask.forEach(id => asked.set(id, [now, asked.has(id) ? Math.min(2 * asked.get(id)[1], ASK_MAX_MS) : WAIT_MS]));
    try { model.send({ missed: ask }); } catch (e) { /* no kernel: nothing to tell */ }
  }

  function forget(id) {
    models.delete(id); pending.delete(id); stuck.delete(id); asked.delete(id);
  }

  function keep(id, m) {
    models.set(id, m);
    m.once && m.once("comm:close", () => { if (models.get(id) === m) forget(id); });
  }

  // The model `id` names, or null: not made (yet) on this page, or still being made.
  async function modelOf(id) {
    const known = models.get(id);
    if (known) return known;
    if (pending.has(id)) return null;
    const made = Promise.resolve().then(() => manager.get_model(id));
    const m = await within(made, WAIT_MS);
    if (m === TIMED_OUT) {
      pending.set(id, made);
      made.then(m => {
        if (pending.get(id) !== made) return;
        pending.delete(id);
        if (m) { keep(id, m); askFor([id], true); }
      }, () => { if (pending.get(id) === made) pending.delete(id); });
      return null;
    }
    if (!m) return null;
    keep(id, m);
    return m;
  }

  function stuckOn(id, promise) {
    stuck.set(id, promise);
    const settled = () => { if (stuck.get(id) === promise) { stuck.delete(id); askFor([id], true); } };
    Promise.resolve(promise).then(settled, settled);
  }

  async function apply(updates, buffers) {
    // One update that fails (a model this page has not made, a deserialiser that throws
    // or never settles) skips only itself: the frame's other updates, the badge's beat
    // last, go on, and the kernel is asked for that widget's full state.
    const missed = new Set();
    for (const [id, state, paths, first, kind] of updates) {
      if (stuck.has(id) || pending.has(id)) continue;  // (asked for once it settles)
      try {
        const m = await modelOf(id);
        if (!m) {  // (one still being made is asked for once it is made: modelOf)
          if (!pending.has(id)) missed.add(id);
          continue;
        }
        if (kind === "custom") {  // paths: the number of its buffers
          m.trigger("msg:custom", state, buffers.slice(first, first + paths));
          continue;
        }
        putBuffers(state, paths, buffers.slice(first, first + paths.length));
        const deserialised = m.constructor._deserialize_state(state, m.widget_manager);
        const s = await within(deserialised, WAIT_MS);
        if (s === TIMED_OUT) {
          // Asked for once it settles (stuckOn), not now: the kernel's answer would
          // come while the widget is still stuck, and be skipped.
          stuckOn(id, deserialised);
          console.error("[rtnb bus] update of", id, "did not deserialise");
          continue;
        }
        m.set_state(s);
        asked.delete(id);
      } catch (e) {
        missed.add(id);
        console.error("[rtnb bus] update of", id, e);
      }
    }
    if (missed.size) askFor(missed);
  }

  function onCustom(content, buffers) {
    if (!content) return;
    if (Array.isArray(content.gone)) {  // the kernel knows these no more (closed): stop asking
      content.gone.forEach(id => { forget(id); gone.add(id); });
      return;
    }
    if (!content.rtnb_frame) return;
    applying = applying.then(() => apply(content.rtnb_frame, buffers || [])).catch(e => console.error("[rtnb bus]", e));
  }
  model.on("msg:custom", onCustom);
  try { model.send({ ready: true }); } catch (e) { /* no kernel: nothing to tell */ }
  return () => model.off("msg:custom", onCustom);
}

function render({ el }) {
  el.style.display = "none";
  el.classList.add("rtnb-frame-bus");  // (its model is initialised: it has said it is ready)
}

export default { initialize, render };
