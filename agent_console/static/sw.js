// Service worker: the console shell works offline-first (cached app shell); API and socket traffic
// always go to the network. Bump VERSION when the shell's files change.
const VERSION = "berry-console-v33";
const SHELL = [
  "/console/", "/console/static/css/console.css", "/console/static/js/app.js", "/console/static/js/dom.js",
  "/console/static/js/i18n.js", "/console/static/js/api.js", "/static/js/api.js", "/console/static/js/live.js",
  "/console/static/js/views.js", "/console/static/js/thread.js", "/console/static/js/contact.js",
  "/console/static/js/supervisor.js", "/console/static/js/settings.js", "/console/static/js/conflict.js",
  "/console/static/js/push.js",
  "/console/static/js/settings/common.js", "/console/static/js/settings/people.js",
  "/console/static/js/settings/keys.js", "/console/static/js/settings/webhooks.js",
  "/console/static/js/settings/canned.js", "/console/static/js/settings/sla.js",
  "/console/static/js/settings/inboxes.js", "/console/static/js/settings/hours.js",
  "/console/static/js/settings/rules.js", "/console/static/js/settings/macros.js",
  "/console/static/js/settings/privacy.js",
  "/console/static/locales/en.json", "/console/static/locales/af.json",
  "/console/static/img/icon.svg",
  "/console/static/vendor/socket.io.esm.min.js",
];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(VERSION).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(caches.keys().then((keys) => Promise.all(keys.filter((k) => k !== VERSION).map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== location.origin || !url.pathname.startsWith("/console")) return;
  // network first, so a deployed console is picked up at once; the cache covers a lost connection
  event.respondWith(fetch(event.request).then((response) => {
    if (response.ok) {
      const copy = response.clone();
      caches.open(VERSION).then((cache) => cache.put(event.request, copy));
    }
    return response;
  }).catch(() => caches.match(event.request).then((hit) => hit || caches.match("/console/"))));
});

// A Web Push message from the hub (agent_console/push: assignment, @mention, SLA warning, bot
// handoff) shows a notification even with every console tab closed. A console tab in view shows
// the same event itself, so the push is shown only when none is (the tag matches the tab's own
// notifications, so one replaces the other rather than doubling up).
const isConsole = (url) => /^\/console(\/|\/c\/.*|\/settings(\/.*)?)?$/.test(new URL(url).pathname);

self.addEventListener("push", (event) => {
  let data = {};
  try { data = event.data ? event.data.json() : {}; } catch { data = {title: event.data?.text() || ""}; }
  const title = String(data.title || "Berry console").slice(0, 120);
  const url = data.conversation_id ? `/console/c/${encodeURIComponent(data.conversation_id)}` : "/console/";
  event.waitUntil(self.clients.matchAll({type: "window", includeUncontrolled: true}).then((wins) => {
    if (wins.some((w) => w.visibilityState === "visible" && isConsole(w.url))) return;
    return self.registration.showNotification(title, {body: String(data.body || "").slice(0, 140),
      tag: data.conversation_id || data.tag || "berry", icon: "/console/static/img/icon.svg",
      data: {url, kind: data.kind || ""}});
  }).finally(() => { self.pushesHandled = (self.pushesHandled || 0) + 1; }));  // observable, like beeps
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const target = event.notification.data && event.notification.data.url || "/console/";
  event.waitUntil(self.clients.matchAll({type: "window"}).then((wins) => {
    for (const w of wins) if ("focus" in w) { w.navigate(target); return w.focus(); }
    return self.clients.openWindow(target);
  }));
});
