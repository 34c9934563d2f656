// Widgets the user arranges: move a card up or down; the order (and hidden cards) is saved per user
// through PUT /api/v1/reports/layout and applied on every visit.
import {api, getJson} from "/static/js/api.js";

function cards(grid) { return [...grid.querySelectorAll(":scope > [data-widget]")]; }

async function save(grid, hidden) {
  await api("PUT", "/reports/layout", {order: cards(grid).map((c) => c.dataset.widget), hidden});
}

export async function arrange(grid, onError) {
  let layout = {order: [], hidden: []};
  try { layout = await getJson("/reports/layout"); } catch { /* default order */ }
  const byId = new Map(cards(grid).map((c) => [c.dataset.widget, c]));
  for (const id of layout.order) if (byId.has(id)) grid.append(byId.get(id));
  for (const [id, card] of byId) card.hidden = layout.hidden.includes(id);
  for (const card of byId.values()) {
    if (card.querySelector(".move")) continue;
    const title = card.querySelector("h2")?.firstChild?.textContent?.trim() || card.dataset.widget;
    const box = document.createElement("span");
    box.className = "move";
    for (const [dir, arrow] of [["up", "▲"], ["down", "▼"]]) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "link";
      button.dataset.move = dir;
      button.textContent = arrow;
      button.setAttribute("aria-label", `Move “${title}” ${dir}`);
      button.addEventListener("click", async () => {
        const sibling = dir === "up" ? card.previousElementSibling : card.nextElementSibling;
        if (!sibling) return;
        if (dir === "up") grid.insertBefore(card, sibling); else grid.insertBefore(sibling, card);
        try { await save(grid, layout.hidden); grid.dataset.saved = cards(grid).map((c) => c.dataset.widget).join(","); }
        catch (err) { onError(err); }
      });
      box.append(button);
    }
    card.querySelector("h2")?.append(box);
  }
}
