// Help center progressive enhancement: search as you type, in-page "was this helpful?" vote.
// Results are built with DOM nodes and textContent only: nothing from the server becomes HTML.
(function () {
  "use strict";
  function debounce(fn, ms) { var t; return function () { var a = arguments; clearTimeout(t); t = setTimeout(function () { fn.apply(null, a); }, ms); }; }

  document.querySelectorAll("form[data-instant]").forEach(function (form) {
    var input = form.querySelector("input[type=search]"), box = form.querySelector(".instant"), seq = 0;
    var run = debounce(function () {
      var q = input.value.trim(), mine = ++seq;
      if (!q) { box.hidden = true; box.replaceChildren(); return; }
      fetch(form.dataset.instant + "&q=" + encodeURIComponent(q), { headers: { Accept: "application/json" } })
        .then(function (r) { return r.json(); })
        .then(function (data) {
          if (mine !== seq) return;
          box.replaceChildren();
          if (data.unavailable || !data.hits.length) {
            var p = document.createElement("p");
            p.textContent = data.unavailable ? (form.dataset.unavailable || "Search is temporarily unavailable.")
              : (form.dataset.empty || "No matching articles.");
            box.appendChild(p);
          } else {
            var ul = document.createElement("ul");
            data.hits.forEach(function (h) {
              var li = document.createElement("li"), a = document.createElement("a"), s = document.createElement("small");
              a.href = h.url; a.textContent = h.title; s.textContent = h.summary;
              if (h.note) {  // an answer only in the default language: say so, in the page's language
                var n = document.createElement("span"); n.className = "tag"; n.textContent = h.note;
                a.lang = h.locale; n.lang = document.documentElement.lang; a.appendChild(document.createTextNode(" ")); a.appendChild(n);
              }
              a.appendChild(s); li.appendChild(a); ul.appendChild(li);
            });
            box.appendChild(ul);
          }
          box.hidden = false;
        })
        .catch(function () { box.hidden = true; });
    }, 150);
    input.addEventListener("input", run);
    input.addEventListener("keydown", function (e) { if (e.key === "Escape") { box.hidden = true; } });
  });

  document.querySelectorAll("form[data-feedback]").forEach(function (form) {
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var body = new URLSearchParams({ helpful: e.submitter ? e.submitter.value : "yes" });
      fetch(form.action, { method: "POST", body: body, headers: { Accept: "application/json" } })
        .then(function (r) {
          if (!r.ok) throw new Error(r.status);
          form.querySelectorAll("button").forEach(function (b) { b.hidden = true; });
          form.querySelector(".thanks").hidden = false;
        })
        .catch(function () { form.submit(); });
    });
  });

  // "Still need help?": the chat button appears once the web-chat widget (loaded async) is ready;
  // without it (or without JavaScript) the contact form link remains.
  document.addEventListener("click", function (e) {  // opening the chat counts against deflection
    var t = e.target instanceof Element ? e.target.closest("[data-open-chat], #berry-chat > button") : null;
    if (t && navigator.sendBeacon) navigator.sendBeacon("/help/escalations");
  }, true);
  function chatReady() {
    if (!window.BerryChat) return false;
    document.querySelectorAll("[data-open-chat]").forEach(function (b) {
      b.hidden = false;
      b.addEventListener("click", function () { window.BerryChat.open(); });
    });
    return true;
  }
  if (!chatReady()) window.addEventListener("load", chatReady);
})();
