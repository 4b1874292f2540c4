// Question editor: the answer options' rows (a Django formset that works without JavaScript) gain
// "add" without a round trip, and the options show only for choice questions. No inline scripts (CSP).
(function () {
  "use strict";
  var form = document.querySelector("[data-question-form]");
  if (!form) return;
  var editor = form.querySelector("[data-options-editor]");
  var kind = form.querySelector("select[name=kind]");
  var choiceKinds = (form.getAttribute("data-choice-kinds") || "").split(" ");
  if (!editor) return;
  var rows = editor.querySelector("[data-option-rows]");
  var template = editor.querySelector("[data-option-template]");
  var total = form.querySelector("input[name=options-TOTAL_FORMS]");

  function showForKind() {
    if (kind) editor.hidden = choiceKinds.indexOf(kind.value) < 0;
  }
  function markRemoved(box) {
    var row = box.closest("[data-option-row]");
    if (row) row.classList.toggle("removed", box.checked);
  }

  editor.addEventListener("click", function (event) {
    var add = event.target.closest && event.target.closest("[data-add-option]");
    if (!add || !template || !total) return;
    event.preventDefault();
    var index = parseInt(total.value, 10) || 0;
    var holder = document.createElement("div");
    holder.innerHTML = template.innerHTML.replace(/__prefix__/g, String(index));
    var row = holder.firstElementChild;
    rows.appendChild(row);
    total.value = String(index + 1);
    var first = row.querySelector("input[type=text]");
    if (first) first.focus();
  });
  editor.addEventListener("change", function (event) {
    if (event.target.matches && event.target.matches("input[name$='-DELETE']")) markRemoved(event.target);
  });
  if (kind) kind.addEventListener("change", showForKind);
  editor.querySelectorAll("input[name$='-DELETE']").forEach(markRemoved);
  showForKind();
})();
