// The workspace: top bar, inbox (views, filters, search), routing, live updates, notifications,
// keyboard shortcuts. The thread, the contact panel, the supervisor view and the settings (admins and
// supervisors, at /console/settings/<tab>) have their own modules.
import {all, api} from "./api.js";
import {ContactPanel} from "./contact.js";
import {$, ago, clear, h, icon} from "./dom.js";
import {languagePicker, t} from "./i18n.js";
import {enablePush} from "./push.js";
import {canSeeSettings, SettingsView} from "./settings.js";
import {SupervisorView} from "./supervisor.js";
import {ThreadView} from "./thread.js";

const VIEWS = ["mine", "unassigned", "teams", "all"];
const STATUSES = ["open", "pending", "snoozed", "resolved", "closed"];
const CHANNELS = ["sms", "whatsapp", "email", "webchat", "voice", "api"];
const PRIORITIES = ["urgent", "high", "normal", "low"];

// A customer's message that reopens a pending, snoozed or resolved ticket comes as conversation.updated
// (status → open, previous status, no actor: the ingest) right before that message's message.created.
// Notes the first in `pending` (conversation id → previous status); returns, for the message.created,
// the status it reopened the ticket from (and forgets it), else null.
export function reopenFrom(pending, name, data) {
  const id = data.conversation?.id;
  if (!id) return null;
  if (name === "conversation.updated") {
    if (data.changes?.status === "open" && data.previous?.status && data.previous.status !== "open" && !data.actor_id) {
      pending.set(id, data.previous.status);
    } else if ("status" in (data.changes || {})) {
      pending.delete(id);  // someone changed it again before the message came
    }
    return null;
  }
  if (name !== "message.created") return null;
  const from = pending.get(id) ?? null;
  pending.delete(id);
  return from;
}

export class Workspace {
  constructor(root, user, live, signOut) {
    this.root = root;
    this.user = user;
    this.live = live;
    this.signOut = signOut;
    this.view = localStorage.getItem("berry.console.view") || "all";
    this.filters = {status: "open", channel: "", priority: "", tag: "", q: ""};
    this.conversations = new Map();
    this.contacts = {};
    this.order = [];
    this.handoffs = new Map();  // conversation id → {reason, summary}
    this.risk = new Map();      // conversation id → sla event
    this.reopened = new Map();  // conversation id → the status a customer's message is reopening it from
    this.users = new Map();
    this.selected = null;
    this.notify = "Notification" in window && Notification.permission === "granted";
  }

  mount() {
    this.conn = h("span", {class: "conn", id: "conn", text: t("conn.offline")});
    this.presenceSelect = h("select", {id: "presence", "aria-label": "presence", onchange: () =>
      this.live.call("presence", {status: this.presenceSelect.value}).catch(() => {})},
    ["online", "away"].map((s) => h("option", {value: s, text: t(`presence.${s}`)})));
    this.nav = h("nav", {class: "views", "aria-label": "views"}, [...VIEWS, "supervisor", "settings"]
      .filter((v) => v !== "supervisor" || this.user.role !== "agent")
      .filter((v) => v !== "settings" || canSeeSettings(this.user))
      .map((v) => h("button", {type: "button", dataset: {view: v}, id: `view-${v}`,
        onclick: () => (v === "settings" ? this.openSettings() : this.setView(v)), text: t(`nav.${v}`)})));
    const top = h("header", {class: "top"},
      h("a", {class: "brand", href: "/console/"}, h("img", {src: "/console/static/img/icon.svg", alt: ""}), h("span", {text: "Berry"})),
      this.nav, h("div", {class: "spacer"}), this.conn, this.presenceSelect,
      h("button", {type: "button", class: "icon", title: t("nav.notifications"), "aria-label": t("nav.notifications"),
        id: "notify", onclick: () => this.enableNotifications()}, icon("bell")),
      h("button", {type: "button", class: "icon", title: t("nav.shortcuts"), "aria-label": t("nav.shortcuts"),
        onclick: () => this.toggleHelp(), text: "?"}),
      languagePicker(), h("button", {type: "button", class: "link", id: "signout", onclick: () => this.signOut(), text: t("nav.signout")}));

    this.list = h("ul", {class: "list", id: "inbox-list", role: "listbox", "aria-label": "conversations"});
    this.count = h("p", {class: "count muted"});
    this.search = h("input", {type: "search", id: "search", placeholder: t("filter.search"), "aria-label": t("filter.search"),
      oninput: () => { this.filters.q = this.search.value; this.debounceLoad(); }});
    const select = (name, values, label) => h("select", {"aria-label": label, id: `filter-${name}`, onchange: (ev) => {
      this.filters[name] = ev.target.value; this.load(); }},
    h("option", {value: "", text: `${label}: ${t("filter.any")}`}),
    values.map((v) => h("option", {value: v, text: t(`${name}.${v}`), selected: this.filters[name] === v})));
    const filters = h("div", {class: "filters"}, this.search,
      h("div", {class: "row"}, select("status", STATUSES, t("filter.status")), select("channel", CHANNELS, t("filter.channel")),
        select("priority", PRIORITIES, t("filter.priority")),
        h("input", {type: "text", id: "filter-tag", placeholder: t("filter.tag"), "aria-label": t("filter.tag"), size: 6,
          onchange: (ev) => { this.filters.tag = ev.target.value.trim(); this.load(); }})));
    this.inbox = h("section", {class: "inbox", "aria-label": "inbox"}, filters, this.count, this.list);
    this.thread = new ThreadView(this);
    this.contact = new ContactPanel(this);
    this.supervisor = new SupervisorView(this);
    this.settings = new SettingsView(this);
    this.main = h("main", {class: "work", dataset: {pane: "list"}}, this.inbox, this.thread.el, this.contact.el);
    this.help = this.helpDialog();
    clear(this.root, top, this.main, this.supervisor.el, this.settings.el, this.help);

    this.live.addEventListener("state", (ev) => this.setConn(ev.detail));
    this.live.addEventListener("hello", () => this.load());
    this.live.addEventListener("caughtup", () => this.load());
    this.live.addEventListener("teams", () => this.load());  // joined or left a team: its tickets come or go
    if (this.notify) enablePush().then((ok) => { this.pushing = ok; });  // keep the hub's copy current
    this.live.addEventListener("hub", (ev) => this.onHub(ev.detail));
    this.live.addEventListener("presence", (ev) => this.supervisor.onPresence(ev.detail));
    this.live.addEventListener("typing", (ev) => this.thread.onTyping(ev.detail));
    this.live.addEventListener("viewing", (ev) => this.thread.onViewing(ev.detail));
    document.addEventListener("keydown", (ev) => this.onKey(ev));
    window.addEventListener("popstate", () => this.route());
    // a thread opened before these arrive (a link to /console/c/…) is drawn again with its pickers filled
    const redraw = () => this.thread.conversation && this.thread.refresh(this.thread.conversation);
    all("/users").then((users) => {
      users.forEach((u) => this.users.set(u.id, u));
      redraw();
    }).catch(() => {});
    this.teams = [];
    all("/teams").then((teams) => { this.teams = teams; redraw(); }).catch(() => {});
    this.setView(this.view, false);
    this.route();
  }

  setConn(state) {
    this.conn.textContent = t(state === "live" ? "conn.live" : state === "refused" ? "conn.refused" : "conn.offline");
    this.conn.dataset.state = state;
    if (state === "refused") this.signOut();
  }

  setView(view, load = true) {
    const leaving = this.view === "settings" && view !== "settings";
    this.view = view;
    if (view !== "settings") localStorage.setItem("berry.console.view", view);  // settings: its URL says so
    if (leaving && location.pathname.startsWith("/console/settings")) history.pushState({}, "", "/console/");
    for (const b of this.nav.querySelectorAll("button")) b.setAttribute("aria-current", b.dataset.view === view ? "page" : "false");
    const sup = view === "supervisor";
    this.main.hidden = sup || view === "settings";
    this.supervisor.el.hidden = !sup;
    this.settings.el.hidden = view !== "settings";
    if (sup) this.supervisor.refresh();
    else if (load && view !== "settings") this.load();
  }

  openSettings(tab = this.settings.tab, push = true) {
    if (!canSeeSettings(this.user)) return history.replaceState({}, "", "/console/");  // an agent's old link
    this.setView("settings");
    const done = this.settings.open(tab);
    const path = `/console/settings/${this.settings.tab}`;
    if (push && location.pathname !== path) history.pushState({}, "", path);
    return done;
  }

  debounceLoad() {
    clearTimeout(this.loadTimer);
    this.loadTimer = setTimeout(() => this.load(), 250);
  }

  async load() {
    if (this.view === "supervisor" || this.view === "settings" || this.live.state !== "live") return;
    const f = this.filters;
    const query = {view: this.view, q: f.q, status: f.status ? [f.status] : [], limit: 100};
    if (f.channel) query.channel = f.channel;
    if (f.priority) query.priority = f.priority;
    if (f.tag) query.tag = f.tag;
    const answer = await this.live.call("list", query).catch(() => null);
    if (!answer?.ok) return;
    Object.assign(this.contacts, answer.contacts);
    for (const c of answer.items) this.conversations.set(c.id, c);
    this.order = answer.items.map((c) => c.id);
    this.renderList();
  }

  matches(c) {
    const f = this.filters;
    if (f.status && c.status !== f.status) return false;
    if (f.channel && c.channel !== f.channel) return false;
    if (f.priority && c.priority !== f.priority) return false;
    if (f.tag && !c.tags.includes(f.tag)) return false;
    if (this.view === "mine" && c.assignee_id !== this.user.id) return false;
    if (this.view === "unassigned" && (c.assignee_id || c.held)) return false;  // held: the bot still answers it
    if (this.view === "teams" && !(c.team_id && (this.user.team_ids || []).includes(c.team_id))) return false;
    return true;
  }

  renderList() {
    const items = this.order.map((id) => this.conversations.get(id)).filter(Boolean);
    this.count.textContent = t("inbox.count", {n: items.length});
    if (!items.length) return clear(this.list, h("li", {class: "empty muted", text: t("inbox.empty")}));
    clear(this.list, items.map((c) => this.listItem(c)));
  }

  listItem(c) {
    const contact = this.contacts[c.contact_id] || {};
    const handoff = this.handoffs.has(c.id) || c.bot?.handoff;
    const classes = ["item", c.id === this.selected && "selected", handoff && "handoff", c.unread && "unread",
      this.risk.has(c.id) && "risk"].filter(Boolean).join(" ");
    return h("li", {class: classes, role: "option", "aria-selected": c.id === this.selected, dataset: {id: c.id}, tabindex: 0,
      onclick: () => this.open(c.id), onkeydown: (ev) => ev.key === "Enter" && this.open(c.id)},
    h("div", {class: "line"}, h("strong", {class: "name", text: contact.name || t(`channel.${c.channel}`)}),
      contact.vip ? h("span", {class: "badge vip", text: "VIP"}) : null,
      h("span", {class: "time muted", text: ago(c.last_message_at)})),
    h("div", {class: "line"},
      h("span", {class: `badge ch-${c.channel}`, text: t(`channel.${c.channel}`)}),
      h("span", {class: "muted", text: `#${c.number}`}),
      c.priority !== "normal" ? h("span", {class: `badge pr-${c.priority}`, text: t(`priority.${c.priority}`)}) : null,
      handoff ? h("span", {class: "badge bot", text: t("thread.handoff")}) : null,
      c.held && !handoff ? h("span", {class: "badge bot-held", text: t("inbox.bot_held")}) : null,
      h("span", {class: "preview muted", text: c.preview || c.subject || ""})));
  }

  route() {
    const m = location.pathname.match(/^\/console\/c\/([A-Za-z0-9_-]+)/);
    if (m) this.open(m[1], false);
    const settings = location.pathname.match(/^\/console\/settings(?:\/([a-z]+))?/);
    if (settings) this.openSettings(settings[1], false);
    else if (this.view === "settings") {  // went back from the settings: the inbox as it was
      this.setView(localStorage.getItem("berry.console.view") || "all");
    }
  }

  ready() {  // resolves once the socket is connected and caught up
    if (this.live.started && this.live.state === "live") return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => { this.live.removeEventListener("hello", done); this.live.removeEventListener("caughtup", done); resolve(); };
      this.live.addEventListener("hello", done);
      this.live.addEventListener("caughtup", done);
    });
  }

  async open(id, push = true) {
    await this.ready();
    if (this.view === "supervisor" || this.view === "settings") this.setView("all");
    if (push && location.pathname !== `/console/c/${id}`) history.pushState({}, "", `/console/c/${id}`);
    this.selected = id;
    const c = this.conversations.get(id);
    if (c) c.unread = false;
    this.renderList();
    this.main.dataset.pane = "thread";
    const opened = await this.thread.open(id);
    if (opened) this.contact.show(opened.contact_id);
  }

  back() {
    this.main.dataset.pane = "list";
    history.pushState({}, "", "/console/");
  }

  // --- live events ---------------------------------------------------------------------------
  onHub({name, data}) {
    if (name === "conversation.transferred") return this.onTransferred(data);
    if (name === "conversation.deleted") return this.onDeleted(data);
    if (name.startsWith("contact.")) return this.onContact(name, data);
    const c = data.conversation;
    // an automatic message (an auto-reply, bulk mail, an SMS keyword) joins the thread but is nobody
    // writing: no unread mark, no alert (its ticket keeps its last_message_at, so its place in the list)
    const wrote = name === "message.created" && data.message.direction === "in" && !data.message.meta?.no_auto_reply;
    const reopenedFrom = reopenFrom(this.reopened, name, data);
    if (c) {
      const known = this.conversations.get(c.id) || {};
      const merged = {...known, ...c};
      if (name === "message.created" && !data.message.private) merged.preview = data.message.text.slice(0, 120);
      if (wrote && c.id !== this.selected) merged.unread = true;
      this.conversations.set(c.id, merged);
      if (!this.contacts[c.contact_id] && name === "conversation.created") this.fetchContact(c.contact_id);
      const listed = this.order.includes(c.id);
      if (this.matches(merged)) {
        this.order = [c.id, ...this.order.filter((id) => id !== c.id)];
        this.order.sort((a, b) => Date.parse(this.conversations.get(b).last_message_at) - Date.parse(this.conversations.get(a).last_message_at));
      } else if (listed) {
        this.order = this.order.filter((id) => id !== c.id);
      }
      this.renderList();
    }
    if (name === "bot.handoff") {
      this.handoffs.set(c.id, {reason: data.reason, summary: data.summary});
      this.named(c).then((who) => this.alert(t("notify.handoff", {name: who}), "", c.id));
      this.renderList();
    }
    if (name === "sla.warning" || name === "sla.breached") this.risk.set(data.conversation_id, data);
    if (wrote && !c.held  // the bot answers those
        && (document.hidden || c.id !== this.selected)) {
      const key = reopenedFrom ? "notify.reopened" : "notify.new_message";
      this.named(c).then((who) => this.alert(t(key, {name: who}), data.message.text, c.id));
    }
    if (name === "ticket.assigned" && data.assignee_id === this.user.id && data.previous_assignee_id !== this.user.id
        && data.reason !== "replied") {  // "replied": their own reply claimed it, nothing to tell
      this.alert(t("notify.assigned", {number: c.number}), "", c.id);
    }
    if (name === "notification.created" && data.notification?.user_id === this.user.id) {
      this.alert(data.notification.text, "", data.notification.conversation_id);
    }
    this.thread.onHub(name, data);
    this.supervisor.onHub(name, data);
    if (name === "conversation.updated" && data.changes && "contact_id" in data.changes) this.onMoved(c);
  }

  // a ticket moved to another contact (POST /conversations/{id}/move, here or by someone else): its
  // list entry and thread title name the new contact, and an open ticket's panel shows that contact
  async onMoved(c) {
    if (!this.contacts[c.contact_id]) await this.fetchContact(c.contact_id);
    if (this.thread.conversation?.id !== c.id) return;
    this.thread.refresh({...this.thread.conversation, contact_id: c.contact_id});
    if (this.contact.data?.contact?.id !== c.contact_id && this.contact.expecting !== c.contact_id) this.contact.show(c.contact_id);
  }

  // a contact changed (contact.updated: name, tags, identities…; contact.merged / unmerged), here or
  // by someone else: ids only, so the list's name and an open panel are fetched again (as the hub
  // shows them to this agent). A merge moves the source's tickets to the target, an unmerge moves
  // the listed ones back: the list, the thread and its panel follow.
  async onContact(name, data) {
    const moves = name === "contact.merged" ? {from: data.source_id, to: data.target_id, ids: null}
      : name === "contact.unmerged" ? {from: data.target_id, to: data.source_id, ids: new Set(data.conversations || [])} : null;
    const ids = [data.contact_id, data.source_id, data.target_id].filter(Boolean);
    if (moves) {
      for (const c of this.conversations.values()) {
        if (c.contact_id === moves.from && (!moves.ids || moves.ids.has(c.id))) c.contact_id = moves.to;
      }
    }
    const open = this.thread.conversation;
    const moved = moves && open && open.contact_id === moves.from && (!moves.ids || moves.ids.has(open.id));
    if (moved) this.thread.conversation = {...open, contact_id: moves.to};
    const known = ids.filter((id) => this.contacts[id] || id === this.thread.conversation?.contact_id);
    const renamed = Boolean(moves) || (data.changed || []).includes("name");
    if (renamed) await Promise.all(known.map((id) => this.fetchContact(id)));
    if (moved || (renamed && known.includes(this.thread.conversation?.contact_id))) this.thread.refresh(this.thread.conversation);
    const panel = this.contact.data?.contact?.id;
    if (moved && panel !== moves.to) return this.contact.show(moves.to);
    if (ids.includes(panel)) this.contact.refreshLive(panel);
  }

  // a ticket left this agent's sight (transferred to another team): drop it, say so once
  onTransferred(data) {
    this.thread.onHub("conversation.transferred", data);  // the open thread checks its access itself
    // still in sight (back to the shared queue, or to one of this agent's teams): the update that came
    // with the notice keeps the list right; nothing was transferred away from this agent
    const staff = ["admin", "supervisor"].includes(this.user.role);
    if (staff || !data.team_id || (this.user.team_ids || []).includes(data.team_id)) return;
    const known = this.conversations.get(data.conversation_id);
    this.order = this.order.filter((id) => id !== data.conversation_id);
    this.conversations.delete(data.conversation_id);
    this.renderList();
    if (known && data.actor_id !== this.user.id) {
      const team = this.teams.find((tm) => tm.id === data.team_id)?.name || data.team_id || "";
      this.alert(t("notify.transferred", {number: data.number, team}), "", null);
    }
  }

  onDeleted(data) {
    this.order = this.order.filter((id) => id !== data.conversation_id);
    this.conversations.delete(data.conversation_id);
    this.renderList();
    this.thread.onHub("conversation.deleted", data);
  }

  nameOf(c) { return this.contacts[c.contact_id]?.name || `#${c.number}`; }

  // the contact's name for a notification: a first message can arrive before its contact is loaded
  async named(c) {
    if (!this.contacts[c.contact_id]) await this.fetchContact(c.contact_id);
    return this.nameOf(c);
  }

  async fetchContact(id) {
    try {
      const body = await api("GET", `/contacts/${id}`);
      this.contacts[id] = {name: body.contact.name, type: body.contact.type, vip: body.contact.vip};
      this.renderList();
    } catch { /* the list keeps the channel name */ }
  }

  // --- notifications -------------------------------------------------------------------------
  async enableNotifications() {
    if (!("Notification" in window)) return;
    this.notify = (await Notification.requestPermission()) === "granted";
    this.beep();
    this.pushing = this.notify && await enablePush();
  }

  // sound always; a desktop notification when the tab is hidden (shown by the service worker when
  // there is one: it works on phones and a click focuses or reopens the console at the ticket)
  async alert(title, body, conversationId) {
    this.beep();
    this.notified = (this.notified || 0) + 1;
    this.alerted = title;  // the last one's title, for the browser tests
    if (!this.notify || !document.hidden) return;
    const url = conversationId ? `/console/c/${conversationId}` : "/console/";
    const options = {body: (body || "").slice(0, 140), tag: conversationId || "berry", icon: "/console/static/img/icon.svg", data: {url}};
    const registration = await navigator.serviceWorker?.getRegistration("/console/").catch(() => null);
    if (registration) return registration.showNotification(title, options);
    const n = new Notification(title, options);
    n.onclick = () => { window.focus(); if (conversationId) this.open(conversationId); };
  }

  beep() {
    this.beeps = (this.beeps || 0) + 1;
    try {
      this.audio ??= new AudioContext();
      const osc = this.audio.createOscillator();
      const gain = this.audio.createGain();
      osc.frequency.value = 880;
      gain.gain.setValueAtTime(0.05, this.audio.currentTime);
      gain.gain.exponentialRampToValueAtTime(0.0001, this.audio.currentTime + 0.25);
      osc.connect(gain).connect(this.audio.destination);
      osc.start();
      osc.stop(this.audio.currentTime + 0.25);
    } catch { /* no audio: fine */ }
  }

  // --- keyboard ------------------------------------------------------------------------------
  onKey(ev) {
    const typing = ev.target.closest("input, textarea, select");
    if (ev.key === "Escape") { this.help.hidden = true; if (typing) ev.target.blur(); return; }
    if (typing || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    if (this.view === "settings" && !"?1234".includes(ev.key)) return;  // no ticket in sight
    const idx = this.order.indexOf(this.selected);
    const actions = {
      j: () => this.order[idx + 1] && this.open(this.order[idx + 1]),
      k: () => idx > 0 && this.open(this.order[idx - 1]),
      r: () => this.thread.focusComposer(false),
      n: () => this.thread.focusComposer(true),
      e: () => this.thread.setStatus("resolved"),
      s: () => { const menu = $("#snooze"); menu?.focus(); try { menu?.showPicker(); } catch { /* focus is enough */ } },
      a: () => this.thread.assign(this.user.id),
      "/": () => this.search.focus(),
      "?": () => this.toggleHelp(),
      1: () => this.setView("mine"), 2: () => this.setView("unassigned"), 3: () => this.setView("teams"), 4: () => this.setView("all"),
    };
    if (actions[ev.key]) { ev.preventDefault(); actions[ev.key](); }
  }

  toggleHelp() { this.help.hidden = !this.help.hidden; }

  helpDialog() {
    const rows = [["j / k", "keys.next"], ["r", "keys.reply"], ["n", "keys.note"], ["e", "keys.resolve"], ["s", "keys.snooze"],
      ["a", "keys.assign"], ["/", "keys.search"], ["1–4", "keys.views"], ["?", "keys.help"]];
    return h("div", {class: "help card", role: "dialog", "aria-label": t("keys.title"), hidden: true, id: "help"},
      h("h2", {text: t("keys.title")}),
      h("dl", {}, rows.map(([k, label]) => [h("dt", {}, h("kbd", {text: k})), h("dd", {text: t(label)})])),
      h("button", {type: "button", onclick: () => this.toggleHelp(), text: "OK"}));
  }
}

