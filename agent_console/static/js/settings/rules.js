// Settings › Automation rules: listed in words, edited as JSON, switched on and off.
// Methods of SettingsView (settings.js mixes them in): `this` is the settings view.
import {all, api} from "../api.js";
import {h} from "../dom.js";
import {t} from "../i18n.js";
import {field, table, button, parseObject, conditionText, actionText} from "./common.js";

// a rule's own fields edited as JSON (name has its own field, enabled its switch in the list; id and
// created_at are the hub's)
const RULE_JSON = ["order", "trigger", "conditions", "any_conditions", "actions", "stop_processing"];

export class RulesSettings {
  // listed readably; written as JSON (trigger, conditions, actions…) that the hub checks on save. A
  // visual rule builder is not here: docs/ticketing.md describes the fields, operators and actions.
  async loadRules() {
    this.rules = await all("/automation-rules?sort=name");
    await this.readEditing("editingRule", this.rules, "/automation-rules");
  }

  triggerText(trigger) {
    const name = t(`trigger.${trigger.type}`);
    if (trigger.type !== "time") return name;
    return t("settings.rule_time", {status: trigger.status ? t(`status.${trigger.status}`) : "—",
      n: trigger.after_minutes ?? "—"});
  }

  rulesPanel() {
    const lines = (items, text) => h("ul", {class: "targets"}, items.map((x) => h("li", {text: text(x)})));
    const conditions = (r) => [
      r.conditions.length ? lines(r.conditions, conditionText) : null,
      r.any_conditions.length ? [h("div", {class: "muted", text: t("settings.rule_any")}),
        lines(r.any_conditions, conditionText)] : null,
      !r.conditions.length && !r.any_conditions.length ? t("settings.rule_always") : null];
    const toggle = (r) => this.attempt(() => api("PATCH", `/automation-rules/${r.id}`, {enabled: !r.enabled}),
      t(r.enabled ? "settings.rule_disabled" : "settings.rule_enabled", {name: r.name}));
    const rows = this.rules.map((r) => h("tr", {dataset: {rule: r.id}, class: r.enabled ? "" : "inactive"},
      h("td", {}, h("strong", {text: r.name}), h("div", {class: "muted", text: `#${r.order}`})),
      h("td", {text: this.triggerText(r.trigger)}),
      h("td", {}, conditions(r)),
      h("td", {}, lines(r.actions, actionText),
        r.stop_processing ? h("div", {class: "muted", text: t("settings.rule_stops")}) : null),
      h("td", {}, h("span", {class: `badge ${r.enabled ? "ok" : "error"}`,
        text: r.enabled ? t("settings.active") : t("settings.disabled")})),
      h("td", {}, button(r.enabled ? t("settings.disable") : t("settings.enable"), () => toggle(r),
        {class: "link toggle", "aria-label": t(r.enabled ? "settings.disable_named" : "settings.enable_named",
          {name: r.name})}),
      button(t("settings.edit"), () => this.editRule(r),
        {class: "link edit", "aria-label": t("settings.item_edit_named", {name: r.name})}),
      button(t("settings.delete"), () => this.deleteRule(r),
        {class: "link delete", "aria-label": t("settings.item_delete_named", {name: r.name})}))));
    const headers = ["settings.name", "settings.rule_when", "settings.rule_if", "settings.rule_then",
      "settings.state", ""];
    return [this.ruleForm(), rows.length ? table("rules-table", headers, rows)
      : h("p", {class: "muted", text: t("settings.none")})];
  }

  async editRule(rule) {
    this.editingRule = rule.id;
    await this.refresh();
    this.el.querySelector("#rule-name")?.focus();
  }

  deleteRule(rule) {
    if (!window.confirm(t("settings.rule_delete_confirm", {name: rule.name}))) return;
    return this.attempt(() => api("DELETE", `/automation-rules/${rule.id}`), t("settings.saved"));
  }

  ruleForm() {
    const editing = this.rules.find((r) => r.id === this.editingRule) || null;
    const example = {trigger: {type: "message.created"}, conditions: [{field: "text", op: "contains",
      value: "refund"}], any_conditions: [], actions: [{type: "add_tag", params: {tag: "refund"}}],
    order: 100, stop_processing: false};
    const shown = editing ? Object.fromEntries(RULE_JSON.map((k) => [k, editing[k]])) : example;
    const name = h("input", {type: "text", id: "rule-name", required: true, maxlength: 200,
      autocomplete: "off", value: editing?.name ?? ""});
    const json = h("textarea", {id: "rule-json", rows: 12, spellcheck: "false", class: "code",
      "aria-describedby": "rule-json-hint", value: JSON.stringify(shown, null, 2)});
    // the JSON is the whole rule: a list or switch left out of it is emptied, not kept from before
    const body = () => ({conditions: [], any_conditions: [], stop_processing: false,
      ...parseObject(json.value), name: name.value.trim()});
    const save = (ev) => {
      ev.preventDefault();
      if (editing) {
        return this.saveEdited({path: `/automation-rules/${editing.id}`, base: editing,
          etag: this.etags.editingRule, body, form: ev.target, labels: {name: t("settings.name")}},
        () => { this.editingRule = null; });
      }
      return this.attempt(() => api("POST", "/automation-rules", body()), t("settings.saved"));
    };
    const cancel = () => { this.editingRule = null; this.refresh(); };
    return h("form", {class: "card settings-form wide", id: "rule-form", onsubmit: save},
      h("h3", {text: editing ? t("settings.rule_edit", {name: editing.name}) : t("settings.rule_new")}),
      field(t("settings.name"), name), field(t("settings.rule_json"), json),
      h("p", {class: "muted hint", id: "rule-json-hint", text: t("settings.rule_json_hint")}),
      h("div", {class: "row"}, h("button", {type: "submit", class: "primary",
        text: editing ? t("settings.save") : t("settings.create")}),
      editing && button(t("settings.cancel"), cancel)));
  }
}
