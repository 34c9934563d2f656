// The live operations tile (supervisors and admins): queue, agents online, tickets at SLA risk.
// Loaded once over REST, then kept current by the hub's "ops" pushes on the agent console's
// Socket.IO namespace (same token as the console; refreshed when refused).
import {io} from "/console/static/vendor/socket.io.esm.min.js";
import {freshToken, getJson, session} from "/static/js/api.js";

const FIELDS = [["queue", "In the queue"], ["agents_online", "Agents online"], ["at_risk", "At SLA risk"],
  ["breached", "SLA breached"], ["open", "Open backlog"]];

function render(tile, ops) {
  tile.replaceChildren(...FIELDS.map(([key, label]) => {
    const cell = document.createElement("div");
    cell.className = `op${(key === "breached" || key === "at_risk") && ops[key] ? " alert" : ""}`;
    cell.dataset.op = key;
    const value = document.createElement("div");
    value.className = "value";
    value.textContent = String(ops[key]);
    const name = document.createElement("div");
    name.className = "label";
    name.textContent = label;
    cell.append(value, name);
    return cell;
  }));
  tile.dataset.asOf = ops.as_of;
}

export async function startLive(tile, state) {
  try {
    render(tile, await getJson("/reports/live"));
  } catch {
    tile.closest("section").hidden = true;  // not a supervisor: no live tile
    return null;
  }
  tile.closest("section").hidden = false;
  const socket = io("/agents", {transports: ["websocket"], auth: (cb) => cb({token: session.get()?.access}),
    reconnectionDelayMax: 5000});
  socket.on("connect", () => { state.dataset.live = "on"; });
  socket.on("disconnect", (reason) => {
    state.dataset.live = "off";
    if (reason === "io server disconnect") freshToken().then(() => socket.connect(), () => {});
  });
  socket.on("connect_error", async (err) => {
    state.dataset.live = "off";
    if (!String(err.message).startsWith("unauthorized")) return;
    try { await freshToken(); socket.connect(); } catch { /* signed out */ }
  });
  socket.on("ops", (ops) => render(tile, ops));
  return socket;
}
