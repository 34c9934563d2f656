// Settings › Canned responses: shared or one team's, with template variables.
// Methods of SettingsView (settings.js mixes them in): `this` is the settings view.
import {all, api} from "../api.js";
import {h} from "../dom.js";
import {t} from "../i18n.js";
import {field, table, button} from "./common.js";

export class CannedSettings {
  async loadCanned() {
    [this.canned, this.teams] = await Promise.all([all("/canned-responses?sort=shortcut"), all("/teams")]);
    await this.readEditing("editing", this.canned, "/canned-responses");
  }

  cannedPanel() {
    const rows = this.canned.map((c) => h("tr", {dataset: {canned: c.id}},
      h("td", {}, h("code", {text: `/${c.shortcut}`})), h("td", {text: c.title}),
      h("td", {class: "preview", text: c.text}),
      h("td", {text: c.team_id ? this.teamName(c.team_id) : t("settings.shared")}),
      h("td", {}, button(t("settings.edit"), () => this.edit(c),
        {class: "link edit", "aria-label": t("settings.edit_named", {name: c.shortcut})}),
      button(t("settings.delete"), () => this.deleteCanned(c),
        {class: "link delete", "aria-label": t("settings.delete_named", {name: c.shortcut})}))));
    const headers = ["settings.shortcut", "settings.canned_title", "settings.text", "settings.team", ""];
    return [this.cannedForm(), rows.length ? table("canned-table", headers, rows)
      : h("p", {class: "muted", text: t("settings.none")})];
  }

  async edit(canned) {
    this.editing = canned.id;
    await this.refresh();
    this.el.querySelector("#canned-title")?.focus();
  }

  deleteCanned(canned) {
    if (!window.confirm(t("settings.delete_confirm", {name: canned.shortcut}))) return;
    return this.attempt(() => api("DELETE", `/canned-responses/${canned.id}`), t("settings.saved"));
  }

  cannedForm() {
    const editing = this.canned.find((c) => c.id === this.editing) || null;
    const shortcut = h("input", {type: "text", id: "canned-shortcut", required: true,
      pattern: "[a-z0-9_\\-]{1,40}", value: editing?.shortcut ?? "", autocomplete: "off",
      "aria-describedby": "canned-shortcut-hint"});
    const title = h("input", {type: "text", id: "canned-title", required: true, maxlength: 200,
      value: editing?.title ?? ""});
    const text = h("textarea", {id: "canned-text", required: true, maxlength: 5000, rows: 4,
      value: editing?.text ?? ""});
    const team = h("select", {id: "canned-team"}, h("option", {value: "", text: t("settings.shared")}),
      this.teams.map((tm) => h("option", {value: tm.id, text: tm.name,
        selected: editing?.team_id === tm.id})));
    const body = () => ({shortcut: shortcut.value.trim(), title: title.value.trim(), text: text.value,
      team_id: team.value || null});
    const save = (ev) => {
      ev.preventDefault();
      if (editing) {
        return this.saveEdited({path: `/canned-responses/${editing.id}`, base: editing,
          etag: this.etags.editing, body, form: ev.target,
          labels: {shortcut: t("settings.shortcut"), title: t("settings.canned_title"),
            text: t("settings.text"), team_id: t("settings.team")}, show: {team_id: this.teamLabel()}},
        () => { this.editing = null; });  // saved: the form is empty again for the next one
      }
      return this.attempt(() => api("POST", "/canned-responses", body()), t("settings.saved"));
    };
    const cancel = () => { this.editing = null; this.refresh(); };
    return h("form", {class: "card settings-form", id: "canned-form", onsubmit: save},
      h("h3", {text: editing ? t("settings.edit_canned", {shortcut: editing.shortcut})
        : t("settings.new_canned")}),
      field(t("settings.shortcut"), shortcut),
      h("p", {class: "muted hint", id: "canned-shortcut-hint", text: t("settings.shortcut_hint")}),
      field(t("settings.canned_title"), title), field(t("settings.text"), text),
      field(t("settings.team"), team),
      h("div", {class: "row"}, h("button", {type: "submit", class: "primary",
        text: editing ? t("settings.save") : t("settings.create")}),
      editing && button(t("settings.cancel"), cancel)));
  }
}
