// The supervisor view: agents with presence and open load, the live queue of unassigned tickets,
// tickets at SLA risk, and the inboxes where the bot answers first (a switch per inbox). Refreshed
// on open and kept current by live events.
import {api} from "./api.js";
import {ago, clear, h} from "./dom.js";
import {t} from "./i18n.js";

export class SupervisorView {
  constructor(ws) {
    this.ws = ws;
    this.el = h("section", {class: "supervisor", hidden: true, id: "supervisor", "aria-label": t("sup.title")});
    this.agents = [];
    this.queue = [];
    this.bot = null;  // [{inbox, enabled}]: each inbox the bot can answer (null: not loaded)
    this.botError = "";
  }

  async refresh() {
    await this.ws.ready();
    const [agents, queue, bot] = await Promise.all([
      this.ws.live.call("agents").catch(() => null),
      this.ws.live.call("list", {view: "unassigned", status: ["open", "pending"], limit: 100}).catch(() => null),
      api("GET", "/bot/inboxes").catch(() => null),
    ]);
    if (agents?.ok) this.agents = agents.agents;
    if (bot) this.bot = bot;
    if (queue?.ok) { this.queue = queue.items; Object.assign(this.ws.contacts, queue.contacts); }
    this.render();
  }

  render() {
    if (this.el.hidden) return;
    const risk = [...this.ws.risk.values()];
    clear(this.el,
      h("div", {class: "card"}, h("h2", {text: t("sup.agents")}),
        h("table", {id: "agents-table"}, h("thead", {}, h("tr", {}, h("th", {text: t("contact.name")}), h("th", {text: ""}), h("th", {text: t("sup.load")}))),
          h("tbody", {}, this.agents.map((a) => h("tr", {dataset: {user: a.user_id}},
            h("td", {}, h("span", {class: `dot ${a.status}`, title: t(`presence.${a.status}`)}), ` ${a.name}`, h("span", {class: "muted", text: ` ${a.role}`})),
            h("td", {text: t(`presence.${a.status}`)}),
            h("td", {}, h("span", {class: "load"}, h("span", {class: "bar", style: {width: `${Math.min(100, a.open * 10)}%`}})), ` ${a.open}`)))))),
      h("div", {class: "card"}, h("h2", {text: `${t("sup.queue")} (${this.queue.length})`}),
        this.queue.length ? h("ul", {class: "list"}, this.queue.map((c) => this.ws.listItem(c))) : h("p", {class: "muted", text: t("sup.none")})),
      h("div", {class: "card"}, h("h2", {text: t("sup.risk")}),
        risk.length ? h("ul", {}, risk.map((r) => h("li", {}, h("a", {href: `/console/c/${r.conversation_id}`, onclick: (ev) => { ev.preventDefault(); this.ws.open(r.conversation_id); },
          text: `#${r.conversation?.number ?? ""} ${r.metric}`}), " ", h("span", {class: r.name === "sla.breached" ? "error" : "warn", text: `${r.name} ${ago(r.due_at)}`})))) : h("p", {class: "muted", text: t("sup.none")})),
      this.bot && h("div", {class: "card", id: "bot-inboxes"}, h("h2", {text: t("sup.bot")}),
        h("p", {class: "muted", text: t("sup.bot_hint")}),
        this.bot.map((b) => h("label", {class: "switch"},
          h("input", {type: "checkbox", checked: b.enabled, dataset: {inbox: b.inbox}, onchange: (ev) => this.switchBot(b, ev.target)}),
          ` ${t(`channel.${b.inbox}`)}`)),
        h("p", {class: "error", role: "alert", text: this.botError})));
  }

  async switchBot(b, box) {
    this.botError = "";
    box.disabled = true;
    try {
      b.enabled = (await api("PUT", `/bot/inboxes/${b.inbox}`, {enabled: box.checked})).enabled;
    } catch (err) {
      this.botError = err.message;  // the problem's detail, e.g. the bot is off on this hub
    }
    this.render();
  }

  onPresence({user_id, status}) {
    const agent = this.agents.find((a) => a.user_id === user_id);
    if (agent) agent.status = status;
    this.render();
  }

  onHub(name, data) {
    if (this.el.hidden) return;
    // a customer's message that reopens a ticket comes with conversation.updated (status open) first
    if (["conversation.created", "conversation.updated", "ticket.assigned", "bot.handoff", "sla.warning", "sla.breached"].includes(name)) {
      // at most one refresh per 300 ms: pushing the timer back on every event (a debounce) never
      // refreshed while events kept coming less than 300 ms apart, i.e. when the floor was busiest
      this.timer ||= setTimeout(() => { this.timer = null; this.refresh(); }, 300);
    }
  }
}
