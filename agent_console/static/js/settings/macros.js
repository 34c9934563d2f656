// Settings › Macros: named sets of actions agents apply to a ticket.
// Methods of SettingsView (settings.js mixes them in): `this` is the settings view.
import {all, api} from "../api.js";
import {h} from "../dom.js";
import {t} from "../i18n.js";
import {field, table, button, parseObject, actionText} from "./common.js";

export class MacrosSettings {
  // written here, with their actions as JSON; applied with POST /conversations/{id}/macros/{macro_id}
  // (from a ticket: thread.js, the Macros menu beside the reply box)
  async loadMacros() {
    [this.macros, this.teams] = await Promise.all([all("/macros?sort=name"), all("/teams")]);
    await this.readEditing("editingMacro", this.macros, "/macros");
  }

  macrosPanel() {
    const rows = this.macros.map((m) => h("tr", {dataset: {macro: m.id}},
      h("td", {}, h("strong", {text: m.name}), m.description && h("div", {class: "muted", text: m.description})),
      h("td", {}, h("ul", {class: "targets"}, m.actions.map((a) => h("li", {text: actionText(a)})))),
      h("td", {text: m.team_id ? this.teamName(m.team_id) : t("settings.shared")}),
      h("td", {}, button(t("settings.edit"), () => this.editMacro(m),
        {class: "link edit", "aria-label": t("settings.item_edit_named", {name: m.name})}),
      button(t("settings.delete"), () => this.deleteMacro(m),
        {class: "link delete", "aria-label": t("settings.item_delete_named", {name: m.name})}))));
    const headers = ["settings.name", "settings.rule_then", "settings.team", ""];
    return [this.macroForm(), rows.length ? table("macros-table", headers, rows)
      : h("p", {class: "muted", text: t("settings.none")})];
  }

  async editMacro(macro) {
    this.editingMacro = macro.id;
    await this.refresh();
    this.el.querySelector("#macro-name")?.focus();
  }

  deleteMacro(macro) {
    if (!window.confirm(t("settings.macro_delete_confirm", {name: macro.name}))) return;
    return this.attempt(() => api("DELETE", `/macros/${macro.id}`), t("settings.saved"));
  }

  macroForm() {
    const editing = this.macros.find((m) => m.id === this.editingMacro) || null;
    const name = h("input", {type: "text", id: "macro-name", required: true, maxlength: 200,
      autocomplete: "off", value: editing?.name ?? ""});
    const description = h("input", {type: "text", id: "macro-description", maxlength: 2000,
      autocomplete: "off", value: editing?.description ?? ""});
    const team = h("select", {id: "macro-team"}, h("option", {value: "", text: t("settings.shared")}),
      this.teams.map((tm) => h("option", {value: tm.id, text: tm.name, selected: editing?.team_id === tm.id})));
    const shown = editing?.actions ?? [{type: "add_tag", params: {tag: "billing"}}, {type: "resolve", params: {}}];
    const json = h("textarea", {id: "macro-json", rows: 8, spellcheck: "false", class: "code",
      "aria-describedby": "macro-json-hint", value: JSON.stringify(shown, null, 2)});
    const body = () => ({name: name.value.trim(), description: description.value.trim(),
      actions: parseObject(`{"actions": ${json.value.trim() || "null"}}`).actions,
      team_id: team.value || null});
    const save = (ev) => {
      ev.preventDefault();
      if (editing) {
        return this.saveEdited({path: `/macros/${editing.id}`, base: editing, etag: this.etags.editingMacro,
          body, form: ev.target, labels: {name: t("settings.name"), description: t("settings.description"),
            actions: t("settings.rule_then"), team_id: t("settings.team")},
          show: {team_id: this.teamLabel()}},
        () => { this.editingMacro = null; });
      }
      return this.attempt(() => api("POST", "/macros", body()), t("settings.saved"));
    };
    const cancel = () => { this.editingMacro = null; this.refresh(); };
    return h("form", {class: "card settings-form wide", id: "macro-form", onsubmit: save},
      h("h3", {text: editing ? t("settings.macro_edit", {name: editing.name}) : t("settings.macro_new")}),
      field(t("settings.name"), name), field(t("settings.description"), description),
      field(t("settings.team"), team), field(t("settings.macro_json"), json),
      h("p", {class: "muted hint", id: "macro-json-hint", text: t("settings.macro_json_hint")}),
      h("div", {class: "row"}, h("button", {type: "submit", class: "primary",
        text: editing ? t("settings.save") : t("settings.create")}),
      editing && button(t("settings.cancel"), cancel)));
  }
}
