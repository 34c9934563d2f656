// Settings › Data retention (admins): days kept per kind of data, and a run now.
// Methods of SettingsView (settings.js mixes them in): `this` is the settings view.
import {api} from "../api.js";
import {h} from "../dom.js";
import {t} from "../i18n.js";
import {field, button} from "./common.js";

const RETENTION = ["messages", "webhook_deliveries", "audit", "dead_letters", "search_queries"];

export class PrivacySettings {
  // days per kind of data; 0 keeps it. No limit in the page: the hub's (0–36500) is shown if refused
  async loadRetention() { this.retention = await api("GET", "/privacy/retention"); }

  privacyPanel() {
    const inputs = Object.fromEntries(RETENTION.map((k) => [k, h("input", {type: "number", min: 0, step: 1,
      inputmode: "numeric", id: `retention-${k}`, required: true, value: String(this.retention[k] ?? 0)})]));
    const save = (ev) => {
      ev.preventDefault();
      const changes = {};
      for (const k of RETENTION) {
        if (inputs[k].value !== String(this.retention[k])) changes[k] = Number(inputs[k].value);
      }
      return this.attempt(() => api("PATCH", "/privacy/retention", changes), t("settings.retention_saved"));
    };
    return [h("form", {class: "card settings-form", id: "retention-form", onsubmit: save},
      h("h3", {text: t("settings.retention")}),
      h("p", {class: "muted hint", text: t("settings.retention_hint")}),
      RETENTION.map((k) => field(t(`settings.retention_${k}`), inputs[k])),
      h("button", {type: "submit", class: "primary", text: t("settings.save")})), this.retentionRun()];
  }

  // POST /privacy/retention/run, once confirmed (it deletes): what it removed or anonymised per kind
  // (a kind kept forever is not touched); a run already going is refused with the hub's reason (409)
  retentionRun() {
    const run = async () => {
      if (!window.confirm(t("settings.retention_run_confirm"))) return;
      await this.attempt(async () => { this.ran = (await api("POST", "/privacy/retention/run")).done; },
        t("settings.retention_ran"));
    };
    const counts = this.ran && h("ul", {class: "targets", id: "retention-run-counts"}, RETENTION.map((k) =>
      h("li", {dataset: {kind: k}}, h("strong", {text: `${t(`settings.retention_kind_${k}`)}: `}),
        k in this.ran ? t(k === "messages" ? "settings.retention_anonymised" : "settings.retention_deleted",
          {n: this.ran[k]}) : t("settings.retention_kept"))));
    return h("div", {class: "card settings-form", id: "retention-run"}, h("h3", {text: t("settings.retention_run")}),
      h("p", {class: "muted hint", text: t("settings.retention_run_hint")}),
      button(t("settings.retention_run"), run, {id: "retention-run-button"}), counts || null);
  }
}
