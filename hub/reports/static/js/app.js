// The reports dashboard: sign-in, filters (kept in the URL), KPI tiles with trends, charts, tables, exports.
import {ApiError, all, getBlob, getJson, login, session} from "/static/js/api.js";
import {SCORES, bar, heatmap, line} from "./charts.js";
import {DASH, change, count, hoursText, rate, score} from "./format.js";
import {arrange} from "./layout.js";
import {startLive} from "./live.js";
import {startSchedules} from "./schedules.js";

const FILTERS = ["start", "end", "channel", "team_id", "agent_id", "contact_type", "tz"];
const $ = (id) => document.getElementById(id);

// label, how to write it, lower is better
const KPIS = [
  ["conversations", "Conversations", count, false],
  ["resolved", "Resolved", count, false],
  ["first_response_median_h", "First response (median)", hoursText, true],
  ["first_response_p90_h", "First response (p90)", hoursText, true],
  ["next_response_median_h", "Next response (median)", hoursText, true],
  ["resolution_median_h", "Resolution (median)", hoursText, true],
  ["csat_average", "CSAT average", score, false],
  ["csat_response_rate", "CSAT response rate", rate, false],
  ["bot_deflection_rate", "Bot deflection", rate, false],
  ["sla_first_response_compliance", "First-response SLA met", rate, false],
];

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v; else node.setAttribute(k, v);
  }
  for (const child of children) node.append(child ?? "");
  return node;
}

function isoDay(date) { return date.toISOString().slice(0, 10); }

function currentFilters() {
  const params = new URLSearchParams(location.search);
  const today = new Date();
  const values = {
    start: params.get("start") || isoDay(new Date(today.getTime() - 29 * 86400e3)),
    end: params.get("end") || isoDay(today),
    tz: params.get("tz") || Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC",
  };
  for (const name of ["channel", "team_id", "agent_id", "contact_type"]) values[name] = params.get(name) || "";
  return values;
}

function queryString(filters) {
  const params = new URLSearchParams();
  for (const name of FILTERS) if (filters[name]) params.set(name, filters[name]);
  return params.toString();
}

function table(id, columns, rows) {
  const node = $(id);
  node.replaceChildren(
    el("thead", {}, el("tr", {}, ...columns.map(([label, , num]) => el("th", num ? {class: "num"} : {}, label)))),
    el("tbody", {}, ...rows.map((row) => el("tr", {}, ...columns.map(([, render, num, key]) =>
      el("td", {...(num ? {class: "num"} : {}), ...(key ? {"data-key": key} : {})}, render(row)))))));
  if (!rows.length) node.append(el("tbody", {}, el("tr", {}, el("td", {colspan: columns.length}, "Nothing in this range"))));
}

// unresolved tickets assigned, averaged over the range's hourly samples / the most at once
function loadText(agent) {
  return agent.load_average === null || agent.load_average === undefined ? DASH
    : `${agent.load_average.toFixed(1)} / ${agent.load_peak}`;
}

function renderKpis(overview, backlog) {
  const tiles = KPIS.map(([key, label, fmt, lowerIsBetter]) => {
    const kpi = overview.kpis[key];
    const trend = change(kpi, lowerIsBetter);
    return el("div", {class: "kpi", "data-kpi": key},
      el("div", {class: "label"}, label),
      el("div", {class: "value"}, fmt(kpi.value)),
      el("div", {class: `trend ${trend.tone}`}, trend.text));
  });
  tiles.push(el("div", {class: "kpi", "data-kpi": "backlog"}, el("div", {class: "label"}, "Open backlog now"),
    el("div", {class: "value"}, count(backlog.total)),
    el("div", {class: "trend"}, `${backlog.by_status.pending} pending · ${backlog.by_status.snoozed} snoozed`)));
  $("kpis").replaceChildren(...tiles);
}

function render(r) {
  renderKpis(r.overview, r.backlog);
  const days = r.volume.by_day;
  line("chart-days", days.map((d) => d.date.slice(5)), days.map((d) => d.count), "conversations");
  bar("chart-channels", r.volume.by_channel.map((c) => c.channel), r.volume.by_channel.map((c) => c.count), "conversations");
  heatmap("chart-heatmap", r.volume.heatmap.weekdays, r.volume.heatmap.hours, r.volume.heatmap.counts);
  const dist = r.csat.distribution;
  bar("chart-csat", Object.keys(dist).map((s) => `${s}★`), Object.values(dist), "answers", {colors: SCORES});
  $("csat-note").textContent = `${count(r.csat.responses)} answers to ${count(r.csat.surveyed)} surveys · ` +
    `${rate(r.csat.satisfied_share)} satisfied (4–5)`;
  $("bot-note").textContent = `${count(r.bot.engaged)} conversations with the bot · ${count(r.bot.deflected)} resolved ` +
    `without a person · ${count(r.bot.handed_off)} handed off`;
  const reasons = r.bot.handoff_reasons;
  bar("chart-handoffs", reasons.map((x) => x.reason), reasons.map((x) => x.count), "handoffs", {horizontal: true});

  const rt = r.response_times;
  const timeRows = [["First response", rt.first_response], ["Next response", rt.next_response],
    ["Resolution", rt.resolution]].flatMap(([name, m]) =>
    [[`${name}`, "calendar", m.calendar], [`${name}`, "business", m.business]]);
  table("table-times", [["Metric", (x) => x[0]], ["Clock", (x) => x[1]], ["Tickets", (x) => count(x[2].n), true],
    ["Median", (x) => hoursText(x[2].median_h), true], ["p90", (x) => hoursText(x[2].p90_h), true]], timeRows);

  table("table-contacts", [["", (x) => x[0]], ["Conversations", (x) => count(x[1].conversations), true],
    ["Contacts", (x) => count(x[1].contacts), true], ["CSAT", (x) => score(x[1].csat_average), true]],
    Object.entries(r.contacts));

  table("table-agents", [["Agent", (a) => a.name || a.agent_id], ["Handled", (a) => count(a.handled), true, "handled"],
    ["Resolved", (a) => count(a.resolved), true, "resolved"],
    ["1st response (median)", (a) => hoursText(a.first_response_median_h), true, "frt"],
    ["Next response (median)", (a) => hoursText(a.next_response_median_h), true, "nrt"],
    ["Resolution (median)", (a) => hoursText(a.resolution_median_h), true],
    ["CSAT", (a) => score(a.csat_average), true, "csat"], ["Answers", (a) => count(a.csat_responses), true],
    ["Load (avg / peak)", loadText, true, "load"],
    ["Online", (a) => hoursText(a.online_h), true, "online"]], r.agents);

  const slaRows = [["All", r.sla.overall], ...r.sla.by_priority.map((p) => [p.priority, p])];
  table("table-sla", [["Priority", (x) => x[0]],
    ["First response", (x) => rate(x[1].first_response.compliance), true],
    ["Resolution", (x) => rate(x[1].resolution.compliance), true],
    ["Breaches", (x) => count(x[1].first_response.breached + x[1].resolution.breached), true]], slaRows);

  table("table-backlog", [["Team", (t) => t.team_id || "(no team)"], ["Open", (t) => count(t.count), true],
    ["Median age", (t) => hoursText(t.age_median_h), true], ["Oldest", (t) => hoursText(t.oldest_h), true]], r.backlog.by_team);
  const bands = r.backlog.age_bands;
  bar("chart-ages", Object.keys(bands), Object.values(bands), "tickets");

  $("kb-note").textContent = `${count(r.kb.searches)} searches · ${rate(r.kb.success_rate)} found an article`;
  table("table-kb", [["Searched, nothing found", (x) => x.query], ["Times", (x) => count(x.count), true]],
    r.kb.no_result_queries.slice(0, 8));
  fillAgents(r.agents);
}

function fillAgents(agents) {
  const select = document.querySelector("select[name=agent_id]");
  const chosen = currentFilters().agent_id;
  const known = new Set([...select.options].map((o) => o.value));
  for (const a of agents) {
    if (a.agent_id && !known.has(a.agent_id)) select.append(el("option", {value: a.agent_id}, a.name || a.agent_id));
  }
  select.value = chosen;
}

// team id → name; every team select (filters, schedule form) gets the teams as options
async function fillTeams() {
  let teams = [];
  try { teams = await all("/teams"); } catch { /* no teams yet, or no permission: "All" only */ }
  for (const select of document.querySelectorAll("select[name=team_id]")) {
    const known = new Set([...select.options].map((o) => o.value));
    for (const t of teams) if (!known.has(t.id)) select.append(el("option", {value: t.id}, t.name));
  }
  document.querySelector("#filters select[name=team_id]").value = currentFilters().team_id;
  return new Map(teams.map((t) => [t.id, t.name]));
}

function renderExports(tables) {
  const pdf = el("a", {"data-table": "report", "data-format": "pdf", role: "button", tabindex: "0"}, "PDF");
  pdf.addEventListener("click", () => save(`/reports/pdf?${queryString(currentFilters())}`));
  $("exports").replaceChildren(el("li", {}, "whole report", pdf), ...tables.map((name) => el("li", {}, name.replaceAll("_", " "),
    ...["csv", "xlsx"].map((fmt) => {
      const link = el("a", {"data-table": name, "data-format": fmt, role: "button", tabindex: "0"}, fmt.toUpperCase());
      link.addEventListener("click", () => download(name, fmt));
      return link;
    }))));
}

function download(name, fmt) {
  return save(`/reports/export/${name}?${queryString(currentFilters())}&format=${fmt}`);
}

async function save(path) {
  try {
    const {blob, name: filename} = await getBlob(path);
    const url = URL.createObjectURL(blob);
    const a = el("a", {href: url, download: filename});
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  } catch (err) {
    $("error").textContent = err.message;
  }
}

async function load() {
  const filters = currentFilters();
  const form = $("filters");
  for (const name of FILTERS) if (form.elements[name]) form.elements[name].value = filters[name];
  $("error").textContent = "";
  document.body.dataset.state = "loading";
  try {
    const report = await getJson(`/reports/dashboard?${queryString(filters)}`);
    render(report);
    document.body.dataset.state = "ready";
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return showSignin();
    $("error").textContent = err.message;
    document.body.dataset.state = "error";
  }
}

function showSignin() {
  $("dashboard").hidden = true;
  $("signin").hidden = false;
  $("signout").hidden = true;
  $("who").textContent = "";
}

async function showDashboard() {
  const user = session.get()?.user;
  $("signin").hidden = true;
  $("dashboard").hidden = false;
  $("signout").hidden = false;
  $("who").textContent = user ? `${user.name || user.email} (${user.role})` : "";
  if (user?.role === "agent") document.querySelector("select[name=agent_id]").closest("label").hidden = true;
  renderExports(await getJson("/reports/tables").catch(() => []));
  const teams = fillTeams();
  await arrange($("widgets"), (err) => { $("error").textContent = err.message; });
  if (user?.role === "supervisor" || user?.role === "admin") {
    startLive($("ops"), $("live-state"));
    teams.then((names) => startSchedules($("schedules"), names));
  }
  await load();
}

$("signin-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const data = new FormData(event.target);
  try {
    await login(data.get("email"), data.get("password"));
    await showDashboard();
  } catch (err) {
    $("signin-error").textContent = err.message;
  }
});

$("signout").addEventListener("click", () => { session.clear(); showSignin(); });

$("filters").addEventListener("submit", (event) => {
  event.preventDefault();
  const data = new FormData(event.target);
  const filters = Object.fromEntries(FILTERS.map((name) => [name, data.get(name) || ""]));
  history.pushState(null, "", `?${queryString(filters)}`);
  load();
});

window.addEventListener("popstate", load);

if (session.get()?.access) showDashboard(); else showSignin();
export {DASH};
