// An edit saved with If-Match: the ETag its form was read with. When another admin changed the item
// meanwhile, the hub refuses the save (412) and nothing is written over their change. The item is
// then read again with its new ETag and merged three ways: `base` (the item as the form first loaded
// it), theirs (as it is now) and mine (what the form would save). A box in the form lists the fields
// they changed: changed by both (theirs beside mine, marked) or by them only (theirs is kept), with a
// choice: "Use theirs" (the form shows their version; what was typed goes) or "Keep mine and save"
// (their version, with only the fields this admin changed from `base` taken from the form, saved with
// the new ETag: another 412 shows the box again). Until one is chosen the form keeps what was typed.
// Shared by every Settings form that sends If-Match (canned responses, SLA, inboxes, business hours,
// rules, macros) and the contact panel's edit form (its GET answers more than the form edits: `pick`
// takes the item out of it; a 412 caused only by what the form does not edit, e.g. a new message in
// the contact's history, is saved again on the new ETag without a box, `retries` times).
import {api, read} from "./api.js";
import {h} from "./dom.js";
import {t} from "./i18n.js";

// an empty text and no value are the same (a form's empty input is "", the item's null)
const norm = (v) => (v === undefined || v === "" ? null : v);
const same = (a, b) => JSON.stringify(norm(a)) === JSON.stringify(norm(b));

// the fields of `mine` this admin changed from `base`
const edited = (mine, base) => Object.keys(mine).filter((k) => !same(mine[k], base?.[k]));

// what "Keep mine" saves: their version, with the fields this admin changed from `base`
function merged(mine, base, theirs) {
  const own = new Set(edited(mine, base));
  return Object.fromEntries(Object.keys(mine).map((k) => [k, own.has(k) || !(k in theirs) ? mine[k] : theirs[k]]));
}

function shown(value) {
  if (value === null || value === undefined || value === "") return "—";
  return typeof value === "string" ? value : JSON.stringify(value);
}

// the fields this form sends that the other admin changed
const theirChanges = (mine, base, fresh) => Object.keys(mine).filter((k) => k in fresh && !same(fresh[k], base?.[k]));

function box(form, {fresh, mine, base, labels, show, useTheirs, keepMine, title}) {
  // the fields this form sends that the other admin changed: changed by both (theirs beside mine,
  // mine is what "Keep mine" saves) or by them only (theirs is kept either way)
  const own = new Set(edited(mine, base));
  const changed = theirChanges(mine, base, fresh);
  const text = (k, v) => (show[k] ? show[k](v) : shown(v));
  const rows = changed.map((k) => {
    const both = own.has(k);
    const mineText = !both ? t("conflict.kept") : same(mine[k], fresh[k]) ? t("conflict.same") : text(k, mine[k]);
    return h("tr", {dataset: {field: k, changed: both ? "both" : "theirs"}},
      h("th", {scope: "row"}, h("span", {class: "name", text: labels[k] || k}),
        h("span", {class: `badge ${both ? "warn" : ""}`, text: t(both ? "conflict.by_both" : "conflict.by_them")})),
      h("td", {class: "theirs", text: text(k, fresh[k])}),
      h("td", {class: "mine", text: mineText}));
  });
  const id = `${form.id}-conflict`;
  return h("div", {class: "conflict", id, role: "group", "aria-labelledby": `${id}-title`},
    h("p", {class: "warn", id: `${id}-title`, text: title}),
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
 * Save `body(base)` to `path` with `If-Match: etag`, `base` being the item as the form first loaded it
 * (kept across retries). With `theirs` (the item read after a 412), what is saved is their version with
 * only the fields the form changed from `base`. Refused with 412: the item is read again and the box
 * shown in `form` (the 412 is thrown on, for the caller to show); "Use theirs" calls `useTheirs(fresh)`,
 * "Keep mine and save" calls `keepMine(fresh)`, `fresh` being {body, etag}: the caller saves again with
 * `etag: fresh.etag, theirs: fresh.body` and the same `base`. `labels` and `show` name fields and format
 * their values. `pick(read body)` is the item when the GET answers more (`fresh.whole` is all of it);
 * with `retries`, a 412 where they changed none of the fields sent is saved again on the new ETag.
 */
export async function saveIfMatch(options) {
  const {method = "PATCH", path, base, etag, theirs, body, form, labels = {}, show = {}, useTheirs, keepMine,
    pick = (item) => item, title = t("conflict.title"), retries = 0} = options;
  form.querySelector(".conflict")?.remove();
  const mine = body(base);
  try {
    return await api(method, path, theirs ? merged(mine, base, theirs) : mine, {ifMatch: etag});
  } catch (err) {
    if (err.status !== 412) throw err;
    const read_ = await read(path);
    const fresh = {body: pick(read_.body), etag: read_.etag, whole: read_.body};
    if (retries > 0 && !theirChanges(mine, base, fresh.body).length) {
      return saveIfMatch({...options, etag: fresh.etag, theirs: fresh.body, retries: retries - 1});
    }
    const shownBox = box(form, {fresh: fresh.body, mine, base, labels, show, title,
      useTheirs: () => useTheirs(fresh), keepMine: () => keepMine(fresh)});
    form.append(shownBox);
    throw err;
  }
}
