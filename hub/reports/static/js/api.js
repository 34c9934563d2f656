// REST calls with the signed-in user's tokens. The session is the agent console's (same key), so a
// user signed in there is signed in here; the access token is refreshed once on a 401.
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

async function send(method, path, {body, token, accept = "application/json"} = {}) {
  const headers = {Accept: accept};
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (token) headers.Authorization = `Bearer ${token}`;
  const response = await fetch(`/api/v1${path}`, {method, headers, body: body === undefined ? undefined : JSON.stringify(body)});
  if (!response.ok) {
    const text = await response.text();
    let problem = null;
    try { problem = text ? JSON.parse(text) : null; } catch { problem = {detail: text}; }
    throw new ApiError(response.status, problem);
  }
  return response;
}

export async function login(email, password) {
  const body = await (await send("POST", "/auth/login", {body: {email, password}})).json();
  session.set({access: body.access_token, refresh: body.refresh_token, user: body.user});
  return body.user;
}

let refreshing = null;
export async function freshToken() {
  refreshing ??= (async () => {
    const current = session.get();
    if (!current?.refresh) throw new ApiError(401, {detail: "signed out"});
    const body = await (await send("POST", "/auth/refresh", {body: {refresh_token: current.refresh}})).json();
    session.set({access: body.access_token, refresh: body.refresh_token, user: body.user});
    return body.access_token;
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

export async function getJson(path) {
  return (await authed("GET", path)).json();
}

export async function getBlob(path) {
  const response = await authed("GET", path, {accept: "*/*"});
  const disposition = response.headers.get("Content-Disposition") || "";
  const name = /filename="([^"]+)"/.exec(disposition)?.[1] || "report";
  return {blob: await response.blob(), name};
}
