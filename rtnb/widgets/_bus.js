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
// it missed while loading).

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

function initialize({ model }) {
  const manager = model.widget_manager;
  const models = new Map();
  let applying = Promise.resolve();

  async function apply(updates, buffers) {
    // One update that fails (a model this page has not created, a deserialiser that
    // throws) drops only itself: the frame's other updates, the badge's beat last, go on.
    for (const [id, state, paths, first, kind] of updates) {
      try {
        let m = models.get(id);
        if (!m) {
          m = await manager.get_model(id);
          models.set(id, m);
          m.once && m.once("comm:close", () => models.delete(id));
        }
        if (kind === "custom") {  // paths: the number of its buffers
          m.trigger("msg:custom", state, buffers.slice(first, first + paths));
          continue;
        }
        putBuffers(state, paths, buffers.slice(first, first + paths.length));
        const s = await m.constructor._deserialize_state(state, m.widget_manager);
        m.set_state(s);
      } catch (e) {
        console.error("[rtnb bus] update of", id, e);
      }
    }
  }

  function onCustom(content, buffers) {
    if (!content || !content.rtnb_frame) return;
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
