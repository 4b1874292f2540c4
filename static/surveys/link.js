// Link survey: show follow-up questions for the chosen score (without JS every question shows).
(function () {
  "use strict";
  var form = document.querySelector("[data-survey-form]");
  if (!form) return;
  function value(qid) {
    var checked = form.querySelector('input[name="q' + qid + '"]:checked');
    return checked ? parseInt(checked.value, 10) : null;
  }
  function update() {
    var items = form.querySelectorAll("[data-show-if]");
    for (var i = 0; i < items.length; i++) {
      var parts = items[i].getAttribute("data-show-if").split(":");
      var v = value(parts[0]);
      items[i].hidden = !(v !== null && v >= +parts[1] && v <= +parts[2]);
    }
  }
  form.addEventListener("change", update);
  update();
  if (form.hasAttribute("data-preview")) form.addEventListener("submit", function (e) { e.preventDefault(); });
  var error = document.getElementById("form-error");
  if (error) error.focus();
})();
