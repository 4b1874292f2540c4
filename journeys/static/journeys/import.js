// Polls an import job's status and updates its progress bar and bad rows until it finishes.
(function () {
  "use strict";
  var root = document.getElementById("import-job");
  if (!root) return;
  var url = root.getAttribute("data-status-url");
  function set(field, value) {
    document.querySelectorAll('[data-field="' + field + '"]').forEach(function (el) { el.textContent = value; });
  }
  function showErrors(errors) {
    var body = document.querySelector("[data-errors]");
    if (!body || !errors.length) return;
    body.textContent = "";
    errors.forEach(function (e) {
      var tr = document.createElement("tr");
      [e.line, e.field || "–", e.reason].forEach(function (v, i) {
        var td = document.createElement("td");
        if (i === 0) td.className = "num";
        td.textContent = v;
        tr.appendChild(td);
      });
      body.appendChild(tr);
    });
    document.getElementById("import-errors").hidden = false;
  }
  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (s) {
        set("status_display", s.status_display);
        set("processed", s.processed);
        set("total", s.total);
        set("message", s.message);
        set("error_count", s.error_count);
        var bar = root.querySelector(".progress");
        bar.setAttribute("aria-valuenow", s.percent);
        bar.firstElementChild.style.width = s.percent + "%";
        showErrors(s.errors);
        if (!s.finished) window.setTimeout(poll, 1000);
      })
      .catch(function () { window.setTimeout(poll, 3000); });
  }
  if (root.getAttribute("data-finished") !== "1") poll();
})();
