/* Berry Support chat widget. Embed: <script src="https://HUB/chat/widget.js" data-title="…" async></script>
   Optional identity verification by the host site: data-user-id, data-email, data-user-hash
   (HMAC-SHA256 of user id + "|" + e-mail with the hub's chat identity secret), data-name.
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
  var ws = null, connected = false, ackId = 0, acks = {}, queue = [], visitor = null, backoff = 1000;
  var waiting = [];  // what needs the visitor's token (an upload) before the first session event
  function afterSession(fn) { if (visitor) { fn(); } else { waiting.push(fn); } }

  // --- UI ---------------------------------------------------------------------------------------
  function el(tag, style, text) {
    var node = document.createElement(tag);
    Object.keys(style || {}).forEach(function (k) { node.style[k] = style[k]; });
    if (text) { node.textContent = text; }
    return node;
  }
  var root = el("div", { position: "fixed", right: "16px", bottom: "16px", zIndex: "2147483000",
                         fontFamily: "system-ui, sans-serif", fontSize: "14px" });
  root.id = "berry-chat";
  var launcher = el("button", { borderRadius: "24px", padding: "10px 16px", border: "0", background: "#7a1f5c",
                                color: "#fff", cursor: "pointer" }, attr("title") || "Chat with us");
  launcher.setAttribute("aria-label", "Open support chat");
  var panel = el("div", { display: "none", width: "320px", height: "420px", background: "#fff",
                          border: "1px solid #ccc", borderRadius: "8px", flexDirection: "column",
                          boxShadow: "0 4px 16px rgba(0,0,0,.2)" });
  panel.setAttribute("role", "dialog");
  var header = el("div", { padding: "8px 12px", background: "#7a1f5c", color: "#fff", borderRadius: "8px 8px 0 0" },
                  attr("title") || "Support");
  var status = el("div", { padding: "4px 12px", fontSize: "12px", color: "#555" }, "Connecting…");
  status.className = "berry-chat-status";
  var list = el("div", { flex: "1", overflowY: "auto", padding: "8px 12px" });
  list.className = "berry-chat-messages";
  var offline = el("form", { display: "none", padding: "8px 12px", borderTop: "1px solid #eee" });
  offline.appendChild(el("div", { fontSize: "12px" }, "We're offline right now. Leave your e-mail and we'll reply there."));
  var emailInput = el("input", { width: "70%" });
  emailInput.type = "email"; emailInput.name = "email"; emailInput.placeholder = "you@example.com";
  offline.appendChild(emailInput);
  offline.appendChild(el("button", {}, "Save"));
  var form = el("form", { display: "flex", borderTop: "1px solid #eee" });
  var input = el("input", { flex: "1", minWidth: "0", border: "0", padding: "10px" });
  input.name = "message"; input.placeholder = "Type a message…"; input.maxLength = 4000;
  input.setAttribute("aria-label", "Message");
  var file = el("input", { width: "74px", fontSize: "11px", alignSelf: "center" });
  file.type = "file"; file.accept = "image/*,application/pdf,text/plain";
  var send = el("button", { border: "0", padding: "0 12px", background: "#eee", flex: "none" }, "Send");
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
  function show(msg) {
    if (msg.id && seen[msg.id]) { return; }
    if (msg.id) { seen[msg.id] = true; }
    if (choices) { choices.remove(); choices = null; }  // only the latest message's choices can be picked
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
      var link = el("a", { display: "block", marginTop: "4px" }, a.filename || "file");
      link.href = a.url; link.target = "_blank"; link.rel = "noopener noreferrer"; link.className = "berry-chat-file";
      bubble.appendChild(link);
    });
    row.appendChild(bubble); list.appendChild(row);
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
      say(data.open ? "We're online" : "We're offline — we'll answer by e-mail");
      offline.style.display = data.open ? "none" : "block";
      emit("history", {}, function (res) {
        var items = res.messages || [];
        if (!items.length && data.greeting) { show({ id: "greeting", text: data.greeting, from: "agent" }); }
        items.forEach(show);
      });
    } else if (name === "message") {
      show({ id: data.id, text: data.text, from: "agent", attachments: data.attachments, buttons: data.buttons });
    } else if (name === "typing") {
      say(data.typing ? "Agent is typing…" : "We're online");
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
      connected = false; say("Reconnecting…");
      setTimeout(connect, backoff); backoff = Math.min(backoff * 2, 30000);
    };
  }

  function clientId() { return Date.now().toString(36) + Math.random().toString(36).slice(2, 10); }
  function post(text, attachments) {
    emit("message", { text: text, client_id: clientId(), attachments: attachments, page: location.pathname },
         function (res) {
           if (res.ok) { show({ id: res.id, text: text, from: "visitor", attachments: res.attachments || [] }); }
           else { say("Not sent: " + res.error); }
         });
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
        .then(function (res) { if (res[0]) { post(text, [res[1]]); } else { say("Upload refused: " + res[1].detail); } });
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
      say(res.ok ? "Thanks — we'll reply by e-mail." : "Please check the address: " + res.error);
    });
  });

  function mount() { document.body.appendChild(root); }
  if (document.body) { mount(); } else { document.addEventListener("DOMContentLoaded", mount); }
  window.BerryChat = { open: function () { if (panel.style.display === "none") { launcher.click(); } } };
}());
