// Readouts of rtnb's log sliders (LogSlider, rtnb/widgets/_slider.py; a script fragment
// put before the frame bus's module, which every dashboard's page loads). ipywidgets'
// slider view parses an edited readout with parseFloat: "21,600", as the readout shows
// it, set the speed-up to 21, and "12k" to 12. Before the view reads it (on Enter, or
// when it loses focus) the text of a readout of ours is rewritten as a plain number,
// parsed the way the readout formats it (thousands grouped, SI suffixes); text that is
// not a number is emptied, and the view then leaves the slider as it was.
(function rtnbReadouts() {
  if (typeof document === "undefined" || globalThis.__rtnbReadouts) return;
  globalThis.__rtnbReadouts = true;
  const SI = { "": 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, m: 1e-3, u: 1e-6, "µ": 1e-6, "μ": 1e-6 };
  const NUMBER = /^([+-]?(?:\d{1,3}(?:,\d{3})+|\d*)(?:\.\d*)?(?:e[+-]?\d+)?)\s*([kMGTmuµμ]?)$/i;
  function parse(text) {  // a number, or null
    const m = NUMBER.exec(String(text).replace(/[\s\u00a0\u202f]+/g, " ").trim().replace(/\u2212/g, "-"));
    if (!m || !/\d/.test(m[1])) return null;
    const suffix = m[2] in SI ? m[2] : m[2].toLowerCase() === "k" ? "k" : null;
    const v = parseFloat(m[1].replace(/,/g, "")) * (suffix === null ? NaN : SI[suffix]);
    return Number.isFinite(v) ? v : null;
  }
  function ours(target) {
    return target instanceof Element && target.matches(".rtnb-log-slider .widget-readout") ? target : null;
  }
  function normalise(readout) {
    const v = parse(readout.textContent);
    readout.textContent = v === null ? "" : String(v);
  }
  document.addEventListener("keydown", e => { const r = ours(e.target); if (r && e.key === "Enter") normalise(r); }, true);
  document.addEventListener("blur", e => { const r = ours(e.target); if (r) normalise(r); }, true);
  globalThis.__rtnbParseReadout = parse;  // (for tests)
})();
