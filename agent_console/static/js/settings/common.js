// Helpers the settings tabs share: labelled fields, tables, buttons, the hub's reasons, JSON objects
// typed in a textarea, and rules' and macros' conditions and actions in words.
import {h} from "../dom.js";
import {t} from "../i18n.js";

export const STAFF_ROLES = ["agent", "supervisor", "admin"];

let fieldIds = 0;
// a labelled form field: <label for> points at the control, so screen readers (and tests) find it
export function field(label, control) {
  control.id ||= `set-f${++fieldIds}`;
  return h("div", {class: "field"}, h("label", {for: control.id, text: label}), control);
}

export function table(id, headers, rows) {
  const head = h("tr", {}, headers.map((key) => h("th", {text: key ? t(key) : ""})));
  return h("table", {id}, h("thead", {}, head), h("tbody", {}, rows));
}

export function roleOptions(current = "") {
  return [...new Set([...STAFF_ROLES, current].filter(Boolean))].map((r) =>
    h("option", {value: r, text: t(`role.${r}`), selected: r === current}));
}

export function button(label, onclick, attrs = {}) {
  return h("button", {type: "button", onclick, text: label, ...attrs});
}

export const who = (u) => u.name || u.email;

// the hub's reason, with the field it names when the reason does not (a 422's `field`)
export function reason(err) {
  if (err.status === 412) return t("conflict.error");  // the hub's text speaks of ETags
  const text = err.message || String(err);
  const name = err.problem?.field;
  return name && !text.includes(name) ? `${text} (${t("settings.field")}: ${name})` : text;
}

// a JSON textarea's object, or an error that says why the text is not JSON (the hub never sees it)
export function parseObject(text) {
  let value;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new Error(t("settings.bad_json", {reason: err.message}));
  }
  if (!value || typeof value !== "object" || Array.isArray(value)) throw new Error(t("settings.json_object"));
  return value;
}

const plain = (v) => (typeof v === "string" ? v : JSON.stringify(v));

// a condition as one line: "priority = urgent", "tags contains vip (case-sensitive)"
export function conditionText(c) {
  const op = {eq: "=", ne: "≠", gte: "≥", lte: "≤", in: "∈", not_in: "∉"}[c.op] || c.op.replaceAll("_", " ");
  const unary = ["is_set", "not_set"].includes(c.op) || c.value === null || c.value === undefined;
  return [c.field, op, unary ? "" : plain(c.value),
    c.case_sensitive ? `(${t("settings.case_sensitive")})` : ""].filter(Boolean).join(" ");
}

// an action as one line: its name, then its parameters
export function actionText(a) {
  const params = Object.entries(a.params || {}).map(([k, v]) => `${k}: ${plain(v)}`).join(", ");
  return params ? `${t(`action.${a.type}`)} (${params})` : t(`action.${a.type}`);
}
