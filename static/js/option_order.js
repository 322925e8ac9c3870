/* Reorder an option set by dragging a row's handle (desktop and tablet browsers); on drop the new
 * order is posted as one change (the server refuses it if the set changed meanwhile). The ▲▼
 * buttons stay for phones and keyboards. */
(function () {
  "use strict";
  var table = document.querySelector("[data-sortable]");
  var form = document.getElementById("option-order");
  if (!table || !form) return;
  var hint = document.querySelector("[data-drag-hint]");
  if (hint) hint.hidden = false;
  var body = table.querySelector("tbody");
  var dragged = null;

  body.addEventListener("dragstart", function (event) {
    var handle = event.target.closest && event.target.closest(".drag-handle");
    if (!handle) { event.preventDefault(); return; }
    dragged = handle.closest("tr");
    dragged.classList.add("dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", dragged.getAttribute("data-code"));
  });
  body.addEventListener("dragover", function (event) {
    if (!dragged) return;
    event.preventDefault();
    var row = event.target.closest("tr");
    if (!row || row === dragged) return;
    var box = row.getBoundingClientRect();
    var after = event.clientY > box.top + box.height / 2;
    body.insertBefore(dragged, after ? row.nextSibling : row);
  });
  body.addEventListener("drop", function (event) {
    if (!dragged) return;
    event.preventDefault();
    form.querySelectorAll("input[name=order]").forEach(function (input) { input.remove(); });
    body.querySelectorAll("tr[data-code]").forEach(function (row) {
      var input = document.createElement("input");
      input.type = "hidden";
      input.name = "order";
      input.value = row.getAttribute("data-code");
      form.appendChild(input);
    });
    form.submit();
  });
  body.addEventListener("dragend", function () {
    if (dragged) dragged.classList.remove("dragging");
    dragged = null;
  });
})();
