// Journey map: drag touchpoint cards to reorder them or move them to another stage (saved through the API).
(function () {
  "use strict";
  var dragged = null;
  function csrfToken() {
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }
  function cardAfter(list, y) {
    var cards = Array.prototype.slice.call(list.querySelectorAll(".tp-card:not(.dragging)"));
    for (var i = 0; i < cards.length; i++) {
      var box = cards[i].getBoundingClientRect();
      if (y < box.top + box.height / 2) return cards[i];
    }
    return null;
  }
  document.querySelectorAll(".cards[data-reorder-url]").forEach(function (list) {
    list.addEventListener("dragover", function (event) {
      if (!dragged) return;
      event.preventDefault();
      var after = cardAfter(list, event.clientY);
      var empty = list.querySelector(".empty");
      if (empty) empty.remove();
      if (after) list.insertBefore(dragged, after); else list.appendChild(dragged);
    });
    list.addEventListener("drop", function (event) {
      if (!dragged) return;
      event.preventDefault();
      var order = Array.prototype.map.call(list.querySelectorAll(".tp-card"), function (card) {
        return Number(card.getAttribute("data-id"));
      });
      list.classList.add("saving");
      fetch(list.getAttribute("data-reorder-url"), {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken(), Accept: "application/json" },
        body: JSON.stringify({ order: order })
      }).finally(function () { window.location.reload(); });
    });
  });
  document.querySelectorAll(".tp-card[draggable=true]").forEach(function (card) {
    card.addEventListener("dragstart", function (event) {
      dragged = card;
      card.classList.add("dragging");
      event.dataTransfer.effectAllowed = "move";
      event.dataTransfer.setData("text/plain", card.getAttribute("data-id"));
    });
    card.addEventListener("dragend", function () {
      card.classList.remove("dragging");
    });
  });
})();
