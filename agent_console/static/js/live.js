// The live connection to /agents: connects with the access token (refreshed when refused),
// catches up after every reconnect from the last event id it saw, drops duplicates, and wraps
// socket calls in promises with a timeout so the UI can tell "not confirmed" from "failed".
import {io} from "/console/static/vendor/socket.io.esm.min.js";
import {freshToken, session} from "./api.js";

const OVERLAP = 200;
const HEARTBEAT_MS = 20000;

export class Live extends EventTarget {
  constructor() {
    super();
    this.lastId = 0;
    this.seen = new Set();
    this.state = "connecting";
    this.socket = io("/agents", {
      transports: ["websocket"],
      auth: (cb) => cb({token: session.get()?.access}),
      reconnectionDelayMax: 5000,
    });
    this.socket.on("connect", () => this.#connected());
    this.socket.on("disconnect", (reason) => {
      this.#setState("offline");
      // the server cut us off (the access token ran out): refresh it and come back
      if (reason === "io server disconnect") freshToken().then(() => this.socket.connect(), () => this.#setState("refused"));
    });
    this.socket.on("connect_error", (err) => this.#refused(err));
    this.socket.on("event", (envelope) => this.#deliver(envelope));
    this.socket.on("events", (envelopes) => envelopes.forEach((e) => this.#deliver(e)));  // a backlog, in order
    for (const name of ["presence", "typing", "viewing", "teams"]) {  // teams: my team membership changed
      this.socket.on(name, (data) => this.#emit(name, data));
    }
    this.timer = setInterval(() => this.socket.connected && this.call("heartbeat").catch(() => {}), HEARTBEAT_MS);
  }

  #emit(type, detail) { this.dispatchEvent(new CustomEvent(type, {detail})); }

  #setState(state) { this.state = state; this.#emit("state", state); }

  async #refused(err) {
    if (!String(err.message).startsWith("unauthorized")) return;  // network trouble: socket.io retries
    try {
      await freshToken();
      this.socket.connect();
    } catch {
      this.#setState("refused");
    }
  }

  async #connected() {
    this.#setState("live");
    if (!this.started) {  // a fresh page loads the inbox itself: start from the log's head
      const hello = await this.call("hello").catch(() => null);
      if (hello?.ok) {
        this.started = true;
        this.lastId = Math.max(this.lastId, hello.head);
        this.#emit("hello", hello);
        return;
      }
    }
    // catch up on what happened while away: from the last id, listing the ids held just below it
    let more = true;
    while (more && this.socket.connected) {
      const seen = [...this.seen].filter((id) => id > this.lastId - OVERLAP);
      const answer = await this.call("catch_up", {last_id: this.lastId, seen: seen.slice(-1000)}).catch(() => null);
      if (!answer?.ok) break;
      for (const envelope of answer.events) this.#deliver(envelope);
      more = answer.more;
      if (more) this.lastId = Math.max(this.lastId, answer.next_id);
    }
    this.#emit("caughtup", this.lastId);
  }

  #deliver(envelope) {
    if (this.seen.has(envelope.id)) return;  // a replay of something already shown
    this.seen.add(envelope.id);
    if (this.seen.size > 5000) this.seen = new Set([...this.seen].slice(-2500));
    this.lastId = Math.max(this.lastId, envelope.id);
    this.#emit("hub", envelope);
  }

  call(event, payload, timeoutMs = 8000) {
    return new Promise((resolve, reject) => {
      if (!this.socket.connected) return reject(Object.assign(new Error("offline"), {code: "offline"}));
      const args = payload === undefined ? [event] : [event, payload];
      this.socket.timeout(timeoutMs).emit(...args, (err, answer) => {
        if (err) reject(Object.assign(new Error("no acknowledgement"), {code: "timeout"}));
        else resolve(answer);
      });
    });
  }

  close() {
    clearInterval(this.timer);
    this.socket.disconnect();
  }
}
