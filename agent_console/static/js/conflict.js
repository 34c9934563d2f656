// An edit saved with If-Match: the ETag its form was read with. When another admin changed the item
// meanwhile, the hub refuses the save (412) and nothing is written over their change. The item is
// then read again with its new ETag, and a box in the form puts their version beside what this form
// would save, for each field they changed, with a choice: "Use theirs" (the form shows their version;
// what was typed goes) or "Keep mine and save" (what was typed, saved over their version with the new
// ETag: another 412 shows the box again). Until one is chosen the form keeps what was typed.
// Shared by every Settings form that sends If-Match (canned responses, SLA, inboxes, business hours,
// rules, macros).
import {api, read} from "./api.js";
import {h} from "./dom.js";
import {t} from "./i18n.js";

const same = (a, b) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

function shown(value) {
  if (value === null || value === undefined || value === "") return "—";
  return typeof value === "string" ? value : JSON.stringify(value);
}

function box(form, {fresh, mine, base, labels, show, useTheirs, keepMine}) {
  // the fields this form sends that the other admin changed, theirs beside this form's
  const changed = Object.keys(mine).filter((k) => k in fresh && !same(fresh[k], base?.[k]));
  const text = (k, v) => (show[k] ? show[k](v) : shown(v));
  const rows = changed.map((k) => h("tr", {dataset: {field: k}},
    h("th", {scope: "row", text: labels[k] || k}),
    h("td", {class: "theirs", text: text(k, fresh[k])}),
    h("td", {class: "mine", text: same(mine[k], fresh[k]) ? t("conflict.same") : text(k, mine[k])})));
  const id = `${form.id}-conflict`;
  return h("div", {class: "conflict", id, role: "group", "aria-labelledby": `${id}-title`},
    h("p", {class: "warn", id: `${id}-title`, text: t("conflict.title")}),
    rows.length ? h("table", {class: "conflict-fields"},
      h("thead", {}, h("tr", {}, h("th", {text: t("conflict.field")}), h("th", {text: t("conflict.theirs")}),
        h("th", {text: t("conflict.mine")}))), h("tbody", {}, rows))
      : h("p", {class: "muted", text: t("conflict.nothing_here")}),
    h("div", {class: "row"},
      h("button", {type: "button", class: "use-theirs", text: t("conflict.use_theirs"), onclick: useTheirs}),
      h("button", {type: "button", class: "primary keep-mine", text: t("conflict.keep_mine"),
        onclick: keepMine})));
}

/**
 * Save `body(base)` to `path` with `If-Match: etag`, `base` being the item as the form was read.
 * Refused with 412: the item is read again and the box shown in `form` (the 412 is thrown on, for the
 * caller to show the hub's reason); "Use theirs" calls `useTheirs(fresh)`, "Keep mine and save" calls
 * `keepMine(fresh)`, `fresh` being {body, etag}: the caller saves again with
 * `base: fresh.body, etag: fresh.etag`. `labels` and `show` name fields and format their values.
 */
export async function saveIfMatch({method = "PATCH", path, base, etag, body, form, labels = {}, show = {},
  useTheirs, keepMine}) {
  form.querySelector(".conflict")?.remove();
  const mine = body(base);
  try {
    return await api(method, path, mine, {ifMatch: etag});
  } catch (err) {
    if (err.status !== 412) throw err;
    const fresh = await read(path);
    // what "Keep mine" would save: what was typed, over their version where the form edits nothing
    const shownBox = box(form, {fresh: fresh.body, mine: body(fresh.body), base, labels, show,
      useTheirs: () => useTheirs(fresh), keepMine: () => keepMine(fresh)});
    form.append(shownBox);
    throw err;
  }
}
