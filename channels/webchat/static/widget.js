/* Berry Support chat widget. Embed: <script src="https://HUB/chat/widget.js" data-title="…" async></script>
   Optional identity verification by the host site: data-user-id, data-email, data-user-hash
   (HMAC-SHA256 of user id + "|" + e-mail with the hub's chat identity secret), data-name.
   Language: data-lang="en" | "af" | "zu"; without it the browser's language, else English.
   A message the hub does not accept stays in the transcript: a refusal that passes (rate limit,
   lost connection, server error) is retried by itself (or at once with "Retry"), in order; a
   permanent one (e.g. too long) puts the text back in the input with the hub's reason.
   Self-contained: a minimal Socket.IO (Engine.IO v4, WebSocket transport) client, no CDN. All
   message text is rendered as text nodes, never as HTML; only http(s) addresses become links. */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script) { return; }
  var base = new URL(script.src, location.href).origin;
  var attr = function (name) { return script.getAttribute("data-" + name) || ""; };
  var KEY = "berry-chat-token:" + base;
  var NS = "/chat";
  var reconnectTimer = null;
  var ws = null, connected = false, ackId = 0, acks = {}, queue = [], visitor = null, backoff = 1000;
  var waiting = [];  // what needs the visitor's token (an upload) before the first session event
  function afterSession(fn) { if (visitor) { fn(); } else { waiting.push(fn); } }

  // --- strings ----------------------------------------------------------------------------------
  var STRINGS = {
    en: { chat: "Chat with us", open: "Open support chat", support: "Support", connecting: "Connecting…",
          online: "We're online", offline: "We're offline — we'll answer by e-mail",
          offlineForm: "We're offline right now. Leave your e-mail and we'll reply there.",
          save: "Save", placeholder: "Type a message…", message: "Message", send: "Send",
          typing: "Agent is typing…", reconnecting: "Reconnecting…", sending: "Sending…",
          notSent: "Not sent: {reason}", retryIn: "Not sent — trying again in {n} s",
          retryOffline: "Not sent — will retry when reconnected", retry: "Retry", edit: "Edit",
          uploadRefused: "Upload refused: {reason}", uploadFailed: "Upload failed — check your connection",
          emailThanks: "Thanks — we'll reply by e-mail.", emailCheck: "Please check the address: {reason}",
          why_too_long: "the message is longer than {limit} characters", why_empty: "the message is empty",
          why_attachment: "the file is no longer available; attach it again",
          why_email: "that is not an e-mail address we can use", file: "file" },
    af: { chat: "Gesels met ons", open: "Maak die hulpklets oop", support: "Ondersteuning",
          connecting: "Koppel tans…", online: "Ons is aanlyn",
          offline: "Ons is vanlyn — ons antwoord per e-pos",
          offlineForm: "Ons is tans vanlyn. Los jou e-posadres, dan antwoord ons daar.",
          save: "Stoor", placeholder: "Tik 'n boodskap…", message: "Boodskap", send: "Stuur",
          typing: "'n Agent tik tans…", reconnecting: "Koppel weer…", sending: "Stuur tans…",
          notSent: "Nie gestuur nie: {reason}", retryIn: "Nie gestuur nie — probeer weer oor {n} s",
          retryOffline: "Nie gestuur nie — probeer weer sodra die verbinding herstel is",
          retry: "Probeer weer", edit: "Wysig", uploadRefused: "Oplaai geweier: {reason}",
          uploadFailed: "Oplaai het misluk — kyk jou verbinding na",
          emailThanks: "Dankie — ons antwoord per e-pos.", emailCheck: "Kyk asseblief die adres na: {reason}",
          why_too_long: "die boodskap is langer as {limit} karakters", why_empty: "die boodskap is leeg",
          why_attachment: "die lêer is nie meer beskikbaar nie; heg dit weer aan",
          why_email: "dit is nie 'n e-posadres wat ons kan gebruik nie", file: "lêer" },
    // isiZulu: to be reviewed by a native speaker
    zu: { chat: "Xoxa nathi", open: "Vula ingxoxo yosizo", support: "Usizo", connecting: "Iyaxhuma…",
          online: "Sikhona ku-inthanethi", offline: "Asikho ku-inthanethi — sizophendula nge-imeyili",
          offlineForm: "Asikho ku-inthanethi okwamanje. Shiya i-imeyili yakho, sizokuphendula lapho.",
          save: "Londoloza", placeholder: "Bhala umlayezo…", message: "Umlayezo", send: "Thumela",
          typing: "Umsizi uyabhala…", reconnecting: "Iyaxhuma futhi…", sending: "Iyathumela…",
          notSent: "Akuthunyelwanga: {reason}",
          retryIn: "Akuthunyelwanga — sizozama futhi emizuzwaneni engu-{n}",
          retryOffline: "Akuthunyelwanga — sizozama futhi uma uxhumano lubuya", retry: "Zama futhi",
          edit: "Hlela", uploadRefused: "Ukulayisha kwenqatshiwe: {reason}",
          uploadFailed: "Ukulayisha kuhlulekile — hlola uxhumano lwakho",
          emailThanks: "Siyabonga — sizokuphendula nge-imeyili.",
          emailCheck: "Sicela uhlole ikheli: {reason}",
          why_too_long: "umlayezo mude kunezinhlamvu ezingu-{limit}", why_empty: "umlayezo awunalutho",
          why_attachment: "ifayela alisatholakali; liphinde ulinamathisele",
          why_email: "leli akulona ikheli le-imeyili esingalisebenzisa", file: "ifayela" }
  };
  function pickLang() {
    var wanted = [attr("lang")].concat(navigator.languages || [], [navigator.language]);
    for (var i = 0; i < wanted.length; i++) {
      var code = String(wanted[i] || "").toLowerCase().split(/[-_]/)[0];
      if (STRINGS[code]) { return code; }
    }
    return "en";
  }
  var lang = pickLang();
  function t(key, vars) {
    var text = STRINGS[lang][key] || STRINGS.en[key];
    Object.keys(vars || {}).forEach(function (k) { text = text.replace("{" + k + "}", String(vars[k])); });
    return text;
  }
  // a refusal in the visitor's language when the hub names it (code), else the hub's own words
  function why(res) {
    return res.code && STRINGS.en["why_" + res.code] ? t("why_" + res.code, res) : res.error;
  }

  // --- UI ---------------------------------------------------------------------------------------
  function el(tag, style, text) {
    var node = document.createElement(tag);
    Object.keys(style || {}).forEach(function (k) { node.style[k] = style[k]; });
    if (text) { node.textContent = text; }
    return node;
  }
  var root = el("div", { position: "fixed", right: "16px", bottom: "16px", zIndex: "2147483000",
                         fontFamily: "system-ui, sans-serif", fontSize: "14px" });
  root.id = "berry-chat"; root.lang = lang;
  var launcher = el("button", { borderRadius: "24px", padding: "10px 16px", border: "0", background: "#7a1f5c",
                                color: "#fff", cursor: "pointer" }, attr("title") || t("chat"));
  launcher.setAttribute("aria-label", t("open"));
  var panel = el("div", { display: "none", width: "320px", height: "420px", background: "#fff",
                          border: "1px solid #ccc", borderRadius: "8px", flexDirection: "column",
                          boxShadow: "0 4px 16px rgba(0,0,0,.2)" });
  panel.setAttribute("role", "dialog");
  var header = el("div", { padding: "8px 12px", background: "#7a1f5c", color: "#fff", borderRadius: "8px 8px 0 0" },
                  attr("title") || t("support"));
  var status = el("div", { padding: "4px 12px", fontSize: "12px", color: "#555" }, t("connecting"));
  status.className = "berry-chat-status";
  var list = el("div", { flex: "1", overflowY: "auto", padding: "8px 12px" });
  list.className = "berry-chat-messages";
  var offline = el("form", { display: "none", padding: "8px 12px", borderTop: "1px solid #eee" });
  offline.appendChild(el("div", { fontSize: "12px" }, t("offlineForm")));
  var emailInput = el("input", { width: "70%" });
  emailInput.type = "email"; emailInput.name = "email"; emailInput.placeholder = "you@example.com";
  offline.appendChild(emailInput);
  offline.appendChild(el("button", {}, t("save")));
  var form = el("form", { display: "flex", borderTop: "1px solid #eee" });
  var input = el("input", { flex: "1", minWidth: "0", border: "0", padding: "10px" });
  input.name = "message"; input.placeholder = t("placeholder"); input.maxLength = 4000;
  input.setAttribute("aria-label", t("message"));
  var file = el("input", { width: "74px", fontSize: "11px", alignSelf: "center" });
  file.type = "file"; file.accept = "image/*,application/pdf,text/plain";
  var send = el("button", { border: "0", padding: "0 12px", background: "#eee", flex: "none" }, t("send"));
  send.type = "submit";
  form.appendChild(input); form.appendChild(file); form.appendChild(send);
  [header, status, list, offline, form].forEach(function (n) { panel.appendChild(n); });
  root.appendChild(panel); root.appendChild(launcher);

  // text nodes, and http(s) addresses as links (an article the bot offers); nothing else becomes markup
  function linkify(node, text) {
    var re = /https?:\/\/[^\s<>"]+[^\s<>".,;:!?)]/g, at = 0, m;
    while ((m = re.exec(text))) {
      node.appendChild(document.createTextNode(text.slice(at, m.index)));
      var a = el("a", {}, m[0]);
      a.href = m[0]; a.target = "_blank"; a.rel = "noopener noreferrer";
      node.appendChild(a);
      at = m.index + m[0].length;
    }
    node.appendChild(document.createTextNode(text.slice(at)));
  }
  var seen = {}, choices = null;
  function bubbleRow(msg) {
    var row = el("div", { margin: "4px 0", textAlign: msg.from === "visitor" ? "right" : "left" });
    var bubble = el("span", { display: "inline-block", padding: "6px 10px", borderRadius: "12px", maxWidth: "85%",
                              background: msg.from === "visitor" ? "#f3e6ef" : "#eef2f7", whiteSpace: "pre-wrap",
                              overflowWrap: "anywhere" });
    linkify(bubble, msg.text || (msg.attachments && msg.attachments.length && !msg.attachments[0].url
                                 ? "📎 " + msg.attachments[0].filename : ""));
    bubble.className = "berry-chat-" + (msg.from === "visitor" ? "mine" : "agent");
    (msg.attachments || []).forEach(function (a) {  // a signed, expiring link made by the hub
      var u; try { u = new URL(a.url); } catch (e) { return; }
      if (u.origin === "null" || u.pathname.indexOf("/media/") !== 0) { return; }  // never javascript:, data:
      var link = el("a", { display: "block", marginTop: "4px" }, a.filename || t("file"));
      link.href = a.url; link.target = "_blank"; link.rel = "noopener noreferrer"; link.className = "berry-chat-file";
      bubble.appendChild(link);
    });
    row.appendChild(bubble);
    return row;
  }
  function show(msg, pending) {  // pending: the row of the visitor's message while it was being sent
    if (msg.id && seen[msg.id]) { if (pending) { pending.remove(); } return; }
    if (msg.id) { seen[msg.id] = true; }
    if (choices) { choices.remove(); choices = null; }  // only the latest message's choices can be picked
    if (pending) { pending.replaceWith(bubbleRow(msg)); return; }  // in place: replies may follow it
    list.appendChild(bubbleRow(msg));
    if (msg.from !== "visitor" && msg.buttons && msg.buttons.length) {  // the bot's choices: tap = send it
      choices = el("div", { margin: "2px 0 6px", display: "flex", flexWrap: "wrap", gap: "4px" });
      choices.className = "berry-chat-choices";
      msg.buttons.forEach(function (title) {
        var b = el("button", { border: "1px solid #7a1f5c", borderRadius: "12px", background: "#fff", color: "#7a1f5c",
                               padding: "4px 10px", cursor: "pointer", fontSize: "13px" }, String(title));
        b.type = "button";
        b.addEventListener("click", function () {  // once: the row goes at the first tap
          if (choices) { choices.remove(); choices = null; }
          post(String(title), []);
        });
        choices.appendChild(b);
      });
      list.appendChild(choices);
    }
    list.scrollTop = list.scrollHeight;
  }
  function say(text) { status.textContent = text; }

  launcher.addEventListener("click", function () {
    var open = panel.style.display === "none";
    panel.style.display = open ? "flex" : "none";
    if (open) { input.focus(); if (!ws) { connect(); } }
  });

  // --- Socket.IO over WebSocket -------------------------------------------------------------------
  function emit(event, data, cb) {
    var id = "";
    if (cb) { id = String(++ackId); acks[id] = cb; }
    var packet = "42" + NS + "," + id + JSON.stringify([event, data]);
    if (connected) { ws.send(packet); } else { queue.push(packet); }
  }
  function onEvent(name, data) {
    if (name === "session") {
      visitor = data.visitor_id;
      try { localStorage.setItem(KEY, data.token); } catch (e) { /* private mode */ }
      while (waiting.length) { waiting.shift()(); }
      say(data.open ? t("online") : t("offline"));
      offline.style.display = data.open ? "none" : "block";
      emit("history", {}, function (res) {
        var items = res.messages || [];
        if (!items.length && data.greeting) { show({ id: "greeting", text: data.greeting, from: "agent" }); }
        items.forEach(function (m) { show(m); });  // not forEach(show): its index is no row
      });
    } else if (name === "message") {
      show({ id: data.id, text: data.text, from: "agent", attachments: data.attachments, buttons: data.buttons });
    } else if (name === "typing") {
      say(data.typing ? t("typing") : t("online"));
    }
  }
  function connect() {
    ws = new WebSocket(base.replace(/^http/, "ws") + "/socket.io/?EIO=4&transport=websocket");
    ws.onmessage = function (ev) {
      var d = String(ev.data);
      if (d === "2") { ws.send("3"); return; }
      if (d.charAt(0) === "0") {
        var auth = {};
        try { var t = localStorage.getItem(KEY); if (t) { auth.token = t; } } catch (e) { /* ignore */ }
        ["user-id", "user-hash", "email", "name"].forEach(function (k) {
          if (attr(k)) { auth[k.replace("-", "_")] = attr(k); }
        });
        ws.send("40" + NS + "," + JSON.stringify(auth));
        return;
      }
      if (d.indexOf("40" + NS + ",") === 0) {
        connected = true; backoff = 1000;
        while (queue.length) { ws.send(queue.shift()); }
        pump();
        return;
      }
      if (d.indexOf("44" + NS + ",") === 0) {  // refused: a stale or foreign token → start afresh
        try { localStorage.removeItem(KEY); } catch (e) { /* ignore */ }
        ws.close(); return;
      }
      if (d.indexOf("42" + NS + ",") === 0) {
        var arr = JSON.parse(d.slice(3 + NS.length));
        onEvent(arr[0], arr[1]); return;
      }
      if (d.indexOf("43" + NS + ",") === 0) {
        var m = /^(\d+)(.*)$/.exec(d.slice(3 + NS.length));
        if (m && acks[m[1]]) { var cb = acks[m[1]]; delete acks[m[1]]; cb(JSON.parse(m[2])[0]); }
      }
    };
    ws.onclose = function () {
      connected = false; say(t("reconnecting"));
      if (inFlight) { inFlight.finish({ ok: false, offline: true }); }  // its answer is lost with the socket
      reconnectTimer = setTimeout(function () { reconnectTimer = null; connect(); }, backoff);
      backoff = Math.min(backoff * 2, 30000);
    };
  }

  // --- sending: one message at a time, in order; a refused one is never dropped -------------------
  // ack {ok, id} | {ok: false, error, status, retry_after?}: 429 (rate limit) and 5xx are retried by
  // themselves, as is a message whose answer a lost connection took; any other refusal is final.
  var outbox = [], inFlight = null, retryTimer = null, retryWait = 0;
  function clientId() { return Date.now().toString(36) + Math.random().toString(36).slice(2, 10); }
  function note(item, text, action, onAction) {
    item.noteText.textContent = text;
    item.noteButton.textContent = action || "";
    item.noteButton.style.display = action ? "inline" : "none";
    item.noteButton.onclick = onAction || null;
  }
  function post(text, attachments) {
    // the same client_id on every attempt: the hub keeps one message if an earlier attempt did arrive
    var item = { text: text, attachments: attachments, client_id: clientId() };
    item.row = bubbleRow({ text: text, from: "visitor", attachments: attachments });
    item.row.firstChild.className = "berry-chat-pending";
    item.row.firstChild.style.opacity = ".6";
    var line = el("div", { fontSize: "11px", color: "#777", marginTop: "2px" });
    line.className = "berry-chat-note";
    item.noteText = el("span");
    item.noteButton = el("button", { marginLeft: "6px", border: "0", padding: "0", background: "none",
                                     color: "#7a1f5c", textDecoration: "underline", cursor: "pointer",
                                     fontSize: "11px" });
    item.noteButton.type = "button";
    line.appendChild(item.noteText); line.appendChild(item.noteButton); item.row.appendChild(line);
    note(item, t("sending"));
    list.appendChild(item.row); list.scrollTop = list.scrollHeight;
    outbox.push(item); pump();
  }
  function retryNow() {
    clearTimeout(retryTimer); retryTimer = null;
    if (!connected && reconnectTimer) { clearTimeout(reconnectTimer); reconnectTimer = null; connect(); }
    pump();
  }
  function waitThenPump(item, ms) {  // a countdown on the message, then the next attempt
    var until = Date.now() + ms;
    (function tick() {
      var left = until - Date.now();
      if (left <= 0) { retryTimer = null; pump(); return; }
      note(item, t("retryIn", { n: Math.ceil(left / 1000) }), t("retry"), retryNow);
      retryTimer = setTimeout(tick, Math.min(left, 1000));
    }());
  }
  function putBack(text) {  // into the input for the visitor to edit, unless they are writing another
    if (!text || input.value.trim()) { return false; }
    input.value = text; input.focus();
    return true;
  }
  function pump() {
    if (inFlight || retryTimer || !connected || !outbox.length) { return; }
    var item = inFlight = outbox[0], done = false;
    var timer = setTimeout(function () {  // no answer: as a gateway timeout, tried again
      item.finish({ ok: false, status: 504, error: "no answer" });
    }, 15000);
    item.finish = function (res) {
      if (done) { return; }
      done = true; clearTimeout(timer); inFlight = null;
      if (res.ok) {
        outbox.shift(); retryWait = 0;
        show({ id: res.id, text: item.text, from: "visitor", attachments: res.attachments || [] }, item.row);
      } else if (res.offline) {
        note(item, t("retryOffline"), t("retry"), retryNow);  // sent again once connected
        return;
      } else if (res.status === 429 || res.status >= 500) {
        retryWait = Math.min(Math.max(retryWait * 2, 2000), 30000);
        waitThenPump(item, res.retry_after ? res.retry_after * 1000 + 100 : retryWait);
        return;
      } else {  // final: the text goes back to the input (or stays here, with "Edit") with the hub's reason
        outbox.shift();
        say(t("notSent", { reason: why(res) }));
        if (putBack(item.text)) { item.row.remove(); } else {
          item.row.firstChild.className = "berry-chat-failed";
          note(item, t("notSent", { reason: why(res) }), item.text ? t("edit") : "", function () {
            input.value = input.value.trim() ? input.value + " " + item.text : item.text;  // a draft stays
            input.focus(); item.row.remove();
          });
        }
      }
      pump();
    };
    note(item, t("sending"));
    emit("message", { text: item.text, client_id: item.client_id, attachments: item.attachments,
                      page: location.pathname }, item.finish);
  }
  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var text = input.value.trim();
    var picked = file.files && file.files[0];
    if (!text && !picked) { return; }
    input.value = ""; file.value = "";
    if (!picked) { post(text, []); return; }
    // an upload carries the visitor's token: a file sent before the session began waits for it
    // (it used to go without one and be refused)
    afterSession(function () {
      fetch(base + "/chat/attachments", { method: "POST", body: picked, headers: {
        "Content-Type": picked.type || "application/octet-stream", "X-Filename": encodeURIComponent(picked.name),
        "X-Visitor-Token": localStorage.getItem(KEY) || "" } })
        .then(function (r) { return r.json().then(function (b) { return [r.ok, b]; }); })
        .then(function (res) {
          if (res[0]) { post(text, [res[1]]); return; }
          putBack(text); say(t("uploadRefused", { reason: res[1].detail }));
        }, function () { putBack(text); say(t("uploadFailed")); });
    });
  });
  var typingTimer = null;
  input.addEventListener("input", function () {
    if (!typingTimer) { emit("typing", { typing: true }); }
    clearTimeout(typingTimer);
    typingTimer = setTimeout(function () { emit("typing", { typing: false }); typingTimer = null; }, 2000);
  });
  offline.addEventListener("submit", function (ev) {
    ev.preventDefault();
    emit("email", { email: emailInput.value }, function (res) {
      say(res.ok ? t("emailThanks") : t("emailCheck", { reason: why(res) }));
    });
  });

  function mount() { document.body.appendChild(root); }
  if (document.body) { mount(); } else { document.addEventListener("DOMContentLoaded", mount); }
  window.BerryChat = { open: function () { if (panel.style.display === "none") { launcher.click(); } } };
}());
