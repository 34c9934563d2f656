// Settings: users, teams, API keys, webhooks, canned responses, SLA policies, inboxes, business hours,
// automation rules, macros and data retention, over the same REST API the docs describe. The hub
// decides what each role may do; this view only leaves out what a role cannot even read (API keys,
// webhooks, channel inboxes and retention are admin-only) and shows every refusal with the hub's reason.
// This file is the view (tabs, refusals, If-Match saves, the secret shown once); each tab's loader and
// panel live in settings/<tab>.js and are mixed into SettingsView below.
import {read} from "./api.js";
import {saveIfMatch} from "./conflict.js";
import {clear, h} from "./dom.js";
import {t} from "./i18n.js";
import {CannedSettings} from "./settings/canned.js";
import {button, reason} from "./settings/common.js";
import {HoursSettings} from "./settings/hours.js";
import {InboxesSettings} from "./settings/inboxes.js";
import {KeysSettings} from "./settings/keys.js";
import {MacrosSettings} from "./settings/macros.js";
import {PeopleSettings} from "./settings/people.js";
import {PrivacySettings} from "./settings/privacy.js";
import {RulesSettings} from "./settings/rules.js";
import {SlaSettings} from "./settings/sla.js";
import {WebhooksSettings} from "./settings/webhooks.js";

// tab → the roles that see it (supervisors: users read-only; teams, canned and SLA editable, as the hub
// grants them teams:write and ticketing:configure)
const TABS = {
  users: ["admin", "supervisor"], teams: ["admin", "supervisor"], keys: ["admin"], webhooks: ["admin"],
  canned: ["admin", "supervisor"], sla: ["admin", "supervisor"], inboxes: ["admin"],
  hours: ["admin", "supervisor"], rules: ["admin", "supervisor"], macros: ["admin", "supervisor"],
  privacy: ["admin"],
};

export function canSeeSettings(user) { return user.role === "admin" || user.role === "supervisor"; }

export class SettingsView {
  constructor(ws) {
    this.ws = ws;
    this.el = h("section", {class: "settings", hidden: true, id: "settings",
      "aria-label": t("settings.title")});
    this.tab = "users";
    this.users = [];
    this.teams = [];
    this.secret = null;  // {label, value}: a secret the hub showed once, until the next tab change
    this.etags = {};  // the ETag each open edit form was read with (readEditing), by its editing property
  }

  get admin() { return this.ws.user.role === "admin"; }

  tabs() { return Object.keys(TABS).filter((tab) => TABS[tab].includes(this.ws.user.role)); }

  open(tab) {
    if (tab && this.tabs().includes(tab) && tab !== this.tab) {
      this.tab = tab;
      this.secret = null;
      this.ran = null;  // a retention run's counts, until the next tab change
    }
    if (!this.tabs().includes(this.tab)) this.tab = this.tabs()[0];
    return this.refresh();
  }

  say(error = "", notice = "") {
    this.error.textContent = error;
    this.notice.textContent = notice;
  }

  // an API call whose refusal (403, 409, 422…) is shown with the hub's reason; true when it worked
  async attempt(fn, done = "") {
    this.say();
    try {
      await fn();
    } catch (err) {
      this.say(reason(err));
      return false;
    }
    await this.refresh();
    this.say("", done);
    return true;
  }

  // An edit form's save with If-Match (conflict.js): refused because another admin changed the item
  // meanwhile (412), the form keeps what was typed and shows their version beside it; "Use theirs" draws
  // the form (and the list) again from the item read anew, "Keep mine and save" saves their version with
  // the fields changed here (from `options.base`, as first loaded) with the new ETag.
  // `done` runs once saved (the form closes), then the panel is drawn again with `notice`.
  saveEdited(options, done = () => {}, notice = t("settings.saved")) {
    const run = (etag, theirs) => this.attempt(async () => {
      await saveIfMatch({...options, etag, theirs, keepMine: (fresh) => run(fresh.etag, fresh.body),
        useTheirs: async () => { await this.refresh(); this.say("", t("conflict.theirs_shown")); }});
      done();
    }, notice);
    return run(options.etag);
  }

  // The item an edit form is open on, read again with its ETag: the form shows it as it is now, and
  // its save (If-Match) is refused with the hub's 412 when another admin changed it meanwhile, so a
  // stale page cannot write over their change. Gone meanwhile: the form is closed.
  async readEditing(prop, items, path) {
    const id = this[prop];
    if (!id) return;
    let fresh;
    try {
      fresh = await read(`${path}/${id}`);
    } catch {
      this[prop] = null;
      return;
    }
    const at = items.findIndex((x) => x.id === id);
    if (at >= 0) items[at] = fresh.body;
    this.etags[prop] = fresh.etag;
  }

  async refresh() {
    const loaders = {users: () => this.loadPeople(), teams: () => this.loadPeople(),
      canned: () => this.loadCanned(), keys: () => this.loadKeys(), webhooks: () => this.loadWebhooks(),
      sla: () => this.loadSla(), inboxes: () => this.loadInboxes(), hours: () => this.loadHours(),
      rules: () => this.loadRules(), macros: () => this.loadMacros(), privacy: () => this.loadRetention()};
    this.error = h("p", {class: "error", role: "alert", id: "settings-error", tabindex: -1});
    this.notice = h("p", {class: "ok", role: "status", id: "settings-notice", tabindex: -1});
    let body;
    try {
      await loaders[this.tab]();
      body = this[`${this.tab}Panel`]();
    } catch (err) {
      body = h("p", {class: "error", role: "alert", text: err.message || String(err)});
    }
    const nav = h("nav", {class: "settings-tabs", "aria-label": t("settings.title")}, this.tabs().map((tab) =>
      button(t(`settings.${tab}`), () => this.ws.openSettings(tab),
        {id: `settings-tab-${tab}`, "aria-current": tab === this.tab ? "page" : "false"})));
    // the panel is drawn anew: a keyboard user keeps their place (the same control, else the message)
    const inside = this.el.contains(document.activeElement);
    const focused = inside ? document.activeElement.id : "";
    clear(this.el, h("h2", {text: t("settings.title")}), nav, this.error, this.notice,
      this.secret && this.secretBox(), h("div", {class: "settings-panel", id: `settings-${this.tab}`}, body));
    const again = focused && this.el.querySelector(`#${CSS.escape(focused)}`);
    if (inside) (again || this.notice).focus({preventScroll: true});
  }

  // --- a secret shown once (API key, webhook signing secret) ----------------------------------------
  secretBox() {
    const {label, value} = this.secret;
    const input = h("input", {type: "text", readonly: true, id: "settings-secret", value,
      "aria-label": label});
    const copied = h("span", {class: "ok", role: "status"});
    const copy = async () => {
      input.select();
      try { await navigator.clipboard.writeText(value); } catch { document.execCommand("copy"); }
      copied.textContent = t("settings.copied");
    };
    const done = () => { this.secret = null; this.refresh(); };
    return h("div", {class: "card secret", id: "settings-secret-box"}, h("strong", {text: label}),
      h("p", {class: "warn", text: t("settings.secret_once")}),
      h("div", {class: "row"}, input, button(t("settings.copy"), copy, {id: "settings-copy"}), copied,
        button(t("settings.secret_done"), done, {class: "link"})));
  }
}

// each tab's methods, as if written in the class above (they share its state and this.attempt, this.refresh…)
for (const tab of [PeopleSettings, KeysSettings, WebhooksSettings, CannedSettings, SlaSettings, InboxesSettings,
  HoursSettings, RulesSettings, MacrosSettings, PrivacySettings]) {
  for (const name of Object.getOwnPropertyNames(tab.prototype)) {
    if (name !== "constructor") Object.defineProperty(SettingsView.prototype, name, Object.getOwnPropertyDescriptor(tab.prototype, name));
  }
}
