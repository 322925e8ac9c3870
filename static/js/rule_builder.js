/* The rule builder page: the messages stop following the rule once the manager writes their own,
 * and the phone preview marks what the draft rule requires, through the same evaluator as the
 * phone form (rules.js). The editor is re-rendered by the server (htmx) on every change of the
 * builder, so everything here works by delegation and re-reads the preview after each swap.
 */
(function () {
  "use strict";

  function preview() {
    var box = document.querySelector("[data-preview]");
    if (!box) return;
    var data = JSON.parse(box.getAttribute("data-preview"));
    var values = {};
    box.querySelectorAll("[data-preview-input]").forEach(function (input) {
      var name = input.getAttribute("data-preview-input");
      if (input.hasAttribute("data-evidence")) values[name] = input.checked ? ["file"] : [];
      else values[name] = input.value;
    });
    var violations = data.rule ? window.SalesTraceRules.evaluate(values, [data.rule]) : [];
    var failing = {};
    violations.forEach(function (v) { failing[v.field] = true; });
    box.querySelectorAll("[data-field]").forEach(function (field) {
      var error = field.querySelector("[data-preview-error]");
      var name = field.getAttribute("data-field");
      field.classList.toggle("has-error", !!failing[name]);
      error.hidden = !failing[name];
      error.textContent = failing[name] ? data.message : "";
    });
  }

  document.addEventListener("input", function (event) {
    if (event.target.matches("[data-message]")) {
      var auto = document.querySelector("[data-message-auto]");
      if (auto) auto.value = "0";
    }
    if (event.target.closest("[data-preview]")) preview();
  });
  document.addEventListener("change", function (event) {
    if (event.target.closest("[data-preview]")) preview();
  });
  document.addEventListener("htmx:afterSettle", preview);
  document.addEventListener("DOMContentLoaded", function () {
    preview();
    // htmx (deferred, before this event) has bound the builder's change requests by now
    document.documentElement.setAttribute("data-rule-builder-ready", "true");
  });
})();
