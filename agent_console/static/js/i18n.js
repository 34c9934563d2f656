// UI strings live in /console/static/locales/<lang>.json; English is the fallback.
let strings = {};
let fallback = {};

export async function loadLocale(lang = navigator.language || "en") {
  fallback = await fetchLocale("en");
  const short = lang.split("-")[0];
  strings = short === "en" ? fallback : {...fallback, ...(await fetchLocale(short).catch(() => ({})))};
  document.documentElement.lang = short;
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
