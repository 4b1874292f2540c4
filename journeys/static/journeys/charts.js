// Plotly charts of the journeys pages; data comes from json_script blocks (no inline scripts).
(function () {
  "use strict";
  function data(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }
  var layoutBase = { margin: { l: 50, r: 20, t: 40, b: 40 }, font: { family: getComputedStyle(document.body).fontFamily }, legend: { orientation: "h" } };
  var config = { responsive: true, displaylogo: false };
  // A chart with nothing to draw says so instead of showing empty axes.
  function empty(el, text) {
    el.textContent = "";
    var note = document.createElement("p");
    note.className = "muted chart-empty";
    note.textContent = text;
    el.appendChild(note);
    el.setAttribute("data-empty", "1");
  }
  var renderers = {
    "touchpoint-scores": function (el, d) {
      var s = d.series;
      var traces = [
        { x: s.month, y: s.nps, name: d.labels.nps, mode: "lines+markers", connectgaps: true },
        { x: s.month, y: s.csat, name: d.labels.csat, mode: "lines+markers", connectgaps: true },
        { x: s.month, y: s.ces, name: d.labels.ces, mode: "lines+markers", yaxis: "y2", connectgaps: true }
      ].filter(function (t) { return t.y.some(function (v) { return v !== null; }); });
      if (!traces.length) { empty(el, d.labels.no_data); return; }
      var layout = Object.assign({}, layoutBase, { title: { text: d.labels.title }, showlegend: true, xaxis: { automargin: true }, yaxis: { range: [-100, 100], automargin: true }, yaxis2: { overlaying: "y", side: "right", range: [1, 7], automargin: true } });
      window.Plotly.newPlot(el, traces, layout, config);
    },
    "funnel": function (el, d) {
      if (!d.funnel.reached.some(function (n) { return n > 0; })) { empty(el, d.labels.no_data); return; }
      window.Plotly.newPlot(el, [{ type: "funnel", y: d.funnel.stages, x: d.funnel.reached, textinfo: "value+percent initial" }],
        Object.assign({}, layoutBase, { title: { text: d.labels.funnel }, margin: { l: 110, r: 20, t: 40, b: 30 }, yaxis: { automargin: true } }), config);
    },
    "sankey": function (el, d) {
      if (!d.sankey.value.length) { el.hidden = true; return; }
      window.Plotly.newPlot(el, [{ type: "sankey", arrangement: "snap", node: { label: d.sankey.labels, pad: 12 },
        link: { source: d.sankey.source, target: d.sankey.target, value: d.sankey.value } }],
        Object.assign({}, layoutBase, { title: { text: d.labels.sankey }, height: 460 }), config);
    }
  };
  function render() {
    if (!window.Plotly) return;
    document.querySelectorAll("[data-chart]").forEach(function (el) {
      var fn = renderers[el.getAttribute("data-chart")];
      var d = data(el.getAttribute("data-source"));
      if (fn && d) fn(el, d);
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", render); else render();
})();
