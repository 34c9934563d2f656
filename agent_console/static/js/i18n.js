// UI strings live in /console/static/locales/<lang>.json; English is the fallback for any key a
// translation lacks. The language is the agent's choice (kept in this browser), else the browser's.
import {h} from "./dom.js";

export const LANGUAGES = {en: "English", af: "Afrikaans"};  // each has locales/<code>.json
const CHOICE = "berry.console.lang";
let strings = {};
let fallback = {};

export function chosenLanguage() {
  const wanted = (localStorage.getItem(CHOICE) || navigator.language || "en").split("-")[0].toLowerCase();
  return wanted in LANGUAGES ? wanted : "en";
}

export async function loadLocale(lang = chosenLanguage()) {
  fallback = await fetchLocale("en");
  strings = lang === "en" ? fallback : {...fallback, ...(await fetchLocale(lang).catch(() => ({})))};
  document.documentElement.lang = lang;
}

async function fetchLocale(lang) {
  const response = await fetch(`/console/static/locales/${lang}.json`);
  if (!response.ok) throw new Error(`no locale ${lang}`);
  return response.json();
}

export function t(key, vars = {}) {
  const template = strings[key] ?? fallback[key] ?? key;
  return template.replace(/\{(\w+)\}/g, (_, name) => (name in vars ? String(vars[name]) : `{${name}}`));
}

// A language picker: the choice is remembered and the console reloads in that language.
export function languagePicker() {
  const current = document.documentElement.lang;
  return h("select", {id: "language", "aria-label": t("language"), title: t("language"), onchange: (ev) => {
    localStorage.setItem(CHOICE, ev.target.value);
    location.reload();
  }}, Object.entries(LANGUAGES).map(([code, name]) => h("option", {value: code, lang: code, text: name,
    selected: code === current})));
}
