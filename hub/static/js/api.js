// The hub's browser client for /api/v1, shared by the agent console and the reports dashboard:
// one session (signed in once, signed in in both), problem+json errors as ApiError, and the access
// token refreshed once on a 401 (one refresh at a time, shared by every caller).
const KEY = "berry.console.session";

export const session = {
  get() { try { return JSON.parse(localStorage.getItem(KEY)) || null; } catch { return null; } },
  set(value) { localStorage.setItem(KEY, JSON.stringify(value)); },
  clear() { localStorage.removeItem(KEY); },
};

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

async function send(method, path, {body, token, accept = "application/json", extra = {}} = {}) {
  const headers = {Accept: accept, ...extra};
  const file = body instanceof Blob;  // a file goes as the body itself, with its own media type
  if (body !== undefined) headers["Content-Type"] = file ? (body.type || "application/octet-stream") : "application/json";
  if (token) headers.Authorization = `Bearer ${token}`;
  const payload = body === undefined || file ? body : JSON.stringify(body);
  const response = await fetch(`/api/v1${path}`, {method, headers, body: payload});
  if (!response.ok) {
    const text = await response.text();
    let problem = null;
    try { problem = text ? JSON.parse(text) : null; } catch { problem = {detail: text}; }
    throw new ApiError(response.status, problem);
  }
  return response;
}

async function json(response) {
  const text = await response.text();
  return text ? JSON.parse(text) : null;
}

function remember(body) {
  session.set({access: body.access_token, refresh: body.refresh_token, user: body.user});
  return body;
}

export async function login(email, password) {
  return remember(await json(await send("POST", "/auth/login", {body: {email, password}}))).user;
}

let refreshing = null;
export function freshToken() {
  refreshing ??= (async () => {
    const current = session.get();
    if (!current?.refresh) throw new ApiError(401, {detail: "signed out"});
    const body = await json(await send("POST", "/auth/refresh", {body: {refresh_token: current.refresh}}));
    return remember(body).access_token;
  })().finally(() => { refreshing = null; });
  return refreshing;
}

async function authed(method, path, options = {}) {
  try {
    return await send(method, path, {...options, token: session.get()?.access});
  } catch (err) {
    if (err.status !== 401) throw err;
    return send(method, path, {...options, token: await freshToken()});
  }
}

// `ifMatch`: the ETag the change was based on (a 412 when someone else changed it since)
export async function api(method, path, body, {ifMatch} = {}) {
  return json(await authed(method, path, {body, extra: ifMatch ? {"If-Match": ifMatch} : {}}));
}

// A resource with its ETag, for an edit that must not overwrite someone else's change.
export async function read(path) {
  const response = await authed("GET", path);
  return {body: await json(response), etag: response.headers.get("ETag")};
}

// A file for a reply: stored by the hub, answered with its attachment (blob id, name, type, size).
export function upload(file) {
  return api("POST", `/console/attachments?filename=${encodeURIComponent(file.name || "file")}`, file);
}

// Every item of a paged list ({items, next_cursor}), page by page (at most `max` items).
export async function all(path, max = 5000) {
  const items = [];
  let cursor = null;
  do {
    const sep = path.includes("?") ? "&" : "?";
    const page = await api("GET", `${path}${sep}limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
    items.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor && items.length < max);
  return items;
}

export function getJson(path) {
  return api("GET", path);
}

export async function getBlob(path) {
  const response = await authed("GET", path, {accept: "*/*"});
  const disposition = response.headers.get("Content-Disposition") || "";
  const name = /filename="([^"]+)"/.exec(disposition)?.[1] || "report";
  return {blob: await response.blob(), name};
}
