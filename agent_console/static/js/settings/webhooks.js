// Settings › Webhooks (admins): subscriptions, their signing secret, recent deliveries.
// Methods of SettingsView (settings.js mixes them in): `this` is the settings view.
import {all, api} from "../api.js";
import {clear, clock, h} from "../dom.js";
import {t} from "../i18n.js";
import {field, button} from "./common.js";

export class WebhooksSettings {
  async loadWebhooks() { this.webhooks = await all("/webhooks"); }

  webhooksPanel() {
    const url = h("input", {type: "url", id: "webhook-url", required: true, maxlength: 2048,
      placeholder: "https://"});
    const events = h("input", {type: "text", id: "webhook-events", required: true, value: "*",
      "aria-describedby": "webhook-events-hint"});
    const description = h("input", {type: "text", id: "webhook-description", maxlength: 500});
    const create = (ev) => {
      ev.preventDefault();
      const body = {url: url.value.trim(), events: events.value.split(/[\s,]+/).filter(Boolean),
        description: description.value};
      return this.attempt(async () => {
        const hook = await api("POST", "/webhooks", body);
        this.secret = {label: t("settings.webhook_secret", {url: hook.url}), value: hook.secret};
      }, t("settings.webhook_created"));
    };
    const form = h("form", {class: "card settings-form", id: "webhook-form", onsubmit: create},
      h("h3", {text: t("settings.new_webhook")}), field(t("settings.url"), url),
      field(t("settings.events"), events),
      h("p", {class: "muted hint", id: "webhook-events-hint", text: t("settings.events_hint")}),
      field(t("settings.description"), description),
      h("button", {type: "submit", class: "primary", text: t("settings.create")}));
    return [form, this.webhooks.length ? h("ul", {class: "webhooks", id: "webhooks-list"},
      this.webhooks.map((w) => this.webhookItem(w))) : h("p", {class: "muted", text: t("settings.none")})];
  }

  webhookItem(w) {
    const toggle = () => this.attempt(() => api("PATCH", `/webhooks/${w.id}`, {active: !w.active}),
      t("settings.saved"));
    const state = w.active ? t("settings.active") : t("settings.disabled");
    return h("li", {class: "card webhook", dataset: {webhook: w.id}},
      h("div", {class: "row"}, h("strong", {text: w.url}),
        h("span", {class: `badge ${w.active ? "ok" : "error"}`, text: state})),
      h("div", {class: "muted", text: `${t("settings.events")}: ${w.events.join(", ")}`}),
      w.description && h("div", {text: w.description}),
      w.disabled_reason && h("div", {class: "error", text: w.disabled_reason}),
      h("div", {class: "row"},
        button(t("settings.rotate"), () => this.rotate(w), {class: "rotate"}),
        button(w.active ? t("settings.disable") : t("settings.enable"), toggle, {class: "toggle"}),
        button(t("settings.deliveries"), (ev) => this.showDeliveries(w, ev.target),
          {class: "deliveries-toggle", "aria-expanded": false})),
      h("div", {class: "deliveries", hidden: true}));
  }

  async rotate(hook) {
    if (!window.confirm(t("settings.rotate_confirm", {url: hook.url}))) return;
    await this.attempt(async () => {
      const {secret} = await api("POST", `/webhooks/${hook.id}/secret`);
      this.secret = {label: t("settings.webhook_secret", {url: hook.url}), value: secret};
    }, t("settings.saved"));
  }

  async showDeliveries(hook, toggle) {
    const box = toggle.closest(".webhook").querySelector(".deliveries");
    const open = box.hidden;
    box.hidden = !open;
    toggle.setAttribute("aria-expanded", String(open));
    if (!open) return;
    const row = (d) => {
      const last = d.attempts[d.attempts.length - 1];
      return h("tr", {}, h("td", {text: clock(d.created_at)}), h("td", {text: d.event}),
        h("td", {text: d.status}),
        h("td", {class: "muted", text: last ? (last.error || String(last.status_code ?? "")) : ""}));
    };
    try {
      const page = await api("GET", `/webhooks/${hook.id}/deliveries?limit=10`);
      clear(box, page.items.length ? h("table", {}, h("tbody", {}, page.items.map(row)))
        : h("p", {class: "muted", text: t("settings.no_deliveries")}));
    } catch (err) {
      clear(box, h("p", {class: "error", role: "alert", text: err.message}));
    }
  }
}
