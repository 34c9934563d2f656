// Settings › SLA policies: targets per priority, a business-hours calendar, the default.
// Methods of SettingsView (settings.js mixes them in): `this` is the settings view.
import {all, api} from "../api.js";
import {h} from "../dom.js";
import {t} from "../i18n.js";
import {field, table, button} from "./common.js";

const PRIORITIES = ["urgent", "high", "normal", "low"];
const SLA_METRICS = {first_response: "first", resolution: "resolution"};  // edited here (next_response kept)

export class SlaSettings {
  async loadSla() {
    [this.policies, this.calendars, this.teams] = await Promise.all([all("/sla-policies?sort=name"),
      all("/business-hours?sort=name"), all("/teams")]);
    await this.readEditing("editingSla", this.policies, "/sla-policies");
  }

  calendarName(id) {
    return id ? this.calendars.find((c) => c.id === id)?.name || id : t("settings.sla_always");
  }

  slaPanel() {
    const minutes = (m) => (m % 60 ? t("settings.sla_min", {n: m}) : t("settings.sla_h", {n: m / 60}));
    const targets = (p) => PRIORITIES.filter((pr) => p.targets[pr]).map((pr) => h("li", {},
      h("strong", {text: `${t(`priority.${pr}`)}: `}),
      Object.keys(SLA_METRICS).filter((m) => p.targets[pr][m])
        .map((m) => `${t(`settings.sla_${SLA_METRICS[m]}`)} ${minutes(p.targets[pr][m])}`).join(" · ")));
    const makeDefault = (p) => this.attempt(() => api("PATCH", `/sla-policies/${p.id}`, {default: true}),
      t("settings.sla_now_default", {name: p.name}));
    const rows = this.policies.map((p) => h("tr", {dataset: {policy: p.id}},
      h("td", {}, h("strong", {text: p.name}), " ",
        p.default && h("span", {class: "badge ok", text: t("settings.sla_default")})),
      h("td", {text: this.calendarName(p.business_hours_id)}),
      h("td", {}, h("ul", {class: "targets"}, targets(p))),
      h("td", {text: p.team_ids.map((id) => this.teamName(id)).join(", ") || "—"}),
      h("td", {}, button(t("settings.edit"), () => this.editSla(p),
        {class: "link edit", "aria-label": t("settings.sla_edit_named", {name: p.name})}),
      !p.default && button(t("settings.sla_make_default"), () => makeDefault(p),
        {class: "link make-default", "aria-label": t("settings.sla_make_default_named", {name: p.name})}),
      button(t("settings.delete"), () => this.deleteSla(p),
        {class: "link delete", "aria-label": t("settings.sla_delete_named", {name: p.name})}))));
    const headers = ["settings.name", "settings.sla_hours", "settings.sla_targets", "settings.teams", ""];
    return [this.slaForm(), rows.length ? table("sla-table", headers, rows)
      : h("p", {class: "muted", text: t("settings.none")})];
  }

  async editSla(policy) {
    this.editingSla = policy.id;
    await this.refresh();
    this.el.querySelector("#sla-name")?.focus();
  }

  deleteSla(policy) {
    if (!window.confirm(t("settings.sla_delete_confirm", {name: policy.name}))) return;
    return this.attempt(() => api("DELETE", `/sla-policies/${policy.id}`), t("settings.saved"));
  }

  slaForm() {
    const editing = this.policies.find((p) => p.id === this.editingSla) || null;
    const name = h("input", {type: "text", id: "sla-name", required: true, maxlength: 200,
      autocomplete: "off", value: editing?.name ?? ""});
    const hours = h("select", {id: "sla-hours"}, h("option", {value: "", text: t("settings.sla_always")}),
      this.calendars.map((c) => h("option", {value: c.id, text: `${c.name} (${c.timezone})`,
        selected: editing?.business_hours_id === c.id})));
    const isDefault = h("input", {type: "checkbox", id: "sla-default", checked: editing?.default || false});
    // minutes of business time per priority and metric; empty: no target
    const inputs = {};
    const grid = h("table", {class: "sla-targets", id: "sla-targets"},
      h("thead", {}, h("tr", {}, h("th", {text: t("settings.sla_priority")}),
        Object.values(SLA_METRICS).map((m) => h("th", {text: t(`settings.sla_${m}_minutes`)})))),
      h("tbody", {}, PRIORITIES.map((pr) => h("tr", {}, h("th", {text: t(`priority.${pr}`)}),
        Object.entries(SLA_METRICS).map(([metric, m]) => {
          const input = h("input", {type: "number", min: 1, max: 525600, step: 1, inputmode: "numeric",
            id: `sla-${pr}-${m}`, value: editing?.targets[pr]?.[metric] ?? "",
            "aria-label": t(`settings.sla_${m}_of`, {priority: t(`priority.${pr}`)})});
          (inputs[pr] ||= {})[metric] = input;
          return h("td", {}, input);
        })))));
    const body = (base) => {
      const targets = {};
      for (const pr of PRIORITIES) {
        const entry = {...(base?.targets[pr] || {})};  // a metric not edited here (next response) is kept
        for (const [metric, input] of Object.entries(inputs[pr])) {
          if (input.value === "") delete entry[metric];
          else entry[metric] = Number(input.value);
        }
        if (Object.values(entry).some((v) => v !== null && v !== undefined)) targets[pr] = entry;
      }
      return {name: name.value.trim(), business_hours_id: hours.value || null, targets,
        default: isDefault.checked};
    };
    const save = (ev) => {
      ev.preventDefault();
      if (editing) {
        return this.saveEdited({path: `/sla-policies/${editing.id}`, base: editing,
          etag: this.etags.editingSla, body, form: ev.target, labels: {name: t("settings.name"),
            business_hours_id: t("settings.sla_hours"), targets: t("settings.sla_targets"),
            default: t("settings.sla_default")},
          show: {business_hours_id: (id) => this.calendarName(id)}},
        () => { this.editingSla = null; });  // saved: the form is empty again for the next one
      }
      return this.attempt(() => api("POST", "/sla-policies", body(null)), t("settings.saved"));
    };
    const cancel = () => { this.editingSla = null; this.refresh(); };
    return h("form", {class: "card settings-form", id: "sla-form", onsubmit: save},
      h("h3", {text: editing ? t("settings.sla_edit", {name: editing.name}) : t("settings.sla_new")}),
      field(t("settings.name"), name), field(t("settings.sla_hours"), hours),
      h("p", {class: "muted hint", text: t("settings.sla_hint")}), grid,
      h("label", {class: "check"}, isDefault, ` ${t("settings.sla_default_hint")}`),
      h("div", {class: "row"}, h("button", {type: "submit", class: "primary",
        text: editing ? t("settings.save") : t("settings.create")}),
      editing && button(t("settings.cancel"), cancel, {id: "sla-cancel"})));
  }
}
