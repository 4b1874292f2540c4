// Dashboard charts: read the JSON data block, draw with Plotly (self-hosted). No inline scripts (CSP).
(function () {
  "use strict";
  var COLORS = { promoter: "#12a150", passive: "#f0b429", detractor: "#d64545", primary: "#1f5fbf", band: "rgba(31,95,191,.15)", grey: "#8a94a6" };

  function readData() {
    var el = document.getElementById("dashboard-data");
    return el ? JSON.parse(el.textContent) : null;
  }
  function nonNull(v) { return v === null || v === undefined ? null : v; }

  // Long category names wrap onto several lines instead of running into their neighbours.
  function wrap(label, width) {
    if (typeof label !== "string" || label.length <= width) return label;
    var words = label.split(/(\s+)/), lines = [], line = "";
    words.forEach(function (w) {
      if (!w.trim()) { line += line ? " " : ""; return; }
      while (w.length > width) { if (line.trim()) { lines.push(line.trim()); line = ""; } lines.push(w.slice(0, width)); w = w.slice(width); }
      if ((line + w).length > width && line.trim()) { lines.push(line.trim()); line = ""; }
      line += w;
    });
    if (line.trim()) lines.push(line.trim());
    return lines.join("<br>");
  }
  var CATEGORY_TYPES = { bar: true, funnel: true, heatmap: true };
  function wrapCategories(traces) {
    traces.forEach(function (t) {
      if (!CATEGORY_TYPES[t.type || ""]) return;
      ["x", "y"].forEach(function (axis) {
        if (Array.isArray(t[axis])) t[axis] = t[axis].map(function (v) { return wrap(v, 14); });
      });
    });
  }
  function categoryCount(traces) {
    return traces.reduce(function (n, t) { return Math.max(n, (t.y || []).length); }, 0);
  }
  // Vertical bars over many named categories (not periods) do not fit a phone: their labels would run
  // into one another. There they turn into horizontal bars, one readable row per category.
  function flipWhenNarrow(el, traces, layout) {
    var bars = traces.length && traces.every(function (t) {
      return t.type === "bar" && Array.isArray(t.x) && t.x.some(function (v) { return typeof v === "string" && isNaN(+v) && !/^\d{4}-/.test(v); });
    });
    if (!bars || el.clientWidth / traces[0].x.length >= 70) return false;
    traces.forEach(function (t) { var x = t.x; t.x = t.y; t.y = x; t.orientation = "h"; });
    var xaxis = layout.xaxis, yaxis = layout.yaxis;
    layout.xaxis = yaxis || {};
    layout.yaxis = Object.assign({}, xaxis || {}, { autorange: "reversed" });
    return true;
  }
  // A chart without a single value shows a sentence, not empty axes.
  function hasData(traces) {
    return traces.some(function (t) {
      var counted = t.type === "bar" || t.type === "pie" || t.type === "funnel" || t.type === "heatmap";
      var values = t.type === "pie" ? t.values : t.type === "funnel" ? t.x : t.type === "heatmap" ? [].concat.apply([], t.z || []) : t.y;
      return (values || []).some(function (v) { return typeof v === "number" && isFinite(v) && (!counted || v !== 0); });
    });
  }
  function axis(layout, name) {
    layout[name] = Object.assign({ automargin: true }, layout[name] || {});
    if (!layout[name].title || typeof layout[name].title === "string") layout[name].title = { text: layout[name].title || "", standoff: 8 };
  }

  function draw(el, traces, layout, name, L) {
    if (!window.Plotly) return;
    if (!hasData(traces)) {
      el.textContent = "";
      var note = document.createElement("p");
      note.className = "muted chart-empty";
      note.textContent = L.no_data;
      el.appendChild(note);
      el.setAttribute("data-empty", "1");
      el.setAttribute("data-rendered", "1");
      return;
    }
    layout = layout || {};
    if (flipWhenNarrow(el, traces, layout)) layout.height = Math.max(320, 90 + categoryCount(traces) * (16 + 12 * traces.length));
    wrapCategories(traces);
    ["xaxis", "yaxis"].forEach(function (n) { axis(layout, n); });
    if (layout.yaxis2) layout.yaxis2.automargin = true;
    var base = { margin: { l: 50, r: 20, t: 10, b: 50 }, legend: { orientation: "h", y: -0.25, yanchor: "top" }, font: { family: getComputedStyle(document.body).fontFamily } };
    var config = {
      responsive: true, displaylogo: false,
      modeBarButtonsToRemove: ["select2d", "lasso2d"],
      toImageButtonOptions: { format: "png", filename: "cxm-" + name, scale: 2 }
    };
    window.Plotly.newPlot(el, traces, Object.assign(base, layout), config).then(function () {
      el.setAttribute("data-rendered", "1");
    });
  }

  var builders = {
    "nps-trend": function (p, L) {
      var t = p.trend, x = t.map(function (r) { return r.period; });
      return [[
        { x: x, y: t.map(function (r) { return nonNull(r.nps.ci_high); }), mode: "lines", line: { width: 0 }, showlegend: false, hoverinfo: "skip" },
        { x: x, y: t.map(function (r) { return nonNull(r.nps.ci_low); }), mode: "lines", line: { width: 0 }, fill: "tonexty", fillcolor: COLORS.band, name: L.interval },
        { x: x, y: t.map(function (r) { return nonNull(r.nps.nps); }), mode: "lines+markers", name: L.nps, line: { color: COLORS.primary },
          customdata: t.map(function (r) { return r.nps.n; }), hovertemplate: "%{x}: %{y:.1f} (n=%{customdata})<extra></extra>" }
      ], { yaxis: { range: [-100, 100], title: L.nps } }];
    },
    "csat-ces-trend": function (p, L) {
      var t = p.trend, x = t.map(function (r) { return r.period; });
      return [[
        { x: x, y: t.map(function (r) { return nonNull(r.csat.csat); }), mode: "lines+markers", name: L.csat, line: { color: COLORS.promoter } },
        { x: x, y: t.map(function (r) { return nonNull(r.ces.mean); }), mode: "lines+markers", name: L.ces, yaxis: "y2", line: { color: COLORS.passive } }
      ], { yaxis: { range: [0, 100], title: L.csat }, yaxis2: { overlaying: "y", side: "right", range: [1, 7], title: L.ces } }];
    },
    "volume": function (p, L) {
      var t = p.trend;
      return [[{ type: "bar", x: t.map(function (r) { return r.period; }), y: t.map(function (r) { return r.n; }), name: L.responses, marker: { color: COLORS.primary } }], { yaxis: { title: L.responses } }];
    },
    "distribution": function (p, L, B) {
      // B: the NPS category edges, from surveys.scoring through the page's JSON.
      var d = p.distribution.nps, x = [], y = [], c = [];
      for (var s = 0; s <= 10; s++) { x.push(String(s)); y.push(d[String(s)] || 0); c.push(s >= B.promoter_min ? COLORS.promoter : s >= B.passive_min ? COLORS.passive : COLORS.detractor); }
      return [[{ type: "bar", x: x, y: y, marker: { color: c }, name: L.count }], { xaxis: { title: L.score, type: "category" }, yaxis: { title: L.count } }];
    },
    "categories": function (p, L) {
      var n = p.summary.nps;
      return [[{ type: "pie", hole: 0.5, sort: false, labels: [L.promoters, L.passives, L.detractors], values: [n.promoters, n.passives, n.detractors],
        marker: { colors: [COLORS.promoter, COLORS.passive, COLORS.detractor] } }], {}];
    },
    "stages": function (p, L) {
      var s = p.stages, x = s.map(function (r) { return r.name; });
      return [[
        { type: "bar", x: x, y: s.map(function (r) { return r.scores ? nonNull(r.scores.nps.nps) : null; }), name: L.nps, marker: { color: COLORS.primary } },
        { type: "bar", x: x, y: s.map(function (r) { return r.scores ? nonNull(r.scores.csat.csat) : null; }), name: L.csat, marker: { color: COLORS.promoter } }
      ], { barmode: "group", yaxis: { range: [-100, 100] } }];
    },
    "reach": function (p, L) {
      var s = p.stages;
      return [[{ type: "funnel", y: s.map(function (r) { return r.name; }), x: s.map(function (r) { return r.customers; }), name: L.interactions, marker: { color: COLORS.primary } }], { margin: { l: 110, r: 20, t: 10, b: 30 } }];
    },
    "touchpoints": function (p, L) {
      var tps = [];
      p.stages.forEach(function (s) { s.touchpoints.forEach(function (t) { tps.push(t); }); });
      var x = tps.map(function (t) { return t.name; });
      return [[
        { type: "bar", x: x, y: tps.map(function (t) { return t.scores ? nonNull(t.scores.nps.nps) : null; }), name: L.nps, marker: { color: COLORS.primary } },
        { type: "bar", x: x, y: tps.map(function (t) { return t.scores ? nonNull(t.scores.csat.csat) : null; }), name: L.csat, marker: { color: COLORS.promoter } },
        { type: "bar", x: x, y: tps.map(function (t) { return t.scores && t.scores.ces.mean !== null ? 100 * (t.scores.ces.mean - 1) / 6 : null; }), name: L.ces + " (0–100)", marker: { color: COLORS.passive } }
      ], { barmode: "group", yaxis: { range: [-100, 100] }, margin: { l: 50, r: 20, t: 10, b: 110 } }];
    },
    "cohorts": function (p, L) {
      var c = p.cohorts, maxK = 0;
      c.forEach(function (row) { maxK = Math.max(maxK, row.retention.length); });
      var z = c.map(function (row) {
        var out = [];
        for (var k = 0; k < maxK; k++) { var cell = row.retention[k]; out.push(cell && cell.rate !== null ? Math.round(1000 * cell.rate) / 10 : null); }
        return out;
      });
      var xs = []; for (var k = 0; k < maxK; k++) xs.push("M" + k);
      return [[{ type: "heatmap", z: z, x: xs, y: c.map(function (r) { return r.cohort + " (" + r.size + ")"; }), colorscale: "Blues", reversescale: true, zmin: 0, zmax: 100,
        hovertemplate: L.cohort + " %{y}, %{x}: %{z}%<extra></extra>", colorbar: { title: "%" } }],
        { xaxis: { title: L.months_since }, yaxis: { autorange: "reversed" }, margin: { l: 110, r: 20, t: 10, b: 50 } }];
    },
    "retention-trend": function (p, L) {
      var t = p.trend, x = t.map(function (r) { return r.start.slice(0, 7); });
      return [[
        { x: x, y: t.map(function (r) { return r.retention_rate === null ? null : 100 * r.retention_rate; }), mode: "lines+markers", name: L.retention, line: { color: COLORS.promoter } },
        { x: x, y: t.map(function (r) { return r.churn_rate === null ? null : 100 * r.churn_rate; }), mode: "lines+markers", name: L.churn, line: { color: COLORS.detractor } }
      ], { yaxis: { title: "%" } }];
    },
    "clv": function (p, L) {
      var h = p.clv_histogram, x = [];
      for (var i = 0; i < h.counts.length; i++) x.push((h.edges[i] + h.edges[i + 1]) / 2);
      return [[{ type: "bar", x: x, y: h.counts, name: L.customers, marker: { color: COLORS.primary },
        hovertemplate: L.currency_symbol + "%{x:,.2f}: %{y}<extra></extra>" }],
        { xaxis: { title: L.value, tickprefix: L.currency_symbol, separatethousands: true }, yaxis: { title: L.customers }, bargap: 0.05 }];
    },
    "tiers": function (p, L) {
      var t = p.tiers;
      return [[{ type: "bar", x: t.map(function (r) { return L.tiers[r.tier] || r.tier; }), y: t.map(function (r) { return r.customers; }), name: L.customers, marker: { color: [COLORS.promoter, COLORS.passive, COLORS.grey] } }], { yaxis: { title: L.customers } }];
    },
    "rfm": function (p, L) {
      return [[{ type: "heatmap", z: p.rfm_grid, x: ["F1", "F2", "F3", "F4", "F5"], y: ["R1", "R2", "R3", "R4", "R5"], colorscale: "Blues", reversescale: true,
        texttemplate: "%{z}", hovertemplate: "%{y} %{x}: %{z}<extra></extra>" }], { xaxis: { title: L.frequency }, yaxis: { title: L.recency } }];
    },
    "lifecycle": function (p, L) {
      var h = p.lifecycle_history, x = h.map(function (r) { return r.date; });
      var colors = { "new": COLORS.primary, active: COLORS.promoter, at_risk: COLORS.passive, churned: COLORS.detractor };
      return [["new", "active", "at_risk", "churned"].map(function (k) {
        return { type: "bar", x: x, y: h.map(function (r) { return r[k]; }), name: L.lifecycle[k] || k, marker: { color: colors[k] } };
      }), { barmode: "stack", yaxis: { title: L.customers } }];
    },
    "quadrant": function (p, L) {
      var d = p.drivers.filter(function (r) { return r.importance !== null; });
      var meanX = 0, meanY = 0;
      d.forEach(function (r) { meanX += r.performance_pct; meanY += r.importance; });
      if (d.length) { meanX /= d.length; meanY /= d.length; }
      return [[{ type: "scatter", mode: "markers+text", x: d.map(function (r) { return r.performance_pct; }), y: d.map(function (r) { return r.importance; }),
        text: d.map(function (r) { return r.label + " (n=" + r.n + ")"; }), textposition: "top center",
        marker: { size: d.map(function (r) { return 10 + Math.min(30, Math.sqrt(r.n)); }), color: COLORS.primary, opacity: 0.7 },
        hovertemplate: "%{text}<br>" + L.performance + ": %{x:.1f}<br>" + L.importance + ": %{y:.1f}<extra></extra>" }],
        { xaxis: { title: L.performance, range: [0, 100] }, yaxis: { title: L.importance, rangemode: "tozero" },
          shapes: [{ type: "line", x0: meanX, x1: meanX, yref: "paper", y0: 0, y1: 1, line: { dash: "dot", color: COLORS.grey } },
                   { type: "line", y0: meanY, y1: meanY, xref: "paper", x0: 0, x1: 1, line: { dash: "dot", color: COLORS.grey } }] }];
    }
  };

  // A dashboard with chart kinds of its own adds them from its own script (Dashboard.scripts in
  // metrics/dashboards/registry.py), loaded after this one and before the page is drawn.
  window.cxmDashboardCharts = {
    register: function (name, build) { builders[name] = build; },
    colors: COLORS,
    nonNull: nonNull
  };

  function render() {
    var data = readData();
    if (!data || !data.payload || !Object.keys(data.payload).length) return;
    document.querySelectorAll("[data-chart]").forEach(function (el) {
      var name = el.getAttribute("data-chart"), build = builders[name];
      if (!build) return;
      try {
        var spec = build(data.payload, data.labels, data.nps_bands);
        draw(el, spec[0], spec[1], data.dashboard + "-" + name, data.labels);
      } catch (err) {
        el.textContent = String(err);
      }
    });
  }

  function poll() {
    var status = document.querySelector(".dash-status[data-poll]");
    if (!status) return;
    // The page shows the snapshot computed at `shown`; reload once a newer one is stored.
    var url = status.getAttribute("data-status-url"), shown = status.getAttribute("data-computed-at") || "";
    var timer = window.setInterval(function () {
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } }).then(function (r) { return r.json(); }).then(function (s) {
        var bar = document.querySelector("[data-progress]");
        if (bar) bar.style.width = Math.round(100 * (s.progress || 0)) + "%";
        var job = document.querySelector("[data-job]");
        var newer = (s.computed_at && s.computed_at !== shown && !s.running) || (shown && !s.computed_at);
        if ((job && s.ready) || newer) { window.clearInterval(timer); window.location.reload(); }
      }).catch(function () { window.clearInterval(timer); });
    }, 2000);
  }

  document.addEventListener("DOMContentLoaded", function () { render(); poll(); });
})();
