// REST calls to /api/v1 with the signed-in user's tokens; refreshes the access token once on 401.
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

export async function login(email, password) {
  const body = await raw("POST", "/auth/login", {email, password});
  session.set({access: body.access_token, refresh: body.refresh_token, user: body.user});
  return body.user;
}

export async function refresh() {
  const current = session.get();
  if (!current?.refresh) throw new ApiError(401, {detail: "signed out"});
  const body = await raw("POST", "/auth/refresh", {refresh_token: current.refresh});
  session.set({access: body.access_token, refresh: body.refresh_token, user: body.user});
  return body.access_token;
}

let refreshing = null;
export function freshToken() {  // one refresh at a time, shared by every caller
  refreshing ??= refresh().finally(() => { refreshing = null; });
  return refreshing;
}

export async function api(method, path, body) {
  try {
    return await raw(method, path, body, session.get()?.access);
  } catch (err) {
    if (err.status !== 401) throw err;
    return raw(method, path, body, await freshToken());
  }
}

async function raw(method, path, body, token) {
  const headers = {"Accept": "application/json"};
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (token) headers["Authorization"] = `Bearer ${token}`;
  const response = await fetch(`/api/v1${path}`, {method, headers, body: body === undefined ? undefined : JSON.stringify(body)});
  const text = await response.text();
  const data = text ? JSON.parse(text) : null;
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}
