/* The action form: rules from GET /api/v1/rules applied live, date and time shortcuts. */
(function () {
  "use strict";
  var form = document.getElementById("action-form");
  if (!form) return;
  var Rules = window.SalesTraceRules;
  var fieldNames = form.dataset.fields.split(",");
  var rules = [];
  var loadedAt = Date.now();

  /* Files count for the rules as evidence_<kind>: one entry per file picked now or kept from an
     earlier try (data-kept on the field), so "a visit needs a photo" is checked before saving. */
  function evidence(name) {
    var box = wrapper(name);
    var input = form.querySelector('input[type="file"][name="' + name + '"]');
    var list = [];
    for (var i = 0; i < Number((box && box.dataset.kept) || 0); i++) list.push("kept");
    if (input && input.files) for (var j = 0; j < input.files.length; j++) list.push(input.files[j].name);
    return list;
  }

  function values() {
    var data = new FormData(form);
    var out = {};
    fieldNames.forEach(function (name) {
      if (name.indexOf("evidence_") === 0) {
        out[name] = evidence(name);
        return;
      }
      var value = data.get(name);
      out[name] = value === null ? "" : String(value);
    });
    out.next_step_date = out.next_step_date || null;
    return out;
  }

  function wrapper(field) {
    return form.querySelector('[data-field="' + field + '"]');
  }

  /* Mark what the rules require now; with `strict`, blank required fields become errors. */
  function apply(strict) {
    var current = values();
    var required = Rules.requiredFields(current, rules);
    var byField = {};
    Rules.evaluate(current, rules).forEach(function (v) { byField[v.field] = v; });
    fieldNames.forEach(function (field) {
      var box = wrapper(field);
      if (!box) return;
      var mark = box.querySelector(".required-mark");
      var msg = box.querySelector(".rule-msg");
      var isRequired = !!required[field];
      box.classList.toggle("is-required", isRequired);
      if (mark) mark.hidden = !isRequired;
      box.querySelectorAll("input, textarea").forEach(function (input) {
        if (input.type !== "radio") input.setAttribute("aria-required", isRequired ? "true" : "false");
      });
      if (box.tagName === "FIELDSET") box.setAttribute("aria-required", isRequired ? "true" : "false");
      if (msg) msg.textContent = byField[field] ? byField[field].message : "";
      if (strict && byField[field]) box.classList.add("has-error");
      if (!byField[field] && !box.querySelector(".field-error")) box.classList.remove("has-error");
    });
    return Object.keys(byField);
  }

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  /* "YYYY-MM-DDTHH:MM" read and written as wall-clock time, whatever the phone's time zone. */
  function parseLocal(text) {
    var m = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2}))?/.exec(text || "");
    if (!m) return null;
    return new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +(m[4] || 0), +(m[5] || 0)));
  }
  function formatDate(d) { return d.getUTCFullYear() + "-" + pad(d.getUTCMonth() + 1) + "-" + pad(d.getUTCDate()); }
  function formatDateTime(d) { return formatDate(d) + "T" + pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes()); }

  function setValue(input, value) {
    input.value = value;
    input.dispatchEvent(new Event("input", { bubbles: true }));
    input.dispatchEvent(new Event("change", { bubbles: true }));
  }

  var occurred = form.querySelector('[name="occurred_at"]');
  form.querySelectorAll("[data-minutes-ago]").forEach(function (button) {
    button.addEventListener("click", function () {
      var base = parseLocal(form.dataset.serverNow);
      if (!base) return;
      var at = new Date(base.getTime() + (Date.now() - loadedAt) - Number(button.dataset.minutesAgo) * 60000);
      setValue(occurred, formatDateTime(at));
    });
  });

  var nextDate = form.querySelector('[name="next_step_date"]');
  form.querySelectorAll("[data-days]").forEach(function (button) {
    button.addEventListener("click", function () {
      var base = parseLocal(occurred.value) || parseLocal(form.dataset.serverNow);
      if (!base) return;
      var shift = button.dataset.days;
      var days = shift === "monday" ? ((8 - base.getUTCDay()) % 7 || 7) : Number(shift);
      setValue(nextDate, formatDate(new Date(base.getTime() + days * 86400000)));
    });
  });

  /* Typing a next step with no date yet proposes one three days out (the seed's usual follow-up
     rhythm), so the date costs a tap only when it differs; the shortcuts and picker still change it. */
  var plan = form.querySelector('[name="next_step_plan"]');
  if (plan && nextDate) {
    plan.addEventListener("input", function () {
      if (!plan.value.trim() || nextDate.value) return;
      var base = parseLocal(occurred.value) || parseLocal(form.dataset.serverNow);
      if (base) setValue(nextDate, formatDate(new Date(base.getTime() + 3 * 86400000)));
    });
  }

  form.addEventListener("input", function () { apply(false); });
  form.addEventListener("change", function () { apply(false); });

  form.addEventListener("submit", function (event) {
    var missing = apply(true);
    if (missing.length) {
      event.preventDefault();
      var first = wrapper(missing[0]);
      var target = first && (first.querySelector("input:checked") || first.querySelector("input, textarea"));
      if (target) target.focus();
      if (first) first.scrollIntoView({ block: "center" });
      return;
    }
    var save = document.getElementById("save");
    if (save) save.setAttribute("aria-busy", "true");
  });

  var errors = document.getElementById("form-errors");
  if (errors) {
    var firstError = form.querySelector(".has-error input:checked, .has-error input, .has-error textarea");
    (firstError || errors).focus();
  }

  var headers = { Accept: "application/json", "Accept-Language": document.documentElement.lang || "zh-hans" };
  fetch(form.dataset.rulesUrl, { credentials: "same-origin", headers: headers })
    .then(function (response) { return response.ok ? response.json() : []; })
    .then(function (list) {
      rules = Array.isArray(list) ? list : [];
      apply(false);
      form.dataset.rulesReady = "true";
    })
    .catch(function () { form.dataset.rulesReady = "failed"; });
})();
