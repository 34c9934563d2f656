// Web Push: with notifications allowed, this browser subscribes with the hub's VAPID key, so the hub
// can reach the agent while every console tab is closed (the service worker shows the push).
// Without a reachable push service (offline, some kiosks) subscribing fails quietly: sound and
// in-tab notifications still work.
import {api} from "./api.js";

const SCOPE = "/console/";

function keyBytes(b64url) {
  const b64 = (b64url + "===".slice((b64url.length + 3) % 4)).replace(/-/g, "+").replace(/_/g, "/");
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
}

function sameKey(buffer, b64url) {
  if (!buffer) return false;
  const a = new Uint8Array(buffer), b = keyBytes(b64url);
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

async function registration() {
  if (!("serviceWorker" in navigator) || !("PushManager" in window)) return null;
  return navigator.serviceWorker.getRegistration(SCOPE).then((r) => r || navigator.serviceWorker.ready);
}

// Subscribe (or refresh the subscription the hub holds); true when the hub can push here.
export async function enablePush() {
  try {
    const reg = await registration();
    if (!reg?.pushManager || Notification.permission !== "granted") return false;
    const {public_key: key} = await api("GET", "/console/push/key");
    let sub = await reg.pushManager.getSubscription();
    if (sub && !sameKey(sub.options?.applicationServerKey, key)) { await sub.unsubscribe(); sub = null; }
    sub ??= await reg.pushManager.subscribe({userVisibleOnly: true, applicationServerKey: keyBytes(key)});
    await api("POST", "/console/push/subscriptions", sub.toJSON());
    return true;
  } catch {
    return false;
  }
}

// On sign-out: the next person on this browser must not get this agent's notifications.
export async function disablePush() {
  try {
    const sub = await (await registration())?.pushManager?.getSubscription();
    if (!sub) return;
    await api("DELETE", "/console/push/subscriptions", {endpoint: sub.endpoint}).catch(() => {});
    await sub.unsubscribe();
  } catch { /* nothing to undo */ }
}
