// One conversation: header with actions, collision and handoff banners, the thread with delivery
// ticks, and a composer that knows the channel. Replies go over the socket with a client id, so a
// retry after a dropped connection is stored once; the UI says when a send was not confirmed.
import {all, api, getBlob, upload} from "./api.js";
import {clear, clock, h, icon, uid} from "./dom.js";
import {t} from "./i18n.js";

const TICKS = {queued: "◷", sent: "✓", delivered: "✓✓", read: "✓✓", failed: "⚠", undelivered: "⚠", received: ""};
const WA_WINDOW_MS = 24 * 3600 * 1000;
const FILE_CHANNELS = new Set(["email", "sms", "whatsapp", "webchat"]);  // channels that send files (replies.py; limits checked by the hub)
// the hub refused a reply for what it is (checked again it fails again): not worth a Retry
const REFUSED = new Set(["invalid", "invalidinput", "forbidden", "not_found", "notfound"]);

// A stored file is fetched with the agent's token: the hub serves it only to who may see the
// ticket (a plain link would carry no token). Anything else links to where it lives.
function attachmentLink(a) {
  const label = a.filename || a.content_type;
  if (!a.blob_id) return a.url ? h("a", {href: a.url, target: "_blank", rel: "noopener noreferrer", text: label}) : label;
  const link = h("a", {href: "#", class: "blob", dataset: {blob: a.blob_id}, text: label});
  link.onclick = async (event) => {
    event.preventDefault();
    try {
      const {blob, name} = await getBlob(`/blobs/${encodeURIComponent(a.blob_id)}`);
      const url = URL.createObjectURL(blob);
      const save = h("a", {href: url, download: a.filename || name});
      document.body.append(save);
      save.click();
      save.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
      link.classList.remove("error");
    } catch (err) {
      link.classList.add("error");
      link.title = t("thread.attachment_failed", {error: err.message});
    }
  };
  return link;
}

export class ThreadView {
  constructor(ws) {
    this.ws = ws;
    this.el = h("section", {class: "thread", "aria-label": "conversation"}, h("p", {class: "placeholder muted", text: t("thread.pick")}));
    this.conversation = null;
    this.messages = [];
    this.viewers = new Map();
    this.typers = new Map();
    this.note = false;
    this.pending = new Map();  // client id → {text, private, state}
  }

  async open(id) {
    if (this.conversation && this.conversation.id !== id) this.ws.live.call("close", {conversation_id: this.conversation.id}).catch(() => {});
    const answer = await this.ws.live.call("open", {conversation_id: id}).catch((err) => ({ok: false, error: {code: err.code}}));
    if (!answer.ok) {
      this.conversation = null;
      clear(this.el, this.backButton(), h("p", {class: "placeholder error", id: "not-found", text: t("thread.not_found")}));
      return null;
    }
    this.conversation = answer.conversation;
    this.ws.conversations.set(id, {...(this.ws.conversations.get(id) || {}), ...answer.conversation, unread: false});
    this.messages = answer.messages;
    this.viewers = new Map(answer.viewers.map((v) => [v.user_id, v.name]));
    this.typers = new Map();
    this.render();
    return this.conversation;
  }

  backButton() {
    return h("button", {type: "button", class: "back link", onclick: () => this.ws.back(), text: `← ${t("thread.back")}`});
  }

  render() {
    const c = this.conversation;
    const contact = this.ws.contacts[c.contact_id] || {};
    this.banner = h("div", {class: "banners"});
    this.list = h("ol", {class: "messages", id: "messages", "aria-live": "polite"});
    this.composer = this.renderComposer();
    clear(this.el,
      h("header", {class: "thread-head"}, this.backButton(),
        h("div", {class: "title"}, h("h2", {id: "thread-title", text: `${contact.name || t(`channel.${c.channel}`)} · #${c.number}`}),
          h("div", {class: "meta"}, h("span", {class: `badge ch-${c.channel}`, text: t(`channel.${c.channel}`)}),
            h("span", {class: `badge st-${c.status}`, id: "thread-status", text: c.status === "snoozed" && c.snooze_until
              ? t("thread.snoozed_until", {time: clock(c.snooze_until)}) : t(`status.${c.status}`)}),
            c.subject ? h("span", {class: "muted", text: c.subject}) : null)),
        h("button", {type: "button", class: "link contact-toggle", onclick: () => { this.ws.main.dataset.pane = "contact"; },
          text: t("thread.contact")}),
        this.actions()),
      this.banner, this.list, this.composer);
    this.renderBanners();
    this.renderMessages();
  }

  actions() {
    const c = this.conversation;
    const assignee = h("select", {id: "assignee", "aria-label": t("thread.assign"), onchange: (ev) => this.assign(ev.target.value || null)},
      h("option", {value: "", text: t("thread.unassigned")}),
      [...this.ws.users.values()].filter((u) => ["admin", "supervisor", "agent"].includes(u.role) && u.active !== false)
        .map((u) => h("option", {value: u.id, text: u.name || u.email, selected: u.id === c.assignee_id})));
    const priority = h("select", {id: "priority", "aria-label": t("filter.priority"), onchange: (ev) => this.update({priority: ev.target.value})},
      ["low", "normal", "high", "urgent"].map((p) => h("option", {value: p, text: t(`priority.${p}`), selected: p === c.priority})));
    const teams = this.ws.teams || [];
    const team = h("select", {id: "team", "aria-label": t("thread.transfer"), title: t("thread.transfer"),
      onchange: (ev) => this.transfer(ev.target.value || null)},
    h("option", {value: "", text: `${t("thread.team")}: ${t("thread.no_team")}`}),
    c.team_id && !teams.some((tm) => tm.id === c.team_id) ? h("option", {value: c.team_id, text: c.team_id, selected: true}) : null,
    teams.map((tm) => h("option", {value: tm.id, text: `${t("thread.team")}: ${tm.name}`, selected: tm.id === c.team_id})));
    const closed = ["resolved", "closed"].includes(c.status);
    return h("div", {class: "actions"}, assignee,
      c.assignee_id !== this.ws.user.id ? h("button", {type: "button", id: "take", onclick: () => this.assign(this.ws.user.id), text: t("thread.assign_me")}) : null,
      priority, team,
      h("button", {type: "button", id: "escalate", onclick: () => this.update({priority: "urgent"}), text: t("thread.escalate")}),
      closed ? h("button", {type: "button", id: "reopen", onclick: () => this.setStatus("open"), text: t("thread.reopen")})
        : [this.snoozeMenu(),
          h("button", {type: "button", id: "resolve", class: "primary", onclick: () => this.setStatus("resolved"), text: t("thread.resolve")})]);
  }

  // new ticket fields (the agent's own change, a colleague, a rule, a reply claiming it): render them,
  // keeping what the agent has in hand — the draft, its attachments, an unconfirmed send's retry
  refresh(conversation) {
    const draft = this.text?.value;
    const files = this.files || [];
    const held = [this.fileList, this.status].map((el) => (el ? [...el.childNodes] : []));
    // a live update re-renders the thread: the control in hand (the Macros button after a macro) keeps focus
    const focused = this.el.contains(document.activeElement) ? document.activeElement.id : "";
    const picker = this.composer?.querySelector(".macro-picker");  // an open macro menu stays open, as typed
    this.conversation = conversation;
    this.render();
    if (picker) this.composer.querySelector(".macro-picker")?.replaceWith(picker);
    if (focused) this.el.querySelector(`#${CSS.escape(focused)}`)?.focus();
    if (draft && this.text) this.text.value = draft;
    if (this.fileList && this.status) {
      this.files = files;
      this.fileList.replaceChildren(...held[0]);
      this.status.replaceChildren(...held[1]);
    }
  }

  async update(changes) {
    if (!this.conversation) return;
    const answer = await this.ws.live.call("update", {conversation_id: this.conversation.id, changes}).catch(() => null);
    if (answer?.ok) this.refresh(answer.conversation);
    else this.flash(answer?.error?.detail || t("conn.offline"));
  }

  async transfer(teamId) {
    if (!this.conversation) return;
    const answer = await this.ws.live.call("update", {conversation_id: this.conversation.id, changes: {team_id: teamId}}).catch(() => null);
    if (!answer?.ok) return this.flash(answer?.error?.detail || t("conn.offline"));
    if (answer.transferred) return this.transferredAway({team_id: teamId}, true);
    this.refresh(answer.conversation);
  }

  // the notice goes to whoever lost the ticket as assignee or team; one who still sees it (an agent who
  // dropped offline for a moment, their ticket back in the shared queue) keeps the thread as it was
  async recheck(data) {
    const answer = await this.ws.live.call("open", {conversation_id: data.conversation_id}).catch(() => null);
    if (answer?.ok && this.conversation?.id === data.conversation_id) this.refresh(answer.conversation);
    else if (!answer?.ok) this.transferredAway(data);
  }

  // the ticket went to a team this agent is not in: nothing more of it may be shown here
  transferredAway({team_id}, byMe = false) {
    const name = (this.ws.teams || []).find((tm) => tm.id === team_id)?.name || team_id || t("thread.no_team");
    this.conversation = null;
    clear(this.el, this.backButton(), h("p", {class: "placeholder banner warn", id: "transferred", role: "status",
      text: t(byMe ? "thread.transferred_by_me" : "thread.transferred", {team: name})}));
  }

  // an admin deleted the ticket with its messages: nothing of it stays on screen
  deleted({number}) {
    this.conversation = null;
    clear(this.el, this.backButton(), h("p", {class: "placeholder banner warn", id: "deleted", role: "status",
      text: t("thread.deleted", {number})}));
  }

  setStatus(status) { return this.update({status}); }

  // a snooze always has a wake-up time (the hub refuses one without): the agent picks when
  snoozeMenu() {
    const hour = 3600e3;
    const at = (days, weekday) => {  // 09:00 local time, ``days`` ahead (or on the next ``weekday``)
      const d = new Date();
      d.setDate(d.getDate() + (weekday === undefined ? days : ((weekday - d.getDay() + 6) % 7) + 1));
      d.setHours(9, 0, 0, 0);
      return d;
    };
    const choices = {"1h": () => new Date(Date.now() + hour), "4h": () => new Date(Date.now() + 4 * hour),
      tomorrow: () => at(1), next_week: () => at(0, 1)};
    return h("select", {id: "snooze", "aria-label": t("thread.snooze"), onchange: (ev) => {
      const until = choices[ev.target.value]?.();
      ev.target.value = "";
      if (until) this.snooze(until);
    }}, h("option", {value: "", text: `${t("thread.snooze")}…`}),
    Object.keys(choices).map((k) => h("option", {value: k, text: t(`snooze.${k}`)})));
  }

  snooze(until) { return this.update({status: "snoozed", snooze_until: until.toISOString()}); }
  assign(userId) { return this.update({assignee_id: userId}); }

  flash(text) {
    this.banner?.append(h("p", {class: "banner error", role: "alert", text}));
  }

  // --- banners: collisions, handoff, SLA ----------------------------------------------------
  renderBanners() {
    if (!this.banner) return;
    const c = this.conversation;
    const parts = [];
    const typing = [...this.typers.values()];
    const viewing = [...this.viewers.values()].filter((n) => !typing.includes(n));
    if (typing.length) parts.push(h("p", {class: "banner collision typing", id: "collision", text: t("thread.collision_typing", {names: typing.join(", ")})}));
    else if (viewing.length) parts.push(h("p", {class: "banner collision", id: "collision", text: t("thread.collision_viewing", {names: viewing.join(", ")})}));
    // after a reload: the summary on the bot's private handoff note (article titles too), else its state
    const noted = this.messages.findLast((m) => m.private && m.meta?.bot_summary)?.meta.bot_summary;
    const handoff = this.ws.handoffs.get(c.id)
      || (c.bot?.handoff ? {reason: c.bot.handoff.reason, summary: noted || c.bot} : null);
    if (handoff) {
      // what the customer and the bot said, up to the bot's last word (not its private handoff note, not what came after)
      const said = this.messages.filter((m) => !m.private);
      const last = said.findLastIndex((m) => m.author_type === "bot");
      const transcript = said.slice(0, last + 1).filter((m) => m.author_type === "bot" || m.direction === "in");
      parts.push(h("div", {class: "banner handoff", id: "handoff"},
        h("strong", {text: t("thread.handoff")}), " ",
        h("span", {text: t("thread.handoff_reason", {reason: handoff.reason || "?"})}),
        handoffFacts(handoff.summary).map(([key, value]) =>
          h("span", {class: `muted handoff-${key}`, text: ` · ${t(`thread.handoff_${key}`)}: ${value}`})),
        transcript.length ? h("details", {open: true}, h("summary", {text: t("thread.bot_transcript")}),
          h("ol", {class: "transcript"}, transcript.map((m) => h("li", {class: m.author_type}, h("b", {text: `${m.author_type}: `}), m.text)))) : null));
    }
    // the bot still answers it (no handoff yet): an agent who replies or assigns it to themselves takes over
    if (c.held && !handoff) parts.push(h("p", {class: "banner bot-held", id: "bot-held", role: "status", text: t("thread.bot_held")}));
    const risk = this.ws.risk.get(c.id);
    if (risk) parts.push(h("p", {class: `banner ${risk.name === "sla.breached" ? "error" : "warn"}`,
      text: t(risk.name === "sla.breached" ? "thread.sla_breached" : "thread.sla_warning", {metric: risk.metric, due: clock(risk.due_at)})}));
    clear(this.banner, parts);
  }

  onViewing({conversation_id, user_id, name, viewing}) {
    if (conversation_id !== this.conversation?.id || user_id === this.ws.user.id) return;
    if (viewing) this.viewers.set(user_id, name); else { this.viewers.delete(user_id); this.typers.delete(user_id); }
    this.renderBanners();
  }

  onTyping({conversation_id, user_id, name, typing}) {
    if (conversation_id !== this.conversation?.id || user_id === this.ws.user.id) return;
    this.typingTimers ??= new Map();
    clearTimeout(this.typingTimers.get(user_id));
    if (typing) {
      this.typers.set(user_id, name);
      // no "stopped" event may come (a closed tab): forget the typist after a quiet spell
      this.typingTimers.set(user_id, setTimeout(() => this.onTyping({conversation_id, user_id, typing: false}), 6000));
    } else {
      this.typers.delete(user_id);
    }
    this.renderBanners();
  }

  // --- messages ---------------------------------------------------------------------------
  renderMessages() {
    clear(this.list, this.messages.map((m) => this.messageItem(m)));
    this.list.scrollTop = this.list.scrollHeight;
  }

  messageItem(m) {
    const author = m.author_type === "agent" ? (this.ws.users.get(m.author_id)?.name || "Agent")
      : m.author_type === "customer" ? (this.ws.contacts[m.contact_id]?.name || t("thread.contact")) : m.author_type;
    const kind = m.private ? "note" : m.author_type === "bot" ? "bot" : m.direction === "in" ? "in" : "out";
    const tick = m.direction === "out" && !m.private ? h("span", {class: `tick ${m.delivery_status}`, title: t(`tick.${m.delivery_status}`),
      "aria-label": t(`tick.${m.delivery_status}`), text: TICKS[m.delivery_status] ?? ""}) : null;
    return h("li", {class: `msg ${kind}`, dataset: {id: m.id}},
      h("div", {class: "who"}, h("b", {text: author}), m.private ? h("span", {class: "badge note", text: t("thread.note")}) : null,
        h("span", {class: "muted", text: ` ${clock(m.created_at)}`}), m.channel !== this.conversation.channel ? h("span", {class: `badge ch-${m.channel}`, text: t(`channel.${m.channel}`)}) : null),
      m.subject ? h("div", {class: "subject", text: m.subject}) : null,
      h("p", {class: "text", text: m.text}),
      m.meta?.buttons?.length ? h("p", {class: "choices muted"}, `${t("thread.choices")}: `,  // what the bot offered
        ...m.meta.buttons.map((b) => h("span", {class: "badge", text: b.title}))) : null,
      m.attachments?.length ? h("ul", {class: "attachments"}, m.attachments.map((a) => h("li", {}, attachmentLink(a)))) : null,
      m.meta?.call ? h("p", {class: "call muted"}, icon("phone"), ` ${m.meta.call.duration ?? ""}s ${m.meta.call.status ?? ""}`) : null,
      h("div", {class: "foot"}, tick, m.error ? h("span", {class: "error", text: m.error}) : null));
  }

  onHub(name, data) {
    const c = this.conversation;
    if (!c || data.conversation_id !== c.id) return;
    if (name === "conversation.deleted") return this.deleted(data);
    if (name === "conversation.transferred") {
      if (!data.conversation) this.recheck(data);  // it left this agent (as assignee) or their team
      return;
    }
    if (name === "message.created") {
      if (this.messages.some((m) => m.id === data.message.id)) return;
      this.messages.push(data.message);
      if (data.message.direction === "in") this.typers.clear();
      // a customer's message that reopens a snoozed, pending or resolved ticket: the ingest publishes
      // conversation.updated (status open) just before this event, so the header is current by now;
      // a snapshot whose status still differs (an update this tab missed) refreshes it here
      const c = data.conversation;
      if (c && c.id === this.conversation.id && c.status !== this.conversation.status) return this.refresh({...this.conversation, ...c});
      this.list.append(this.messageItem(data.message));
      this.list.scrollTop = this.list.scrollHeight;
      if (data.message.direction === "in") { this.renderBanners(); this.refreshChannelHint(); }
    } else if (name === "message.updated" || name === "message.redacted") {
      const i = this.messages.findIndex((m) => m.id === data.message.id);
      if (i >= 0) { this.messages[i] = data.message; this.list.querySelector(`[data-id="${CSS.escape(data.message.id)}"]`)?.replaceWith(this.messageItem(data.message)); }
    } else if (data.conversation && ["conversation.updated", "ticket.assigned"].includes(name)) {
      this.refresh(data.conversation);
    } else if (["bot.handoff", "sla.warning", "sla.breached"].includes(name)) {
      this.renderBanners();
    }
  }

  // --- composer ---------------------------------------------------------------------------
  renderComposer() {
    const c = this.conversation;
    this.text = h("textarea", {id: "reply-text", rows: 3, "aria-label": t("compose.reply"),
      placeholder: t(this.note ? "compose.placeholder_note" : "compose.placeholder_reply"),
      oninput: () => this.onInput(), onkeydown: (ev) => {
        if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) { ev.preventDefault(); this.send(); }
      }});
    this.hint = h("p", {class: "hint muted", id: "channel-hint"});
    this.status = h("div", {class: "send-status", id: "send-status", role: "status"});
    this.canned = h("ul", {class: "canned", hidden: true, id: "canned"});
    const tab = (note, label) => h("button", {type: "button", role: "tab", "aria-selected": this.note === note, class: note ? "tab note" : "tab",
      id: note ? "tab-note" : "tab-reply", onclick: () => this.focusComposer(note), text: label});
    const email = c.channel === "email" && !this.note;
    this.subject = email ? h("input", {id: "reply-subject", placeholder: t("compose.subject"), "aria-label": t("compose.subject"),
      value: c.subject ? `Re: ${c.subject.replace(/^re:\s*/i, "")}` : ""}) : null;
    this.cc = email ? h("input", {id: "reply-cc", type: "text", placeholder: t("compose.cc_placeholder"), "aria-label": t("compose.cc"),
      autocomplete: "off"}) : null;
    this.files = [];  // uploaded attachments for this reply
    this.fileList = h("ul", {class: "files", id: "reply-files"});
    const canAttach = this.note || FILE_CHANNELS.has(c.channel);
    const picker = h("input", {type: "file", id: "reply-file", multiple: true, hidden: true, onchange: (ev) => this.upload([...ev.target.files])});
    const attach = h("button", {type: "button", class: "icon", id: "attach", disabled: !canAttach,
      title: t(canAttach ? "compose.attach" : "compose.attach_unsupported"), "aria-label": t("compose.attach"),
      onclick: () => picker.click()}, icon("clip"));
    this.templateBox = h("div", {class: "templates", id: "wa-templates", hidden: true});
    const form = h("form", {class: `composer ${this.note ? "is-note" : ""}`, onsubmit: (ev) => { ev.preventDefault(); this.send(); }},
      h("div", {class: "tabs", role: "tablist"}, tab(false, t("compose.reply")), tab(true, t("compose.note"))),
      email ? h("div", {class: "row"}, this.subject) : null,
      email ? h("div", {class: "row"}, h("label", {for: "reply-cc", class: "muted", text: t("compose.cc")}), this.cc) : null,
      this.templateBox, this.canned, this.text, this.fileList,
      h("div", {class: "row"}, attach, picker,
        this.note ? null : h("button", {type: "button", class: "link", id: "kb-suggest", onclick: () => this.suggestArticles(),
          text: t("compose.articles")}),
        this.macroMenu(),
        this.hint, this.status,
        h("button", {type: "submit", class: "primary", id: "send", text: t(this.note ? "compose.add_note" : "compose.send")})));
    this.refreshChannelHint();
    return form;
  }

  // --- macros: the ones the hub lists for this agent (shared and their teams'), filtered by typing,
  // applied with POST /conversations/{id}/macros/{macro_id} as this agent. The hub sends a macro's
  // canned reply itself (it arrives in the thread as message.created); the answer is the ticket
  // after, shown here with what changed and each failed action's reason.
  macroMenu() {
    const toggle = h("button", {type: "button", id: "macros", "aria-haspopup": "listbox", "aria-expanded": false,
      "aria-controls": "macro-menu", text: t("macro.button"), disabled: Boolean(this.applyingMacro)});
    const filter = h("input", {type: "text", id: "macro-filter", role: "combobox", autocomplete: "off",
      "aria-label": t("macro.filter"), placeholder: t("macro.filter"), "aria-controls": "macro-list", "aria-expanded": true});
    const list = h("ul", {id: "macro-list", role: "listbox", class: "canned", "aria-label": t("macro.button")});
    const menu = h("div", {id: "macro-menu", class: "macro-menu", hidden: true}, filter, list);
    let shown = [];
    let active = 0;
    const close = () => {
      menu.hidden = true;
      toggle.setAttribute("aria-expanded", "false");
      toggle.focus();
    };
    const draw = () => {
      const q = filter.value.trim().toLowerCase();
      shown = (this.macroItems || []).filter((m) => `${m.name} ${m.description || ""}`.toLowerCase().includes(q));
      active = Math.min(active, Math.max(shown.length - 1, 0));
      if (!shown.length) {
        filter.removeAttribute("aria-activedescendant");
        return clear(list, h("li", {class: "muted", text: t(this.macroItems ? "macro.none" : "macro.loading")}));
      }
      clear(list, shown.map((m, i) => h("li", {role: "option", id: `macro-opt-${i}`, dataset: {macro: m.id},
        class: i === active ? "active" : "", "aria-selected": i === active,
        onmousedown: (ev) => ev.preventDefault(), onclick: () => { close(); this.applyMacro(m); }},
      h("b", {text: m.name}), m.description ? h("span", {class: "muted canned-preview", text: m.description}) : null)));
      filter.setAttribute("aria-activedescendant", `macro-opt-${active}`);
      list.children[active]?.scrollIntoView?.({block: "nearest"});
    };
    filter.addEventListener("input", () => { active = 0; draw(); });
    filter.addEventListener("keydown", (ev) => {
      if (ev.key === "ArrowDown" || ev.key === "ArrowUp") {
        ev.preventDefault();
        if (shown.length) active = (active + (ev.key === "ArrowDown" ? 1 : shown.length - 1)) % shown.length;
        draw();
      } else if (ev.key === "Enter") {
        ev.preventDefault();
        const macro = shown[active];
        if (macro) { close(); this.applyMacro(macro); }
      } else if (ev.key === "Escape") {
        ev.preventDefault();
        ev.stopPropagation();  // not the console's own Escape (blur)
        close();
      }
    });
    // focus gone elsewhere closes it; checked a moment later, as a live re-render moves the picker
    // (focus leaves and comes back: refresh)
    menu.addEventListener("focusout", () => setTimeout(() => {
      const now = document.activeElement;
      if (!menu.hidden && !menu.contains(now) && now !== toggle) {
        menu.hidden = true;
        toggle.setAttribute("aria-expanded", "false");
      }
    }, 0));
    toggle.addEventListener("click", async () => {
      if (!menu.hidden) return close();
      if (this.applyingMacro) return;
      menu.hidden = false;
      toggle.setAttribute("aria-expanded", "true");
      filter.value = "";
      active = 0;
      draw();
      filter.focus();
      // read each time the menu opens: a macro edited or removed in Settings meanwhile is not offered
      this.macroItems = await all("/macros?sort=name").catch((err) => {
        clear(list, h("li", {class: "error", text: t("macro.failed", {error: err.message})}));
        return null;
      });
      if (this.macroItems) draw();
    });
    toggle.addEventListener("keydown", (ev) => {
      if (ev.key === "ArrowDown" && menu.hidden) { ev.preventDefault(); toggle.click(); }
    });
    return h("span", {class: "macro-picker"}, toggle, menu);
  }

  // One at a time: a second click or Enter while the hub applies the first would run the macro
  // again (its canned reply sent twice). The button is disabled until the answer is in.
  async applyMacro(macro) {
    if (this.applyingMacro || !this.conversation) return;
    this.applyingMacro = true;
    this.macroBusy(true);
    try {
      await this.runMacro(macro);
    } finally {
      this.applyingMacro = false;
      this.macroBusy(false);
    }
    this.focusMacros();
  }

  macroBusy(busy) {
    const toggle = this.composer?.querySelector("#macros");
    if (!toggle) return;
    toggle.disabled = busy;
    toggle.setAttribute("aria-busy", String(busy));
  }

  async runMacro(macro) {
    const before = this.conversation;
    clear(this.status, h("span", {class: "muted", id: "macro-result", text: t("macro.applying", {name: macro.name})}));
    let answer;
    try {
      answer = await api("POST", `/conversations/${before.id}/macros/${macro.id}`);
    } catch (err) {
      // refused as a whole (another team's macro, or one deleted meanwhile: the hub says "not found")
      clear(this.status, h("span", {class: "error", id: "macro-result", dataset: {state: "refused"},
        text: t("macro.refused", {name: macro.name, error: err.message})}));
      return;
    }
    const after = answer.conversation;
    const changes = [];
    if (after.status !== before.status) changes.push(`${t("macro.status")}: ${t(`status.${after.status}`)}`);
    if (after.priority !== before.priority) changes.push(`${t("filter.priority")}: ${t(`priority.${after.priority}`)}`);
    const had = new Set(before.tags || []), has = new Set(after.tags || []);
    const added = [...has].filter((x) => !had.has(x)), removed = [...had].filter((x) => !has.has(x));
    if (added.length || removed.length) {
      changes.push(`${t("macro.tags")}: ${[...added.map((x) => `+${x}`), ...removed.map((x) => `−${x}`)].join(" ")}`);
    }
    if (after.assignee_id !== before.assignee_id) {
      const who = after.assignee_id ? (this.ws.users.get(after.assignee_id)?.name || after.assignee_id) : t("thread.unassigned");
      changes.push(`${t("thread.assign")}: ${who}`);
    }
    if (after.team_id !== before.team_id) {
      const team = (this.ws.teams || []).find((tm) => tm.id === after.team_id)?.name || after.team_id || t("thread.no_team");
      changes.push(`${t("thread.team")}: ${team}`);
    }
    if (answer.actions.some((a) => a.ok && a.type === "canned_reply")) changes.push(t("macro.reply_sent"));
    const failed = answer.actions.filter((a) => !a.ok);
    if (this.conversation?.id === after.id) this.refresh(after);
    clear(this.status, h("span", {class: failed.length ? "error" : "ok", id: "macro-result",
      dataset: {state: failed.length ? "partial" : "applied"}},
    t("macro.applied", {name: macro.name, changes: changes.join(" · ") || t("macro.no_change")}),
    failed.map((a) => h("span", {class: "macro-failed", text: ` ${t("macro.action_failed", {action: t(`action.${a.type}`), error: a.error})}`}))));
  }

  focusMacros() { this.composer?.querySelector("#macros")?.focus(); }

  // --- attachments: uploaded first, then named by blob id in the reply ------------------------
  async upload(files) {
    for (const file of files) {
      const item = h("li", {class: "muted", text: t("compose.uploading", {name: file.name})});
      this.fileList.append(item);
      try {
        const att = await upload(file);
        this.files.push(att);
        this.refreshChannelHint();
        clear(item, icon("clip"), h("span", {text: att.filename}), " ",
          h("button", {type: "button", class: "link", "aria-label": t("compose.remove"), text: "×", onclick: () => {
            this.files = this.files.filter((f) => f !== att); item.remove(); this.refreshChannelHint(); }}));
        item.className = "file";
      } catch (err) {
        item.className = "error";
        item.textContent = t("compose.upload_failed", {name: file.name, error: err.message});
      }
    }
  }

  // --- help-center articles: public ones only (searched without the agent's token, so an internal
  // article is never offered as a link for a customer), matched on the draft or the last message
  async suggestArticles() {
    const lastIn = [...this.messages].reverse().find((m) => m.direction === "in");
    const q = (this.text.value.trim() || lastIn?.text || "").slice(0, 200);
    if (!q) return;
    const response = await fetch(`/api/v1/kb/search?q=${encodeURIComponent(q)}&limit=5`, {headers: {Accept: "application/json"}}).catch(() => null);
    const hits = response?.ok ? (await response.json()).hits : [];
    this.canned.hidden = false;
    if (!hits.length) return clear(this.canned, h("li", {class: "muted", text: t("compose.no_articles")}));
    clear(this.canned, hits.map((a) => h("li", {}, h("button", {type: "button", class: "article", dataset: {id: a.id}, onclick: () => {
      const url = new URL(a.url || "/help", location.origin).href;
      this.text.value = `${this.text.value.trimEnd()}${this.text.value.trim() ? "\n" : ""}${a.title}: ${url}`;
      this.canned.hidden = true;
      this.refreshChannelHint();
      this.text.focus();
    }}, h("b", {text: a.title}), h("span", {class: "muted canned-preview", text: (a.summary || "").slice(0, 100)})))));
  }

  // --- WhatsApp templates: the only thing that may leave outside the 24-hour window ----------
  async showTemplates() {
    if (!this.templateBox || this.note) return;
    this.templates ??= await api("GET", "/channels/whatsapp/templates").catch(() => []);
    const box = this.templateBox;
    box.hidden = false;
    const vars = h("div", {class: "row vars"});
    const preview = h("p", {class: "preview", id: "wa-preview"});
    const select = h("select", {id: "wa-template", "aria-label": t("compose.template"), onchange: () => pick()},
      h("option", {value: "", text: t("compose.template_pick")}),
      this.templates.map((tp) => h("option", {value: tp.content_sid, text: tp.name})));
    const render = () => {
      const tp = this.templates.find((x) => x.content_sid === select.value);
      let text = tp?.body || "";
      for (const input of vars.querySelectorAll("input")) text = text.replaceAll(`{{${input.dataset.name}}}`, input.value || `{{${input.dataset.name}}}`);
      preview.textContent = text;
      this.template = tp ? {content_sid: tp.content_sid, variables: Object.fromEntries([...vars.querySelectorAll("input")].map((i) => [i.dataset.name, i.value]))} : null;
    };
    const pick = () => {
      const tp = this.templates.find((x) => x.content_sid === select.value);
      const names = [...new Set([...(tp?.body || "").matchAll(/\{\{\s*(\w+)\s*\}\}/g)].map((m) => m[1]))];
      clear(vars, names.map((name) => h("input", {type: "text", dataset: {name}, class: "var", "aria-label": `{{${name}}}`,
        placeholder: `{{${name}}}`, size: 12, oninput: render})));
      render();
    };
    clear(box, h("label", {for: "wa-template", text: t("compose.template")}), select, vars, preview);
    if (!this.templates.length) box.append(h("p", {class: "error", text: t("compose.no_templates")}));
  }

  refreshChannelHint() {
    if (!this.hint || !this.conversation) return;
    const c = this.conversation;
    if (this.note) { this.hint.textContent = ""; return; }
    if (c.channel === "whatsapp") {
      const lastIn = [...this.messages].reverse().find((m) => m.direction === "in");
      const left = lastIn ? WA_WINDOW_MS - (Date.now() - Date.parse(lastIn.created_at)) : 0;
      this.hint.textContent = left > 0 ? t("compose.wa_open", {left: `${Math.floor(left / 3600000)}h ${Math.floor(left % 3600000 / 60000)}m`})
        : t("compose.wa_closed");
      this.hint.dataset.state = left > 0 ? "ok" : "closed";
      this.text.disabled = left <= 0;  // free text would be refused by WhatsApp
      this.text.placeholder = t(left > 0 ? "compose.placeholder_reply" : "compose.placeholder_template");
      if (left <= 0) this.showTemplates();
      else if (this.templateBox) { this.templateBox.hidden = true; this.template = null; }
    } else if (c.channel === "sms") {
      const chars = this.text?.value.length || 0;
      const unicode = /[^\x00-\x7F]/.test(this.text?.value || "");
      const per = unicode ? 67 : 153;
      this.hint.textContent = this.files?.length ? t("compose.mms", {chars, files: this.files.length})  // files: one MMS
        : t("compose.sms_segments", {chars, segments: chars <= (unicode ? 70 : 160) ? 1 : Math.ceil(chars / per)});
    } else {
      this.hint.textContent = "";
    }
  }

  focusComposer(note) {
    if (!this.conversation) return;
    if (note !== this.note) {
      const keep = this.text?.value || "";
      this.note = note;
      const fresh = this.renderComposer();
      this.composer.replaceWith(fresh);
      this.composer = fresh;
      this.text.value = keep;
    }
    this.text.focus();
  }

  onInput() {
    this.refreshChannelHint();
    const value = this.text.value;
    const now = Date.now();
    if (!this.note && now - (this.lastTyping || 0) > 2500) {
      this.lastTyping = now;
      this.ws.live.call("typing", {conversation_id: this.conversation.id, typing: true}).catch(() => {});
    }
    if (value.startsWith("/")) this.showCanned(value.slice(1).toLowerCase());
    else this.canned.hidden = true;
    const mention = value.match(/@(\w*)$/);
    if (this.note && mention) this.showMentions(mention[1].toLowerCase());
  }

  async showCanned(prefix) {
    this.cannedItems ??= await all("/canned-responses").catch(() => []);  // every page
    const hits = this.cannedItems.filter((r) => `${r.shortcut || ""} ${r.title || r.name || ""}`.toLowerCase().includes(prefix)).slice(0, 6);
    this.canned.hidden = !hits.length;
    const conversationId = this.conversation.id;
    clear(this.canned, hits.map((r) => {
      const preview = h("span", {class: "muted canned-preview", text: (r.text || "").slice(0, 80)});
      // variables ({{contact.first_name}}, …) rendered by the hub for this ticket
      this.renderCanned(r, conversationId).then((text) => { preview.textContent = text.slice(0, 80); });
      return h("li", {}, h("button", {type: "button", dataset: {shortcut: r.shortcut || ""}, onclick: async () => {
        this.text.value = await this.renderCanned(r, conversationId);
        this.canned.hidden = true;
        this.refreshChannelHint();
        this.text.focus();
      }}, h("b", {text: `/${r.shortcut || r.title || ""} `}), preview));
    }));
  }

  renderCanned(r, conversationId) {
    this.cannedRendered ??= new Map();
    const key = `${conversationId}:${r.id}`;
    if (!this.cannedRendered.has(key)) {
      this.cannedRendered.set(key, api("POST", `/canned-responses/${r.id}/preview`, {conversation_id: conversationId})
        .then((b) => b.text).catch(() => r.text || ""));
    }
    return this.cannedRendered.get(key);
  }

  showMentions(prefix) {
    const people = [...this.ws.users.values()].filter((u) => (u.name || u.email).toLowerCase().startsWith(prefix)).slice(0, 6);
    this.canned.hidden = !people.length;
    clear(this.canned, people.map((u) => h("li", {}, h("button", {type: "button", onclick: () => {
      this.text.value = this.text.value.replace(/@(\w*)$/, `@${(u.name || u.email).split(" ")[0]} `);
      this.canned.hidden = true;
      this.text.focus();
    }, text: `@${u.name || u.email}`}))));
  }

  async send(retry) {
    const template = !this.note && this.text.disabled ? this.template : null;
    const entry = retry || {clientId: uid(), text: template ? "" : this.text.value.trim(), private: this.note,
      subject: this.subject?.value.trim() || undefined, conversationId: this.conversation.id, template,
      cc: (this.cc?.value || "").split(/[,;\s]+/).filter(Boolean), attachments: this.files.map((f) => f.blob_id)};
    if (!entry.text && !entry.template && !entry.attachments.length) {
      if (!retry && !this.note && this.text.disabled) clear(this.status, h("span", {class: "error", text: t("compose.template_needed")}));
      return;
    }
    if (!retry) { this.text.value = ""; this.files = []; clear(this.fileList); }
    this.pending.set(entry.clientId, entry);
    this.showStatus(entry, "sending");
    const payload = {conversation_id: entry.conversationId, text: entry.text, private: entry.private, client_id: entry.clientId};
    if (entry.subject) payload.subject = entry.subject;
    if (entry.cc.length) payload.cc = entry.cc;
    if (entry.attachments.length) payload.attachments = entry.attachments;
    if (entry.template) payload.template = entry.template;
    try {
      const answer = await this.ws.live.call("reply", payload);
      if (!answer.ok && REFUSED.has(answer.error.code)) return this.refused(entry, answer.error.detail);
      if (!answer.ok) return this.showStatus(entry, "failed", answer.error.detail);
      this.pending.delete(entry.clientId);
      clear(this.status);
      this.ws.live.call("typing", {conversation_id: entry.conversationId, typing: false}).catch(() => {});
      this.onHub("message.created", {conversation_id: entry.conversationId, message: answer.message});
    } catch {
      this.showStatus(entry, "unconfirmed");  // the server may or may not have it: retry is safe
    }
  }

  // the hub refused this reply as it is (too long, not allowed): sending it again would fail the same
  // way, so the text goes back into the composer to be changed, with the reason and no Retry
  refused(entry, detail) {
    this.pending.delete(entry.clientId);
    if (this.conversation?.id === entry.conversationId && !this.text.value && entry.text) {
      this.text.value = entry.text;
      this.focusComposer(entry.private);
    }
    clear(this.status, h("span", {class: "error", dataset: {state: "refused"}, text: t("compose.failed", {error: detail})}));
  }

  showStatus(entry, state, detail = "") {
    entry.state = state;
    const text = state === "sending" ? t("compose.sending") : state === "unconfirmed" ? t("compose.unconfirmed") : t("compose.failed", {error: detail});
    clear(this.status, h("span", {class: state === "sending" ? "muted" : "error", dataset: {state}, text}),
      state === "sending" ? null : h("button", {type: "button", class: "link", id: "retry", onclick: () => this.send(entry), text: t("compose.retry")}));
  }
}


// What the bot learnt before it handed off, for the banner: [key, English label, text]. The summary is
// the bot.handoff event's (intents as names, article titles) or, after a reload, the conversation's
// bot state (intents as {intent, confidence}, article ids).
function handoffFacts(summary) {
  if (!summary) return [];
  const names = (summary.intents || []).map((i) => (typeof i === "string" ? i : i?.intent));
  const intents = [...new Set(names.filter(Boolean))];
  const entities = Object.entries(summary.entities || {})
    .map(([name, value]) => `${name.replace(/_/g, " ")} ${value}`);
  const titles = summary.article_titles || {};
  const articles = (summary.articles || []).map((id) => titles[id] || id);
  return [["intents", intents.join(", ")], ["entities", entities.join(", ")], ["articles", articles.join(", ")]]
    .filter(([, text]) => text);
}
