// The Text dashboard's charts: sentiment over time, themes (mentions and NPS impact), themes over time.
// Theme names come in both languages in the payload; the page's language picks one.
(function () {
  "use strict";
  var charts = window.cxmDashboardCharts;
  if (!charts) return;
  var C = { positive: "#12a150", neutral: "#8a94a6", negative: "#d64545", primary: "#1f5fbf" };
  function labels() {
    var el = document.getElementById("text-chart-labels");
    return el ? el.dataset : {};
  }
  function zh() { return (document.documentElement.lang || "").indexOf("zh") === 0; }
  function themeName(row) { return zh() ? row.name_zh : row.name_en; }

  charts.register("text-sentiment", function (p) {
    var L = labels(), t = p.sentiment_trend || [], x = t.map(function (r) { return r.bucket; });
    var bar = function (key) {
      return { type: "bar", x: x, y: t.map(function (r) { return r[key]; }), name: L[key], marker: { color: C[key] } };
    };
    return [[bar("negative"), bar("neutral"), bar("positive"),
      { x: x, y: t.map(function (r) { return charts.nonNull(r.avg_sentiment); }), mode: "lines+markers", name: L.average, yaxis: "y2", line: { color: C.primary } }],
      { barmode: "stack", yaxis: { title: L.comments }, yaxis2: { overlaying: "y", side: "right", range: [-1, 1], dtick: 0.5, showgrid: false, title: L.average } }];
  });

  charts.register("text-themes", function (p) {
    var L = labels(), rows = (p.themes || []).filter(function (r) { return r.mentions > 0; }).slice(0, 12);
    var names = rows.map(themeName);
    return [[
      { type: "bar", x: names, y: rows.map(function (r) { return r.mentions; }), name: L.mentions, marker: { color: rows.map(function (r) { return (r.avg_sentiment || 0) < -0.05 ? C.negative : (r.avg_sentiment || 0) > 0.05 ? C.positive : C.neutral; }) } }
    ], { yaxis: { title: L.mentions }, showlegend: false }];
  });

  charts.register("text-theme-trend", function (p) {
    var byTheme = {}, names = {};
    (p.themes || []).forEach(function (r) { names[r.theme] = themeName(r); });
    (p.theme_trend || []).forEach(function (r) { (byTheme[r.theme] = byTheme[r.theme] || []).push(r); });
    var L = labels();
    return [(p.trend_themes || []).filter(function (k) { return byTheme[k]; }).map(function (k) {
      return { x: byTheme[k].map(function (r) { return r.bucket; }), y: byTheme[k].map(function (r) { return r.mentions; }), mode: "lines+markers", name: names[k] || k };
    }), { yaxis: { title: L.mentions } }];
  });
})();
