// Signing in, and every call to the gateway's REST API (API key, session id, errors).
import { $ } from './dom.js';

const api = '/api/v1';

function sessionId() {
  // An anonymous session id keeps this browser on one model across searches (rollout bucketing).
  let id = localStorage.getItem('isearch_sid');
  if (!id) {
    id = (crypto.randomUUID ? crypto.randomUUID() : String(Math.random()).slice(2)).replace(/[^A-Za-z0-9-]/g, '');
    localStorage.setItem('isearch_sid', id);
  }
  return id;
}

// --- signing in ---
// With API keys, the key stays in this tab's sessionStorage (gone when the tab closes) and goes with
// every API call as Authorization: Bearer. <img> tags cannot send that header, so the page also trades
// the key for an HttpOnly session cookie (POST /auth/session) that thumbnails and originals carry.
// Behind an authenticating proxy none of this is needed: the proxy identifies every request.
const KEY = 'isearch_api_key';
const apiKey = () => sessionStorage.getItem(KEY) || '';

/** Calls the REST API; rejects with the gateway's own error message (and `status`). */
export async function call(path, opts = {}) {
  const headers = { 'x-session-id': sessionId(), ...(opts.headers || {}) };
  if (apiKey() && !headers.authorization) headers.authorization = `Bearer ${apiKey()}`;
  const res = await fetch(api + path, { ...opts, headers });
  const text = await res.text();
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    body = { error: { message: text } };
  }
  if (!res.ok) {
    const e = new Error(body?.error?.message || `HTTP ${res.status}`);
    e.status = res.status;
    // A search refused for want of a (valid) key: ask for one, with the gateway's own words.
    if (res.status === 401 && !opts.headers?.authorization) askForKey(e.message);
    throw e;
  }
  return body;
}

function askForKey(message) {
  $('#key-form').hidden = false;
  $('#key-error').textContent = message || '';
  $('#whoami').hidden = true;
}

function showIdentity(identity) {
  $('#key-form').hidden = true;
  $('#key-error').textContent = '';
  $('#whoami').hidden = !identity;
  if (!identity) return;
  const how =
    { api_key: 'API key', proxy: 'your sign-in', admin_token: 'admin token' }[identity.method] || identity.method;
  $('#whoami-text').textContent = `Signed in as ${identity.id} (${how})`;
  $('#sign-out').hidden = identity.method === 'proxy';
}

/** Checks `key` by starting the image session with it; keeps it only if the gateway accepts it. */
async function signIn(key) {
  const res = await fetch(`${api}/auth/session`, { method: 'POST', headers: { authorization: `Bearer ${key}` } });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) {
    sessionStorage.removeItem(KEY);
    const why = body?.error?.message || `HTTP ${res.status}`;
    askForKey(res.status === 401 ? `Not signed in: ${why}` : why);
    return false;
  }
  sessionStorage.setItem(KEY, key);
  showIdentity(body.identity);
  return true;
}

/** Shows who is signed in (or asks for a key); `showError` reports anything but a 401. */
export async function initAuth(showError) {
  if (apiKey()) {
    // A new page load: a fresh cookie for this tab's key (the old one may have expired).
    await signIn(apiKey());
    return;
  }
  try {
    const me = await call('/auth/me');
    showIdentity(me.identity);
  } catch (err) {
    if (err.status !== 401) showError(err);
  }
}

$('#key-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const key = $('#api-key').value.trim();
  if (!key) {
    askForKey('Enter your API key (an administrator makes one with tools:api-key)');
    return;
  }
  void signIn(key).then((ok) => {
    if (ok) $('#api-key').value = '';
  });
});
$('#sign-out').addEventListener('click', async () => {
  // With the key: the cookie alone authenticates reads only.
  await fetch(`${api}/auth/session`, { method: 'DELETE', headers: { authorization: `Bearer ${apiKey()}` } }).catch(
    () => undefined,
  );
  sessionStorage.removeItem(KEY);
  askForKey('Signed out.');
});
