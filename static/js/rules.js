/* The rule language of salestrace/catalog/rules.py, for live checks in forms.
 * Keep the two in step: the server evaluates the same JSON and stays the authority.
 *   {"field": f, "equals": v}  {"field": f, "in": [...]}  {"field": f, "is_empty": bool}
 *   {"all": [...]}  {"any": [...]}  {"not": cond}  {} (always)
 * A requirement is a field name, or a list of names any one of which will do.
 */
(function (root) {
  "use strict";

  function isBlank(value) {
    if (value === null || value === undefined) return true;
    // Python's str.isspace() and JavaScript's \s together (catalog/rules.py agrees)
    if (typeof value === "string") return /^[\s\u0085\u001c-\u001f\ufeff]*$/.test(value);
    if (Array.isArray(value)) return value.length === 0;
    if (typeof value === "object") return Object.keys(value).length === 0;
    return false;
  }

  function get(values, field) {
    return Object.prototype.hasOwnProperty.call(values, field) ? values[field] : null;
  }

  function holds(cond, values) {
    if (cond === null || typeof cond !== "object" || Array.isArray(cond)) return false;
    if (Object.keys(cond).length === 0) return true;
    if ("all" in cond) return cond.all.every(function (part) { return holds(part, values); });
    if ("any" in cond) return cond.any.some(function (part) { return holds(part, values); });
    if ("not" in cond) return !holds(cond.not, values);
    var value = get(values, cond.field);
    if ("equals" in cond) return value === cond.equals;
    if ("in" in cond) return cond.in.indexOf(value) !== -1;
    if ("is_empty" in cond) return isBlank(value) === cond.is_empty;
    return false;
  }

  function names(requirement) {
    return Array.isArray(requirement) ? requirement : [requirement];
  }

  function unmet(requirement, values) {
    return names(requirement).every(function (name) { return isBlank(get(values, name)); });
  }

  /* Every requirement of a holding rule that is not met, once per field (its first), with the
   * first rule's message. */
  function evaluate(values, rules) {
    var seen = {};
    var violations = [];
    rules.forEach(function (rule) {
      if (!holds(rule.condition, values)) return;
      rule.requires.forEach(function (requirement) {
        var field = names(requirement)[0];
        if (!seen[field] && unmet(requirement, values)) {
          seen[field] = true;
          violations.push({ field: field, rule: rule.code, message: rule.message });
        }
      });
    });
    return violations;
  }

  /* What the form marks as required now: every field a holding rule requires on its own, and the
   * first field of a choice none of whose fields is filled yet. */
  function requiredFields(values, rules) {
    var fields = {};
    rules.forEach(function (rule) {
      if (!holds(rule.condition, values)) return;
      rule.requires.forEach(function (requirement) {
        var all = names(requirement);
        if (all.length === 1 || unmet(requirement, values)) fields[all[0]] = true;
      });
    });
    return fields;
  }

  root.SalesTraceRules = { isBlank: isBlank, holds: holds, evaluate: evaluate, requiredFields: requiredFields };
})(window);
