// LiveHTML's front-end (an anywidget ES module, no build step): HTML that changes every
// frame (a KPI tile's value, the error panel's counters, the live table) is patched into
// the page, not re-set. ipywidgets' HTML view sets innerHTML on each change: the browser
// throws the old nodes away, builds new ones, restyles and lays them all out again, on
// every frame of every dashboard. Here the new value is parsed into a template and the
// shown nodes are changed only where they differ (text, attributes; a node of another
// kind is replaced), so a frame that changes one number changes one text node.

function sameKind(a, b) {
  return a.nodeType === b.nodeType && a.nodeName === b.nodeName;
}

// Make `live`'s children what `next`'s are, touching only what differs.
function patch(live, next) {
  const want = next.childNodes;
  let i = 0;
  for (; i < want.length; i++) {
    const n = want[i], o = live.childNodes[i];
    if (!o) { live.appendChild(n.cloneNode(true)); continue; }
    if (!sameKind(o, n)) { live.replaceChild(n.cloneNode(true), o); continue; }
    if (n.nodeType !== 1) {  // text, comment
      if (o.nodeValue !== n.nodeValue) o.nodeValue = n.nodeValue;
      continue;
    }
    // (by namespace: an SVG's xlink:href keeps its own)
    for (const a of Array.from(o.attributes)) {
      if (!n.hasAttributeNS(a.namespaceURI, a.localName)) o.removeAttributeNS(a.namespaceURI, a.localName);
    }
    for (const a of Array.from(n.attributes)) {
      if (o.getAttributeNS(a.namespaceURI, a.localName) !== a.value) o.setAttributeNS(a.namespaceURI, a.name, a.value);
    }
    patch(o, n);
  }
  while (live.childNodes.length > want.length) live.removeChild(live.lastChild);
}

function render({ model, el }) {
  el.classList.add("widget-inline-hbox", "widget-html", "rtnb-live-html");
  const content = document.createElement("div");
  content.className = "widget-html-content";
  el.appendChild(content);
  const template = document.createElement("template");
  function show() {
    template.innerHTML = model.get("value") || "";
    patch(content, template.content);
  }
  show();
  model.on("change:value", show);
  return () => model.off("change:value", show);
}

export default { render };
