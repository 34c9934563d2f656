// Settings: users, teams, API keys, webhooks, canned responses, SLA policies, inboxes, business hours,
// automation rules, macros and data retention, over the same REST API the docs describe. The hub
// decides what each role may do; this view only leaves out what a role cannot even read (API keys,
// webhooks, channel inboxes and retention are admin-only) and shows every refusal with the hub's reason.
import {all, api, read} from "./api.js";
import {saveIfMatch} from "./conflict.js";
import {clear, clock, h} from "./dom.js";
import {t} from "./i18n.js";

const STAFF_ROLES = ["agent", "supervisor", "admin"];
// tab → the roles that see it (supervisors: users read-only; teams, canned and SLA editable, as the hub
// grants them teams:write and ticketing:configure)
const TABS = {
  users: ["admin", "supervisor"], teams: ["admin", "supervisor"], keys: ["admin"], webhooks: ["admin"],
  canned: ["admin", "supervisor"], sla: ["admin", "supervisor"], inboxes: ["admin"],
  hours: ["admin", "supervisor"], rules: ["admin", "supervisor"], macros: ["admin", "supervisor"],
  privacy: ["admin"],
};
const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const RETENTION = ["messages", "webhook_deliveries", "audit", "dead_letters", "search_queries"];
// a rule's own fields edited as JSON (name has its own field, enabled its switch in the list; id and
// created_at are the hub's)
const RULE_JSON = ["order", "trigger", "conditions", "any_conditions", "actions", "stop_processing"];
const PRIORITIES = ["urgent", "high", "normal", "low"];
const SLA_METRICS = {first_response: "first", resolution: "resolution"};  // edited here (next_response kept)

export function canSeeSettings(user) { return user.role === "admin" || user.role === "supervisor"; }

let fieldIds = 0;
// a labelled form field: <label for> points at the control, so screen readers (and tests) find it
function field(label, control) {
  control.id ||= `set-f${++fieldIds}`;
  return h("div", {class: "field"}, h("label", {for: control.id, text: label}), control);
}

function table(id, headers, rows) {
  const head = h("tr", {}, headers.map((key) => h("th", {text: key ? t(key) : ""})));
  return h("table", {id}, h("thead", {}, head), h("tbody", {}, rows));
}

function roleOptions(current = "") {
  return [...new Set([...STAFF_ROLES, current].filter(Boolean))].map((r) =>
    h("option", {value: r, text: t(`role.${r}`), selected: r === current}));
}

function button(label, onclick, attrs = {}) {
  return h("button", {type: "button", onclick, text: label, ...attrs});
}

const who = (u) => u.name || u.email;

// the hub's reason, with the field it names when the reason does not (a 422's `field`)
function reason(err) {
  if (err.status === 412) return t("conflict.error");  // the hub's text speaks of ETags
  const text = err.message || String(err);
  const name = err.problem?.field;
  return name && !text.includes(name) ? `${text} (${t("settings.field")}: ${name})` : text;
}

// a JSON textarea's object, or an error that says why the text is not JSON (the hub never sees it)
function parseObject(text) {
  let value;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new Error(t("settings.bad_json", {reason: err.message}));
  }
  if (!value || typeof value !== "object" || Array.isArray(value)) throw new Error(t("settings.json_object"));
  return value;
}

// an opening interval as the hub sends it: "08:00-17:00" (its stored form) or ["08:00", "17:00"]
const interval = (i) => (Array.isArray(i) ? i.join("-") : String(i));

const plain = (v) => (typeof v === "string" ? v : JSON.stringify(v));

// a condition as one line: "priority = urgent", "tags contains vip (case-sensitive)"
function conditionText(c) {
  const op = {eq: "=", ne: "≠", gte: "≥", lte: "≤", in: "∈", not_in: "∉"}[c.op] || c.op.replaceAll("_", " ");
  const unary = ["is_set", "not_set"].includes(c.op) || c.value === null || c.value === undefined;
  return [c.field, op, unary ? "" : plain(c.value),
    c.case_sensitive ? `(${t("settings.case_sensitive")})` : ""].filter(Boolean).join(" ");
}

// an action as one line: its name, then its parameters
function actionText(a) {
  const params = Object.entries(a.params || {}).map(([k, v]) => `${k}: ${plain(v)}`).join(", ");
  return params ? `${t(`action.${a.type}`)} (${params})` : t(`action.${a.type}`);
}

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

  // --- users --------------------------------------------------------------------------------
  async loadPeople() {
    [this.users, this.teams] = await Promise.all([all("/users"), all("/teams")]);
    this.ws.teams = this.teams;  // the thread's pickers follow the teams made here
    this.users.forEach((u) => this.ws.users.set(u.id, u));
  }

  staff() { return this.users.filter((u) => STAFF_ROLES.includes(u.role)); }

  teamName(id) { return this.teams.find((tm) => tm.id === id)?.name || id; }

  teamLabel() { return (id) => (id ? this.teamName(id) : t("settings.shared")); }

  // a user belongs to a team by their own team list or by the team's members (routing uses those)
  inTeam(user, team) {
    return user.team_ids.includes(team.id) || team.members.some((m) => m.user_id === user.id);
  }

  usersPanel() {
    const rows = this.users.map((u) => h("tr", {dataset: {user: u.id}, class: u.active ? "" : "inactive"},
      h("td", {}, h("strong", {text: u.name || "—"}), h("div", {class: "muted", text: u.email})),
      h("td", {}, this.admin ? this.roleSelect(u) : t(`role.${u.role}`)),
      h("td", {text: this.teams.filter((tm) => this.inTeam(u, tm)).map((tm) => tm.name).join(", ")}),
      h("td", {text: u.active ? t("settings.active") : t("settings.inactive")}),
      this.admin && h("td", {}, button(u.active ? t("settings.deactivate") : t("settings.reactivate"),
        () => this.setActive(u, !u.active), {class: "deactivate"}))));
    const headers = ["settings.name", "settings.role", "settings.teams", "settings.state", this.admin && ""];
    return [this.admin ? this.userForm() : h("p", {class: "muted", text: t("settings.read_only")}),
      table("users-table", headers.filter((x) => x !== false), rows)];
  }

  roleSelect(user) {
    return h("select", {"aria-label": t("settings.role_of", {name: who(user)}), class: "role",
      onchange: (ev) => this.setRole(user, ev.target)}, roleOptions(user.role));
  }

  userForm() {
    const name = h("input", {type: "text", id: "user-name", maxlength: 200, autocomplete: "off"});
    const email = h("input", {type: "email", id: "user-email", required: true, autocomplete: "off"});
    const password = h("input", {type: "password", id: "user-password", required: true, minlength: 8,
      autocomplete: "new-password"});
    const role = h("select", {id: "user-role"}, roleOptions());
    const boxes = this.teams.map((tm) => h("input", {type: "checkbox", value: tm.id, name: "team"}));
    const submit = async (ev) => {
      ev.preventDefault();
      const teamIds = boxes.filter((b) => b.checked).map((b) => b.value);
      const address = email.value.trim();
      await this.attempt(async () => {
        const user = await api("POST", "/users", {name: name.value.trim(), email: address,
          password: password.value, role: role.value, team_ids: teamIds});
        // routing picks from a team's members: a new member is listed there too, not only on the user
        for (const id of teamIds) await this.addMember(id, user.id);
      }, t("settings.user_created", {email: address}));
    };
    return h("form", {class: "card settings-form", id: "user-form", onsubmit: submit},
      h("h3", {text: t("settings.new_user")}),
      field(t("settings.name"), name), field(t("settings.email"), email),
      field(t("settings.password"), password), field(t("settings.role"), role),
      boxes.length ? h("fieldset", {}, h("legend", {text: t("settings.teams")}),
        boxes.map((box, i) => h("label", {class: "check"}, box, ` ${this.teams[i].name}`))) : null,
      h("button", {type: "submit", class: "primary", text: t("settings.create")}));
  }

  async setRole(user, select) {
    const ok = await this.attempt(() => api("PATCH", `/users/${user.id}`, {role: select.value}),
      t("settings.saved"));
    if (!ok) select.value = user.role;  // refused (e.g. the last admin): the list shows what is stored
  }

  async setActive(user, active) {
    if (!active && !window.confirm(t("settings.deactivate_confirm", {name: who(user)}))) return;
    await this.attempt(() => api("PATCH", `/users/${user.id}`, {active}), t("settings.saved"));
  }

  // --- teams ------------------------------------------------------------------------------------
  // read just before writing: the PATCH replaces the whole member list
  async addMember(teamId, userId) {
    const team = await api("GET", `/teams/${teamId}`);
    if (team.members.some((m) => m.user_id === userId)) return;
    await api("PATCH", `/teams/${teamId}`, {members: [...team.members, {user_id: userId}]});
  }

  async removeMember(team, user) {
    await this.attempt(async () => {
      // membership also counts from the user's own team list; that change first, as only an admin may
      // make it: a supervisor's refusal then leaves the team as it was, not half changed
      if (user.team_ids.includes(team.id)) {
        await api("PATCH", `/users/${user.id}`, {team_ids: user.team_ids.filter((id) => id !== team.id)});
      }
      const fresh = await api("GET", `/teams/${team.id}`);
      if (fresh.members.some((m) => m.user_id === user.id)) {
        const members = fresh.members.filter((m) => m.user_id !== user.id);
        await api("PATCH", `/teams/${team.id}`, {members});
      }
    }, t("settings.saved"));
  }

  teamsPanel() {
    const name = h("input", {type: "text", id: "team-name", required: true, maxlength: 200,
      autocomplete: "off"});
    const create = (ev) => {
      ev.preventDefault();
      const wanted = name.value.trim();
      return this.attempt(() => api("POST", "/teams", {name: wanted}),
        t("settings.team_created", {name: wanted}));
    };
    const form = h("form", {class: "card settings-form", id: "team-form", onsubmit: create},
      h("h3", {text: t("settings.new_team")}), field(t("settings.name"), name),
      h("button", {type: "submit", class: "primary", text: t("settings.create")}));
    const cards = this.teams.map((team) => this.teamCard(team));
    return [form, h("div", {class: "teams-grid", id: "teams-list"}, cards)];
  }

  teamCard(team) {
    const members = this.staff().filter((u) => this.inTeam(u, team));
    const others = this.staff().filter((u) => u.active && !members.includes(u));
    const pick = h("select", {"aria-label": t("settings.add_member_to", {team: team.name})},
      others.map((u) => h("option", {value: u.id, text: who(u)})));
    const add = () => this.attempt(() => this.addMember(team.id, pick.value), t("settings.saved"));
    const member = (u) => h("li", {dataset: {user: u.id}}, h("span", {text: who(u)}), " ",
      button(t("settings.remove"), () => this.removeMember(team, u),
        {class: "link", "aria-label": t("settings.remove_from", {name: who(u), team: team.name})}));
    return h("div", {class: "card team", dataset: {team: team.id}}, h("h3", {text: team.name}),
      members.length ? h("ul", {class: "members"}, members.map(member))
        : h("p", {class: "muted", text: t("settings.no_members")}),
      others.length ? h("div", {class: "row"}, pick,
        button(t("settings.add_member"), add, {class: "add-member"})) : null);
  }

  // --- API keys -----------------------------------------------------------------------------------
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

  // --- webhooks -----------------------------------------------------------------------------------
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

  // --- canned responses ---------------------------------------------------------------------------
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

  // --- SLA policies -------------------------------------------------------------------------------
  async loadSla() {
    [this.policies, this.calendars, this.teams] = await Promise.all([all("/sla-policies?sort=name"),
      all("/business-hours?sort=name"), all("/teams")]);
    await this.readEditing("editingSla", this.policies, "/sla-policies");
  }

  calendarName(id) {
    return id ? this.calendars.find((c) => c.id === id)?.name || id : t("settings.sla_always");
  }

  slaPanel() {
    const minutes = (m) => (m % 60 ? t("settings.sla_min", {n: m}) : t("settings.sla_h", {n: m / 60}));
    const targets = (p) => PRIORITIES.filter((pr) => p.targets[pr]).map((pr) => h("li", {},
      h("strong", {text: `${t(`priority.${pr}`)}: `}),
      Object.keys(SLA_METRICS).filter((m) => p.targets[pr][m])
        .map((m) => `${t(`settings.sla_${SLA_METRICS[m]}`)} ${minutes(p.targets[pr][m])}`).join(" · ")));
    const makeDefault = (p) => this.attempt(() => api("PATCH", `/sla-policies/${p.id}`, {default: true}),
      t("settings.sla_now_default", {name: p.name}));
    const rows = this.policies.map((p) => h("tr", {dataset: {policy: p.id}},
      h("td", {}, h("strong", {text: p.name}), " ",
        p.default && h("span", {class: "badge ok", text: t("settings.sla_default")})),
      h("td", {text: this.calendarName(p.business_hours_id)}),
      h("td", {}, h("ul", {class: "targets"}, targets(p))),
      h("td", {text: p.team_ids.map((id) => this.teamName(id)).join(", ") || "—"}),
      h("td", {}, button(t("settings.edit"), () => this.editSla(p),
        {class: "link edit", "aria-label": t("settings.sla_edit_named", {name: p.name})}),
      !p.default && button(t("settings.sla_make_default"), () => makeDefault(p),
        {class: "link make-default", "aria-label": t("settings.sla_make_default_named", {name: p.name})}),
      button(t("settings.delete"), () => this.deleteSla(p),
        {class: "link delete", "aria-label": t("settings.sla_delete_named", {name: p.name})}))));
    const headers = ["settings.name", "settings.sla_hours", "settings.sla_targets", "settings.teams", ""];
    return [this.slaForm(), rows.length ? table("sla-table", headers, rows)
      : h("p", {class: "muted", text: t("settings.none")})];
  }

  async editSla(policy) {
    this.editingSla = policy.id;
    await this.refresh();
    this.el.querySelector("#sla-name")?.focus();
  }

  deleteSla(policy) {
    if (!window.confirm(t("settings.sla_delete_confirm", {name: policy.name}))) return;
    return this.attempt(() => api("DELETE", `/sla-policies/${policy.id}`), t("settings.saved"));
  }

  slaForm() {
    const editing = this.policies.find((p) => p.id === this.editingSla) || null;
    const name = h("input", {type: "text", id: "sla-name", required: true, maxlength: 200,
      autocomplete: "off", value: editing?.name ?? ""});
    const hours = h("select", {id: "sla-hours"}, h("option", {value: "", text: t("settings.sla_always")}),
      this.calendars.map((c) => h("option", {value: c.id, text: `${c.name} (${c.timezone})`,
        selected: editing?.business_hours_id === c.id})));
    const isDefault = h("input", {type: "checkbox", id: "sla-default", checked: editing?.default || false});
    // minutes of business time per priority and metric; empty: no target
    const inputs = {};
    const grid = h("table", {class: "sla-targets", id: "sla-targets"},
      h("thead", {}, h("tr", {}, h("th", {text: t("settings.sla_priority")}),
        Object.values(SLA_METRICS).map((m) => h("th", {text: t(`settings.sla_${m}_minutes`)})))),
      h("tbody", {}, PRIORITIES.map((pr) => h("tr", {}, h("th", {text: t(`priority.${pr}`)}),
        Object.entries(SLA_METRICS).map(([metric, m]) => {
          const input = h("input", {type: "number", min: 1, max: 525600, step: 1, inputmode: "numeric",
            id: `sla-${pr}-${m}`, value: editing?.targets[pr]?.[metric] ?? "",
            "aria-label": t(`settings.sla_${m}_of`, {priority: t(`priority.${pr}`)})});
          (inputs[pr] ||= {})[metric] = input;
          return h("td", {}, input);
        })))));
    const body = (base) => {
      const targets = {};
      for (const pr of PRIORITIES) {
        const entry = {...(base?.targets[pr] || {})};  // a metric not edited here (next response) is kept
        for (const [metric, input] of Object.entries(inputs[pr])) {
          if (input.value === "") delete entry[metric];
          else entry[metric] = Number(input.value);
        }
        if (Object.values(entry).some((v) => v !== null && v !== undefined)) targets[pr] = entry;
      }
      return {name: name.value.trim(), business_hours_id: hours.value || null, targets,
        default: isDefault.checked};
    };
    const save = (ev) => {
      ev.preventDefault();
      if (editing) {
        return this.saveEdited({path: `/sla-policies/${editing.id}`, base: editing,
          etag: this.etags.editingSla, body, form: ev.target, labels: {name: t("settings.name"),
            business_hours_id: t("settings.sla_hours"), targets: t("settings.sla_targets"),
            default: t("settings.sla_default")},
          show: {business_hours_id: (id) => this.calendarName(id)}},
        () => { this.editingSla = null; });  // saved: the form is empty again for the next one
      }
      return this.attempt(() => api("POST", "/sla-policies", body(null)), t("settings.saved"));
    };
    const cancel = () => { this.editingSla = null; this.refresh(); };
    return h("form", {class: "card settings-form", id: "sla-form", onsubmit: save},
      h("h3", {text: editing ? t("settings.sla_edit", {name: editing.name}) : t("settings.sla_new")}),
      field(t("settings.name"), name), field(t("settings.sla_hours"), hours),
      h("p", {class: "muted hint", text: t("settings.sla_hint")}), grid,
      h("label", {class: "check"}, isDefault, ` ${t("settings.sla_default_hint")}`),
      h("div", {class: "row"}, h("button", {type: "submit", class: "primary",
        text: editing ? t("settings.save") : t("settings.create")}),
      editing && button(t("settings.cancel"), cancel, {id: "sla-cancel"})));
  }

  // --- inboxes ------------------------------------------------------------------------------------
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

  // --- business hours -----------------------------------------------------------------------------
  // a calendar: a time zone, opening intervals per weekday ("08:00-17:00, 18:00-20:00"; empty: closed)
  // and holidays (closed all day); the hub checks every interval and the zone
  async loadHours() {
    this.calendars = await all("/business-hours?sort=name");
    await this.readEditing("editingHours", this.calendars, "/business-hours");
  }

  hoursPanel() {
    const week = (c) => DAYS.filter((d) => c.week[d]?.length).map((d) => h("li", {},
      h("strong", {text: `${t(`day.${d}`)}: `}), c.week[d].map((i) => interval(i).replace("-", "–")).join(", ")));
    const rows = this.calendars.map((c) => h("tr", {dataset: {calendar: c.id}},
      h("td", {}, h("strong", {text: c.name})), h("td", {text: c.timezone}),
      h("td", {}, h("ul", {class: "targets"}, week(c))),
      h("td", {class: "preview", text: c.holidays.join(", ") || "—"}),
      h("td", {}, button(t("settings.edit"), () => this.editHours(c),
        {class: "link edit", "aria-label": t("settings.item_edit_named", {name: c.name})}),
      button(t("settings.delete"), () => this.deleteHours(c),
        {class: "link delete", "aria-label": t("settings.item_delete_named", {name: c.name})}))));
    const headers = ["settings.name", "settings.inbox_timezone", "settings.hours_week", "settings.hours_holidays",
      ""];
    return [this.hoursForm(), rows.length ? table("hours-table", headers, rows)
      : h("p", {class: "muted", text: t("settings.none")})];
  }

  async editHours(calendar) {
    this.editingHours = calendar.id;
    await this.refresh();
    this.el.querySelector("#hours-name")?.focus();
  }

  deleteHours(calendar) {
    if (!window.confirm(t("settings.hours_delete_confirm", {name: calendar.name}))) return;
    return this.attempt(() => api("DELETE", `/business-hours/${calendar.id}`), t("settings.saved"));
  }

  hoursForm() {
    const editing = this.calendars.find((c) => c.id === this.editingHours) || null;
    const name = h("input", {type: "text", id: "hours-name", required: true, maxlength: 200,
      autocomplete: "off", value: editing?.name ?? ""});
    const zone = h("input", {type: "text", id: "hours-timezone", required: true, maxlength: 64,
      autocomplete: "off", value: editing?.timezone ?? Intl.DateTimeFormat().resolvedOptions().timeZone,
      placeholder: "Africa/Johannesburg"});
    const days = Object.fromEntries(DAYS.map((d) => [d, h("input", {type: "text", id: `hours-${d}`,
      autocomplete: "off", placeholder: "08:00-17:00", "aria-describedby": "hours-week-hint",
      value: (editing?.week[d] || []).map(interval).join(", ")})]));
    const holidays = h("textarea", {id: "hours-holidays", rows: 2, "aria-describedby": "hours-holidays-hint",
      value: (editing?.holidays || []).join(", ")});
    const body = () => {
      const week = {};
      for (const d of DAYS) {  // sent as typed ("08:00-17:00"): the hub says which one is wrong
        const intervals = days[d].value.split(/[,;]/).map((x) => x.replace(/\s+/g, "")).filter(Boolean);
        if (intervals.length) week[d] = intervals;
      }
      return {name: name.value.trim(), timezone: zone.value.trim(), week,
        holidays: holidays.value.split(/[\s,;]+/).filter(Boolean)};
    };
    const week = (w) => DAYS.filter((d) => w?.[d]?.length)
      .map((d) => `${t(`day.${d}`)}: ${w[d].map(interval).join(", ")}`).join("; ") || "—";
    const save = (ev) => {
      ev.preventDefault();
      if (editing) {
        return this.saveEdited({path: `/business-hours/${editing.id}`, base: editing,
          etag: this.etags.editingHours, body, form: ev.target,
          labels: {name: t("settings.name"), timezone: t("settings.inbox_timezone"),
            week: t("settings.hours_week"), holidays: t("settings.hours_holidays")},
          show: {week, holidays: (list) => (list || []).join(", ") || "—"}},
        () => { this.editingHours = null; });
      }
      return this.attempt(() => api("POST", "/business-hours", body()), t("settings.saved"));
    };
    const cancel = () => { this.editingHours = null; this.refresh(); };
    return h("form", {class: "card settings-form", id: "hours-form", onsubmit: save},
      h("h3", {text: editing ? t("settings.hours_edit", {name: editing.name}) : t("settings.hours_new")}),
      field(t("settings.name"), name), field(t("settings.inbox_timezone"), zone),
      h("fieldset", {class: "week"}, h("legend", {text: t("settings.hours_week")}),
        DAYS.map((d) => field(t(`day.${d}`), days[d]))),
      h("p", {class: "muted hint", id: "hours-week-hint", text: t("settings.hours_week_hint")}),
      field(t("settings.hours_holidays"), holidays),
      h("p", {class: "muted hint", id: "hours-holidays-hint", text: t("settings.hours_holidays_hint")}),
      h("div", {class: "row"}, h("button", {type: "submit", class: "primary",
        text: editing ? t("settings.save") : t("settings.create")}),
      editing && button(t("settings.cancel"), cancel)));
  }

  // --- automation rules ---------------------------------------------------------------------------
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

  // --- macros -------------------------------------------------------------------------------------
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

  // --- data retention (admins: privacy:manage) --------------------------------------------------------
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
