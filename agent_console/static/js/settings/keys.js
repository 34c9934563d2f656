// Settings › API keys (admins): create one (its secret shown once), revoke.
// Methods of SettingsView (settings.js mixes them in): `this` is the settings view.
import {all, api} from "../api.js";
import {clock, h} from "../dom.js";
import {t} from "../i18n.js";
import {field, table, roleOptions, button} from "./common.js";

export class KeysSettings {
  async loadKeys() { this.keys = await all("/api-keys"); }

  keysPanel() {
    const name = h("input", {type: "text", id: "key-name", required: true, maxlength: 100,
      autocomplete: "off"});
    const role = h("select", {id: "key-role"}, roleOptions());
    const create = (ev) => {
      ev.preventDefault();
      const wanted = name.value.trim();
      return this.attempt(async () => {
        const created = await api("POST", "/api-keys", {name: wanted, role: role.value});
        this.secret = {label: t("settings.key_secret", {name: created.name}), value: created.key};
      }, t("settings.key_created", {name: wanted}));
    };
    const form = h("form", {class: "card settings-form", id: "key-form", onsubmit: create},
      h("h3", {text: t("settings.new_key")}), field(t("settings.name"), name),
      field(t("settings.role"), role),
      h("button", {type: "submit", class: "primary", text: t("settings.create")}));
    const revoke = (k) => window.confirm(t("settings.revoke_confirm", {name: k.name}))
      && this.attempt(() => api("DELETE", `/api-keys/${k.id}`), t("settings.saved"));
    const rows = this.keys.map((k) => h("tr", {dataset: {key: k.id}, class: k.revoked_at ? "inactive" : ""},
      h("td", {text: k.name}), h("td", {}, h("code", {text: `bk_${k.prefix}_…`})),
      h("td", {text: t(`role.${k.role}`)}),
      h("td", {text: k.last_used_at ? clock(k.last_used_at) : t("settings.never")}),
      h("td", {}, k.revoked_at ? h("span", {class: "muted", text: t("settings.revoked")})
        : button(t("settings.revoke"), () => revoke(k),
          {class: "revoke", "aria-label": t("settings.revoke_named", {name: k.name})}))));
    const headers = ["settings.name", "settings.prefix", "settings.role", "settings.last_used", ""];
    return [form, table("keys-table", headers, rows)];
  }
}
