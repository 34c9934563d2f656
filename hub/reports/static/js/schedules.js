// Scheduled reports (supervisors and admins): the list, a form to add one, delete. The hub validates
// (addresses, time zone, day, hour); its 422 errors are shown next to the form, one line per field.
import {ApiError, all, api} from "/static/js/api.js";

const WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
const LABELS = {name: "Name", frequency: "Every", weekday: "On", day: "Day of the month", hour: "Hour",
  tz: "Time zone", team_id: "Team", recipients: "Recipients"};

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  node.append(...children);
  return node;
}

function when(s) {
  const at = `${String(s.hour).padStart(2, "0")}:00 ${s.tz}`;
  return s.frequency === "weekly" ? `Weekly, ${WEEKDAYS[s.weekday]} ${at}` : `Monthly, day ${s.day} ${at}`;
}

// "a@x.org, b@y.org\nc@z.org" → three addresses; the hub checks each one.
export function addresses(text) {
  return text.split(/[\s,;]+/).map((a) => a.trim()).filter(Boolean);
}

// an empty number field is sent as null, so the hub says it is missing (Number("") would be 0)
function number(input) { return input.value.trim() === "" ? null : Number(input.value); }

function body(form) {
  const f = form.elements;
  const out = {name: f.name.value.trim(), frequency: f.frequency.value, hour: number(f.hour),
    tz: f.tz.value.trim(), recipients: addresses(f.recipients.value), team_id: f.team_id.value || null};
  if (out.frequency === "weekly") out.weekday = number(f.weekday); else out.day = number(f.day);
  return out;
}

// "recipients.1" → the recipients field, with the address it refers to.
function explain(error, sent) {
  const [field, index] = error.field.split(".");
  const which = index !== undefined && Array.isArray(sent[field]) ? ` (“${sent[field][index]}”)` : "";
  return {field, text: `${LABELS[field] || field}${which}: ${error.message}`};
}

function showErrors(form, list, err, sent) {
  const problems = err instanceof ApiError && err.status === 422
    ? (err.problem?.errors || [{field: err.problem?.field || "", message: err.message}]).map((e) => explain(e, sent))
    : [{field: "", text: err.message}];
  for (const problem of problems) form.elements[problem.field]?.setAttribute("aria-invalid", "true");
  list.replaceChildren(...problems.map((p) => el("li", {"data-field": p.field}, p.text)));
}

function clearErrors(form, list) {
  for (const input of form.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
  list.replaceChildren();
}

async function refresh(table, teams, onError) {
  const schedules = await all("/reports/schedules");
  const head = el("thead", {}, el("tr", {}, ...["Name", "When", "Team", "Recipients", "Next run", ""].map((h) => el("th", {}, h))));
  const rows = schedules.map((s) => {
    const remove = el("button", {type: "button", class: "danger", "data-delete": s.id}, "Delete");
    remove.addEventListener("click", async () => {
      if (!confirm(`Stop e-mailing “${s.name}”?`)) return;
      try {
        await api("DELETE", `/reports/schedules/${s.id}`);
      } catch (err) {
        if (err.status !== 404) return onError(err);  // 404: already deleted elsewhere
      }
      await refresh(table, teams, onError);
    });
    return el("tr", {"data-schedule": s.id}, el("td", {}, s.name), el("td", {}, when(s)),
      el("td", {}, s.team_id ? teams.get(s.team_id) || s.team_id : "All"), el("td", {}, s.recipients.join(", ")),
      el("td", {}, new Date(s.next_run_at).toLocaleString()), el("td", {}, remove));
  });
  const empty = el("tr", {}, el("td", {colspan: "6"}, "No scheduled reports yet"));
  table.replaceChildren(head, el("tbody", {}, ...(rows.length ? rows : [empty])));
  table.dataset.count = String(schedules.length);
}

export async function startSchedules(section, teams) {
  const table = section.querySelector("#schedule-list");
  const form = section.querySelector("#schedule-form");
  const errors = section.querySelector("#schedule-errors");
  const onError = (err) => showErrors(form, errors, err, {});
  try { await refresh(table, teams, onError); } catch { section.hidden = true; return; }  // no reports:schedule
  section.hidden = false;
  if (section.dataset.started) return;  // signed in again: the form is wired already
  section.dataset.started = "1";
  form.elements.tz.value ||= Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  const frequency = () => {
    for (const label of form.querySelectorAll("[data-for]")) label.hidden = label.dataset.for !== form.elements.frequency.value;
  };
  form.elements.frequency.addEventListener("change", frequency);
  frequency();
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form, errors);
    const sent = body(form);
    try {
      await api("POST", "/reports/schedules", sent);
    } catch (err) {
      showErrors(form, errors, err, sent);
      return;
    }
    form.elements.name.value = "";
    form.elements.recipients.value = "";
    await refresh(table, teams, onError);
  });
}
