// Settings › Inboxes (admins): each channel's settings and credentials, saved with If-Match.
// Methods of SettingsView (settings.js mixes them in): `this` is the settings view.
import {api, read} from "../api.js";
import {h} from "../dom.js";
import {t} from "../i18n.js";
import {field, button} from "./common.js";

export class InboxesSettings {
  // one per channel (not paged); the bot's switch where it can answer; support hours and their zone
  async loadInboxes() {
    const [listed, bot] = await Promise.all([api("GET", "/channels/inboxes"), api("GET", "/bot/inboxes")]);
    // each read again with its ETag: a save sends the whole inbox back, so it must be refused (412)
    // when another admin changed it meanwhile, not silently undo their change
    this.inboxes = await Promise.all(listed.map(async ({channel}) => {
      const {body, etag} = await read(`/channels/inboxes/${channel}`);
      return {...body, etag};
    }));
    this.botInboxes = bot;
  }

  inboxesPanel() {
    return [h("p", {class: "muted", text: t("settings.inboxes_hint")}),
      h("div", {class: "teams-grid", id: "inboxes-list"},
        this.inboxes.map((inbox) => this.inboxCard(inbox)))];
  }

  inboxCard(inbox) {
    const c = inbox.channel;
    const name = t(`channel.${c}`);
    const bot = this.botInboxes.find((b) => b.inbox === c);
    const toggle = () => this.attempt(() => api("PUT", `/bot/inboxes/${c}`, {enabled: !bot.enabled}),
      t("settings.saved"));
    const hours = h("input", {type: "text", id: `inbox-${c}-hours`, maxlength: 200,
      value: inbox.business_hours, placeholder: t("settings.inbox_from_settings"), autocomplete: "off",
      "aria-describedby": `inbox-${c}-hint`});
    const zone = h("input", {type: "text", id: `inbox-${c}-timezone`, maxlength: 64, value: inbox.timezone,
      placeholder: t("settings.inbox_from_settings"), autocomplete: "off"});
    // PUT replaces the inbox's configuration: the rest goes back as it was read (credentials stay unless
    // sent); after a 412, as the other admin left it
    const body = ({enabled, address, greeting, settings}) => ({enabled, address, greeting, settings,
      business_hours: hours.value.trim(), timezone: zone.value.trim()});
    const save = (ev) => {
      ev.preventDefault();
      return this.saveEdited({method: "PUT", path: `/channels/inboxes/${c}`, base: inbox, etag: inbox.etag,
        body, form: ev.target, labels: {enabled: t("settings.state"), address: t("settings.inbox_address"),
          greeting: t("settings.inbox_greeting"), settings: t("settings.inbox_settings"),
          business_hours: t("settings.inbox_hours"), timezone: t("settings.inbox_timezone")},
        show: {enabled: (on) => t(on ? "settings.active" : "settings.disabled")}},
      undefined, t("settings.inbox_saved", {name}));
    };
    return h("div", {class: "card inbox", dataset: {inbox: c}},
      h("div", {class: "row"}, h("h3", {text: name}),
        h("span", {class: `badge ${inbox.enabled ? "ok" : "error"}`,
          text: inbox.enabled ? t("settings.active") : t("settings.disabled")})),
      h("div", {class: "muted", text: inbox.address || t("settings.inbox_default_address")}),
      inbox.credentials_set.length ? h("div", {class: "muted",
        text: t("settings.inbox_credentials", {names: inbox.credentials_set.join(", ")})}) : null,
      bot ? h("div", {class: "row"}, h("span", {text: `${t("sup.bot")}: `}),
        h("strong", {text: bot.enabled ? t("settings.on") : t("settings.off")}),
        button(bot.enabled ? t("settings.bot_off") : t("settings.bot_on"), toggle,
          {id: `inbox-${c}-bot`, class: "link", "aria-label": t(bot.enabled ? "settings.bot_off_in"
            : "settings.bot_on_in", {name})})) : null,
      h("form", {class: "settings-form", id: `inbox-${c}-form`, onsubmit: save},
        field(t("settings.inbox_hours"), hours), field(t("settings.inbox_timezone"), zone),
        h("p", {class: "muted hint", id: `inbox-${c}-hint`, text: t("settings.inbox_hours_hint")}),
        h("button", {type: "submit", id: `inbox-${c}-save`, text: t("settings.save"),
          "aria-label": t("settings.inbox_save_named", {name})})));
  }
}
