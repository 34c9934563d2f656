// Entry point: sign-in, then the workspace. State lives in one object passed to the views.
import {api, ApiError, login, session} from "./api.js";
import {clear, h} from "./dom.js";
import {languagePicker, loadLocale, t} from "./i18n.js";
import {Live} from "./live.js";
import {disablePush} from "./push.js";
import {Workspace} from "./views.js";

const STAFF = new Set(["admin", "supervisor", "agent"]);
const root = document.getElementById("app");

async function main() {
  await loadLocale();
  document.title = t("app.title");
  if ("serviceWorker" in navigator) navigator.serviceWorker.register("/console/sw.js", {scope: "/console/"}).catch(() => {});
  const current = session.get();
  if (current && STAFF.has(current.user?.role)) {
    try {
      const me = await api("GET", "/auth/me");
      return start(me);
    } catch (err) {
      if (!(err instanceof ApiError) || err.status !== 401) throw err;
      session.clear();
    }
  }
  showLogin();
}

function showLogin(message = "") {
  const error = h("p", {class: "error", role: "alert", text: message});
  const email = h("input", {type: "email", name: "email", autocomplete: "username", required: true, id: "login-email"});
  const password = h("input", {type: "password", name: "password", autocomplete: "current-password", required: true,
    id: "login-password"});
  const form = h("form", {class: "login card", onsubmit: async (ev) => {
    ev.preventDefault();
    error.textContent = "";
    try {
      const user = await login(email.value, password.value);
      if (!STAFF.has(user.role)) { session.clear(); error.textContent = t("login.staff_only"); return; }
      start(user);
    } catch {
      error.textContent = t("login.failed");
    }
  }},
  h("img", {src: "/console/static/img/icon.svg", alt: "", class: "logo"}),
  h("h1", {text: t("login.title")}),
  h("label", {for: "login-email", text: t("login.email")}), email,
  h("label", {for: "login-password", text: t("login.password")}), password,
  h("button", {type: "submit", class: "primary", text: t("login.submit")}), error, languagePicker());
  clear(root, h("div", {class: "login-wrap"}, form));
  email.focus();
}

function start(user) {
  const live = new Live();
  const workspace = new Workspace(root, user, live, async () => {
    await disablePush();  // while still signed in: the hub drops this browser's subscription
    live.close();
    session.clear();
    showLogin();
  });
  workspace.mount();
  window.berry = workspace;  // for the browser tests and the curious
}

main().catch((err) => {
  console.error(err);
  clear(root, h("p", {class: "error", text: String(err)}));
});
