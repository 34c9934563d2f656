// The contact 360 panel: identities across channels, type and details, tags, past conversations;
// edit in place; remove an identity; merge a duplicate into this contact, or undo such a merge; move
// the open ticket to another contact.
import {api, read} from "./api.js";
import {saveIfMatch} from "./conflict.js";
import {ago, clear, h} from "./dom.js";
import {t} from "./i18n.js";

export class ContactPanel {
  constructor(ws) {
    this.ws = ws;
    this.el = h("aside", {class: "contact", "aria-label": t("contact.title")});
    this.data = null;
    this.etag = null;  // the ETag `data` was read with
    this.editing = false;
    this.edit = null;  // the open edit form's {base: the contact as the form opened it, etag}
    this.shown = 0;  // counts show() calls: a live refresh answered after one is stale
  }

  async show(contactId) {
    this.shown += 1;
    try {
      ({body: this.data, etag: this.etag} = await read(`/contacts/${contactId}`));
    } catch {
      this.data = null;
      clear(this.el);
      return;
    }
    this.editing = false;
    this.edit = null;
    this.render();
  }

  // the contact changed (a live contact event, maybe this agent's own edit): fetched again and redrawn
  // if the hub's answer differs from what is shown. Not while the agent edits it (their save wins), nor
  // over a show() that came meanwhile; "Show older" pages already loaded stay.
  async refreshLive(contactId) {
    const shown = this.shown;
    let fresh, etag;
    try {
      ({body: fresh, etag} = await read(`/contacts/${contactId}`));
    } catch {
      return;  // gone (erased, deleted) or offline: the panel keeps what it has
    }
    const data = this.data;
    if (this.editing || shown !== this.shown || data?.contact?.id !== contactId) return;
    this.etag = etag;
    const key = (d) => JSON.stringify([d.contact, d.identities, d.merged_from || [], d.conversations.slice(0, fresh.conversations.length)]);
    if (key(fresh) === key(data)) return;
    const older = data.conversations.slice(fresh.conversations.length).filter((c) => !fresh.conversations.some((f) => f.id === c.id));
    if (data.conversations.length > fresh.conversations.length && fresh.conversations_next_cursor) {
      fresh.conversations.push(...older);
      fresh.conversations_next_cursor = data.conversations_next_cursor;
    }
    this.data = fresh;
    this.render();
  }

  render() {
    const {contact, identities, conversations} = this.data;
    const back = h("button", {type: "button", class: "back link", onclick: () => { this.ws.main.dataset.pane = "thread"; },
      text: `← ${t("thread.back")}`});
    const head = this.editing ? this.editForm(contact) : h("div", {class: "who"},
      h("h3", {id: "contact-name", text: contact.name || "—"}),
      h("span", {class: `badge type-${contact.type}`, text: t(`contact.${contact.type}`)}),
      contact.vip ? h("span", {class: "badge vip", text: "VIP"}) : null,
      h("button", {type: "button", class: "link", id: "contact-edit", onclick: () => {
        this.editing = true;
        this.edit = {base: contact, etag: this.etag};
        this.render();
      }, text: t("contact.edit")}));
    const fields = Object.entries(contact.custom_fields || {});
    clear(this.el, back, head,
      h("h4", {text: t("contact.identities")}),
      h("ul", {class: "identities"}, identities.map((i) => h("li", {}, h("span", {class: `badge id-${i.kind}`, text: i.kind}), " ", i.value, " ",
        h("button", {type: "button", class: "link remove-identity", title: t("contact.identity_remove", {value: i.value}),
          "aria-label": t("contact.identity_remove", {value: i.value}), onclick: () => this.removeIdentity(contact, i), text: "×"})))),
      h("p", {class: "error", id: "contact-identity-error", role: "alert", hidden: true}),
      this.mergedFrom(contact),
      h("h4", {text: t("contact.tags")}),
      h("p", {class: "tags"}, contact.tags.length ? contact.tags.map((tag) => h("span", {class: "tag", text: tag})) : h("span", {class: "muted", text: "—"})),
      fields.length ? [h("h4", {text: t("contact.fields")}), h("dl", {class: "fields"}, fields.map(([k, v]) => [h("dt", {text: k}), h("dd", {text: typeof v === "object" ? JSON.stringify(v) : String(v)})]))] : null,
      h("h4", {text: t("contact.history")}),
      this.history(contact.id, conversations),
      this.moveBox(contact),
      this.mergeBox(contact));
  }

  // a wrong number or an address someone else uses now: its tickets stay here, its next message
  // starts a new contact (DELETE /contacts/{id}/identities/{kind}/{value})
  async removeIdentity(contact, identity) {
    if (!window.confirm(t("contact.identity_remove_confirm", {value: identity.value, name: contact.name || contact.id}))) return;
    try {
      await api("DELETE", `/contacts/${contact.id}/identities/${encodeURIComponent(identity.kind)}/${encodeURIComponent(identity.value)}`);
    } catch (err) {
      if (err.status !== 404) return this.identityError(err);
      // gone already (removed or moved from another tab): the panel as the hub has it now, and why
      await this.show(contact.id);
      return this.identityError(new Error(t("contact.identity_gone", {value: identity.value})));
    }
    await this.show(contact.id);
  }

  // a refused identity change (remove, undo a merge): the hub's reason, under the identities
  identityError(err) {
    const error = this.el.querySelector("#contact-identity-error");
    error.textContent = err.message || String(err);
    error.hidden = false;
  }

  // contacts merged into this one that can be restored (the hub lists them only for contacts:merge:
  // supervisors and admins): "Merged from: <name> · Undo merge"
  mergedFrom(contact) {
    const merged = this.data.merged_from || [];
    if (!merged.length || !["admin", "supervisor"].includes(this.ws.user?.role)) return null;
    return h("ul", {class: "merged-from"}, merged.map((m) => {
      const label = m.name || m.identities.join(", ") || m.id;
      return h("li", {}, `${t("contact.merged_from")} `, h("strong", {text: label}), " · ",
        h("button", {type: "button", class: "link", "aria-label": t("contact.unmerge_label", {name: label}),
          onclick: () => this.unmerge(contact, m, label), text: t("contact.unmerge")}));
    }));
  }

  // POST /contacts/{source}/unmerge, then the survivor's panel again and what came back: tickets both
  // people wrote in stay here (moved by hand), what changed since the merge is left where it is
  async unmerge(contact, merged, label) {
    if (!window.confirm(t("contact.unmerge_confirm", {name: label, from: contact.name || contact.id}))) return;
    let result;
    try {
      result = await api("POST", `/contacts/${merged.id}/unmerge`);
    } catch (err) {
      return this.identityError(err);
    }
    await this.show(contact.id);
    const numbers = new Map((this.data?.conversations || []).map((c) => [c.id, `#${c.number}`]));
    const restored = result.restored || {};
    const notes = [t("contact.unmerged", {name: result.source.name || label,
      identities: (restored.identities || []).length, conversations: (restored.conversations || []).length})];
    const left = Object.entries(result.left || {}).filter(([, ids]) => ids.length)
      .map(([kind, ids]) => `${kind}: ${ids.join(", ")}`);
    if (left.length) notes.push(t("contact.unmerge_left", {items: left.join("; ")}));
    const box = h("div", {class: "ok unmerged", role: "status"}, notes.map((text) => h("p", {text})));
    // tickets both wrote in stay here: each opens, or moves to the restored contact in one step
    const name = result.source.name || label;
    for (const id of result.mixed || []) {
      const ticket = numbers.get(id) || id;
      const line = h("p", {class: "mixed"}, t("contact.unmerge_mixed", {ticket}), " ",
        h("a", {href: `/console/c/${id}`, onclick: (ev) => { ev.preventDefault(); this.ws.open(id); }, text: t("contact.open_ticket", {ticket})}),
        " · ", h("button", {type: "button", class: "link", onclick: async () => {
          const moved = await this.move({id, number: ticket.replace(/^#/, ""), contact_id: contact.id}, result.source.id, name, line);
          if (moved) line.replaceChildren(t("contact.moved", {ticket, name}));
        }, text: t("contact.move_to", {name})}));
      box.append(line);
    }
    this.el.append(box);
  }

  // past conversations, newest first: the profile brings the newest 100 and a cursor when there are
  // more; "Show older" pages on through /conversations (same filter and order) and appends
  history(contactId, conversations) {
    const item = (c) => h("li", {},
      h("a", {href: `/console/c/${c.id}`, onclick: (ev) => { ev.preventDefault(); this.ws.open(c.id); }, text: `#${c.number}`}),
      " ", h("span", {class: `badge ch-${c.channel}`, text: t(`channel.${c.channel}`)}),
      " ", h("span", {class: `badge st-${c.status}`, text: t(`status.${c.status}`)}),
      " ", c.subject ? [h("span", {class: "muted subject", text: c.subject}), " "] : null,
      h("span", {class: "muted", text: ago(c.last_message_at)}));
    const list = h("ul", {class: "history"}, conversations.map(item));
    const error = h("p", {class: "error", id: "contact-history-error", role: "alert", hidden: true});
    const data = this.data;
    let busy = false;  // not disabled while it loads: a disabled button would drop the keyboard focus
    const more = h("button", {type: "button", class: "link", id: "contact-history-more", text: t("contact.history_more"),
      hidden: !data.conversations_next_cursor, onclick: async () => {
        if (busy) return;
        busy = true;
        try {
          const query = `contact_id=${encodeURIComponent(contactId)}&limit=100&cursor=${encodeURIComponent(data.conversations_next_cursor)}`;
          const page = await api("GET", `/conversations?${query}`);
          if (this.data !== data) return;  // another contact opened meanwhile
          const known = new Set(data.conversations.map((c) => c.id));
          const older = page.items.filter((c) => !known.has(c.id));
          data.conversations.push(...older);  // a redraw (after an edit) keeps what was loaded
          data.conversations_next_cursor = page.next_cursor;
          const fresh = older.map(item);
          list.append(...fresh);
          error.hidden = true;
          if (!page.next_cursor) {  // all shown: the keyboard moves on to the first of them
            const focused = document.activeElement === more;
            more.hidden = true;
            if (focused) fresh[0]?.querySelector("a")?.focus();
          }
        } catch (err) {
          error.textContent = err.message;
          error.hidden = false;
        } finally {
          busy = false;
        }
      }});
    return [list, more, error];
  }

  editForm(contact) {
    const name = h("input", {id: "contact-name-input", value: contact.name, "aria-label": t("contact.name")});
    const type = h("select", {"aria-label": t("contact.type")}, ["consumer", "provider"].map((v) =>
      h("option", {value: v, selected: v === contact.type, text: t(`contact.${v}`)})));
    const tags = h("input", {id: "contact-tags-input", value: contact.tags.join(", "), "aria-label": t("contact.tags")});
    const error = h("p", {class: "error", id: "contact-edit-error", role: "alert", hidden: true});  // one line, the latest
    const changes = () => ({name: name.value.trim(), type: type.value,
      tags: tags.value.split(",").map((s) => s.trim()).filter(Boolean)});
    // saved with If-Match (the ETag the panel was read with when the form opened): someone else's
    // change to what this form edits meanwhile is a 412 and the settings' three-way box (conflict.js);
    // a change to nothing this form edits (a new message in the history) is saved again on the new ETag
    const save = async (etag, theirs) => {
      try {
        const saved = await saveIfMatch({path: `/contacts/${contact.id}`, base: this.edit.base, etag, theirs,
          body: changes, form, pick: (body) => body.contact, retries: 3, title: t("contact.conflict"),
          labels: {name: t("contact.name"), type: t("contact.type"), tags: t("contact.tags")},
          show: {type: (v) => t(`contact.${v}`), tags: (v) => (v || []).join(", ") || "—"},
          useTheirs: (fresh) => {  // the form again, with their version; what was typed goes
            this.data = fresh.whole;
            this.etag = fresh.etag;
            this.edit = {base: fresh.body, etag: fresh.etag};
            this.render();
            const note = this.el.querySelector("#contact-edit-error");
            note.textContent = t("conflict.theirs_shown");
            note.hidden = false;
          },
          keepMine: (fresh) => save(fresh.etag, fresh.body)});
        this.data.contact = saved;
        this.ws.contacts[contact.id] = {...(this.ws.contacts[contact.id] || {}), name: saved.name};
        this.editing = false;
        this.edit = null;
        this.render();
        this.ws.renderList();
        await this.refreshLive(contact.id);  // the new ETag (and whatever else changed)
      } catch (err) {
        error.textContent = err.status === 412 ? t("contact.conflict_error") : err.message;
        error.hidden = false;
      }
    };
    const form = h("form", {class: "edit", id: "contact-edit-form", onsubmit: (ev) => {
      ev.preventDefault();
      save(this.edit.etag);
    }}, h("label", {text: t("contact.name")}), name, h("label", {text: t("contact.type")}), type,
    h("label", {text: t("contact.tags")}), tags,
    h("div", {class: "row"}, h("button", {type: "submit", class: "primary", text: t("contact.save")}),
      h("button", {type: "button", onclick: () => { this.editing = false; this.edit = null; this.render(); },
        text: t("contact.cancel")})), error);
    return form;
  }

  // find another contact by name, or the start of a number or e-mail address (the hub matches
  // identities too): the merge box and the move box; pick(other, label, results) acts on the one chosen
  contactSearch(contact, placeholder, action, pick) {
    const results = h("ul", {class: "merge-results"});
    const input = h("input", {type: "search", placeholder, "aria-label": placeholder,
      oninput: async () => {
        const q = input.value.trim();
        if (q.length < 2) return clear(results);
        const found = (await api("GET", `/contacts?q=${encodeURIComponent(q)}&limit=5`).catch(() => null))?.items || [];
        const others = found.filter((c) => c.id !== contact.id);
        // a contact without a name (an SMS sender) is told apart by its numbers and addresses
        const labels = await Promise.all(others.map(async (other) => other.name ||
          ((await api("GET", `/contacts/${other.id}`).catch(() => null))?.identities || []).map((i) => i.value).join(", ") ||
          other.id));
        if (input.value.trim() !== q) return;  // typed on meanwhile: a newer search answers
        clear(results, others.map((other, n) => h("li", {},
          h("span", {text: `${labels[n]} `}),
          h("button", {type: "button", class: "link", onclick: () => pick(other, labels[n], results), text: action}))));
      }});
    return [input, results];
  }

  mergeBox(contact) {
    const search = this.contactSearch(contact, t("contact.merge_search"), t("contact.merge_into"), async (dup, label, results) => {
      // the other contact's identities and history move here (undone from this panel: Undo merge)
      if (!window.confirm(t("contact.merge_confirm", {name: label, into: contact.name || contact.id}))) return;
      try {
        await api("POST", `/contacts/${dup.id}/merge`, {into: contact.id});
      } catch (err) {
        return results.append(h("li", {class: "error", role: "alert", text: err.message}));
      }
      await this.show(contact.id);
      this.el.append(h("p", {class: "ok", text: t("contact.merged")}));
    });
    return h("details", {class: "merge"}, h("summary", {text: t("contact.merge")}), search);
  }

  // the open ticket (when it is this contact's) to another contact: POST /conversations/{id}/move, for
  // supervisors and admins (contacts:merge); the panel then shows the new contact
  moveBox(contact) {
    const c = this.ws.thread?.conversation;
    if (!c || c.contact_id !== contact.id || !["admin", "supervisor"].includes(this.ws.user?.role)) return null;
    const search = this.contactSearch(contact, t("contact.move_search"), t("contact.move_here"),
      (other, label, results) => this.move(c, other.id, label, results));
    return h("details", {class: "move"}, h("summary", {text: t("contact.move", {ticket: `#${c.number}`})}), search);
  }

  // the ticket's messages and threads go with it; the hub refuses a merged-away or erased contact
  async move(conversation, contactId, label, results) {
    const ticket = `#${conversation.number}`;
    if (!window.confirm(t("contact.move_confirm", {ticket, name: label}))) return false;
    this.expecting = contactId;  // the live conversation.updated leaves this panel to us (views.onMoved)
    try {
      await api("POST", `/conversations/${conversation.id}/move`, {contact_id: contactId});
      const c = this.ws.conversations.get(conversation.id);
      if (c) c.contact_id = contactId;
      if (this.ws.thread?.conversation?.id === conversation.id) {
        this.ws.thread.conversation = {...this.ws.thread.conversation, contact_id: contactId};
        await this.show(contactId);
        this.el.append(h("p", {class: "ok moved", role: "status", text: t("contact.moved", {ticket, name: label})}));
      }
      return true;
    } catch (err) {
      results.append(h(results.tagName === "UL" ? "li" : "span", {class: "error", role: "alert", text: err.message}));
      return false;
    } finally {
      this.expecting = null;
    }
  }
}
