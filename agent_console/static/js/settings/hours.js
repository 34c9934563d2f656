// Settings › Business hours: calendars with opening intervals per day and holidays.
// Methods of SettingsView (settings.js mixes them in): `this` is the settings view.
import {all, api} from "../api.js";
import {h} from "../dom.js";
import {t} from "../i18n.js";
import {field, table, button} from "./common.js";

const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
// an opening interval as the hub sends it: "08:00-17:00" (its stored form) or ["08:00", "17:00"]
const interval = (i) => (Array.isArray(i) ? i.join("-") : String(i));

export class HoursSettings {
  // a calendar: a time zone, opening intervals per weekday ("08:00-17:00, 18:00-20:00"; empty: closed)
  // and holidays (closed all day); the hub checks every interval and the zone
  async loadHours() {
    this.calendars = await all("/business-hours?sort=name");
    await this.readEditing("editingHours", this.calendars, "/business-hours");
  }

  hoursPanel() {
    const week = (c) => DAYS.filter((d) => c.week[d]?.length).map((d) => h("li", {},
      h("strong", {text: `${t(`day.${d}`)}: `}), c.week[d].map((i) => interval(i).replace("-", "–")).join(", ")));
    const rows = this.calendars.map((c) => h("tr", {dataset: {calendar: c.id}},
      h("td", {}, h("strong", {text: c.name})), h("td", {text: c.timezone}),
      h("td", {}, h("ul", {class: "targets"}, week(c))),
      h("td", {class: "preview", text: c.holidays.join(", ") || "—"}),
      h("td", {}, button(t("settings.edit"), () => this.editHours(c),
        {class: "link edit", "aria-label": t("settings.item_edit_named", {name: c.name})}),
      button(t("settings.delete"), () => this.deleteHours(c),
        {class: "link delete", "aria-label": t("settings.item_delete_named", {name: c.name})}))));
    const headers = ["settings.name", "settings.inbox_timezone", "settings.hours_week", "settings.hours_holidays",
      ""];
    return [this.hoursForm(), rows.length ? table("hours-table", headers, rows)
      : h("p", {class: "muted", text: t("settings.none")})];
  }

  async editHours(calendar) {
    this.editingHours = calendar.id;
    await this.refresh();
    this.el.querySelector("#hours-name")?.focus();
  }

  deleteHours(calendar) {
    if (!window.confirm(t("settings.hours_delete_confirm", {name: calendar.name}))) return;
    return this.attempt(() => api("DELETE", `/business-hours/${calendar.id}`), t("settings.saved"));
  }

  hoursForm() {
    const editing = this.calendars.find((c) => c.id === this.editingHours) || null;
    const name = h("input", {type: "text", id: "hours-name", required: true, maxlength: 200,
      autocomplete: "off", value: editing?.name ?? ""});
    const zone = h("input", {type: "text", id: "hours-timezone", required: true, maxlength: 64,
      autocomplete: "off", value: editing?.timezone ?? Intl.DateTimeFormat().resolvedOptions().timeZone,
      placeholder: "Africa/Johannesburg"});
    const days = Object.fromEntries(DAYS.map((d) => [d, h("input", {type: "text", id: `hours-${d}`,
      autocomplete: "off", placeholder: "08:00-17:00", "aria-describedby": "hours-week-hint",
      value: (editing?.week[d] || []).map(interval).join(", ")})]));
    const holidays = h("textarea", {id: "hours-holidays", rows: 2, "aria-describedby": "hours-holidays-hint",
      value: (editing?.holidays || []).join(", ")});
    const body = () => {
      const week = {};
      for (const d of DAYS) {  // sent as typed ("08:00-17:00"): the hub says which one is wrong
        const intervals = days[d].value.split(/[,;]/).map((x) => x.replace(/\s+/g, "")).filter(Boolean);
        if (intervals.length) week[d] = intervals;
      }
      return {name: name.value.trim(), timezone: zone.value.trim(), week,
        holidays: holidays.value.split(/[\s,;]+/).filter(Boolean)};
    };
    const week = (w) => DAYS.filter((d) => w?.[d]?.length)
      .map((d) => `${t(`day.${d}`)}: ${w[d].map(interval).join(", ")}`).join("; ") || "—";
    const save = (ev) => {
      ev.preventDefault();
      if (editing) {
        return this.saveEdited({path: `/business-hours/${editing.id}`, base: editing,
          etag: this.etags.editingHours, body, form: ev.target,
          labels: {name: t("settings.name"), timezone: t("settings.inbox_timezone"),
            week: t("settings.hours_week"), holidays: t("settings.hours_holidays")},
          show: {week, holidays: (list) => (list || []).join(", ") || "—"}},
        () => { this.editingHours = null; });
      }
      return this.attempt(() => api("POST", "/business-hours", body()), t("settings.saved"));
    };
    const cancel = () => { this.editingHours = null; this.refresh(); };
    return h("form", {class: "card settings-form", id: "hours-form", onsubmit: save},
      h("h3", {text: editing ? t("settings.hours_edit", {name: editing.name}) : t("settings.hours_new")}),
      field(t("settings.name"), name), field(t("settings.inbox_timezone"), zone),
      h("fieldset", {class: "week"}, h("legend", {text: t("settings.hours_week")}),
        DAYS.map((d) => field(t(`day.${d}`), days[d]))),
      h("p", {class: "muted hint", id: "hours-week-hint", text: t("settings.hours_week_hint")}),
      field(t("settings.hours_holidays"), holidays),
      h("p", {class: "muted hint", id: "hours-holidays-hint", text: t("settings.hours_holidays_hint")}),
      h("div", {class: "row"}, h("button", {type: "submit", class: "primary",
        text: editing ? t("settings.save") : t("settings.create")}),
      editing && button(t("settings.cancel"), cancel)));
  }
}
