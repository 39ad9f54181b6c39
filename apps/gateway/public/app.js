// The search page: vanilla JS, no build step. Talks to the gateway's REST API only.
const $ = (sel) => document.querySelector(sel);
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

async function call(path, opts = {}) {
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

async function initAuth() {
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

function el(tag, attrs = {}, ...children) {
  const n = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') n.className = v;
    else if (k === 'text') n.textContent = v;
    else n.setAttribute(k, v);
  }
  for (const c of children) n.append(c);
  return n;
}

/** Tells the gateway what the user did with the result at index i (POST /events); never blocks or fails the page. */
function sendEvent(out, type, r, i) {
  if (!out.search_id) return;
  call('/events', {
    method: 'POST',
    keepalive: true,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ search_id: out.search_id, type, asset_id: r.asset.id, rank: i + 1 }),
  }).catch(() => undefined);
}

function showResults(out, label) {
  const status = $('#status');
  status.replaceChildren();
  // The badge names the registry model; its colour is the model's family.
  const badge = el('span', { class: `badge ${out.family || ''}`, id: 'model-badge', text: out.model });
  status.append(el('span', { text: `${out.total} results for ${label} · answered by ` }), badge);
  if (out.rollout.fallback)
    status.append(' ', el('span', { class: 'badge fallback', title: out.rollout.reason, text: out.rollout.reason }));
  status.append(
    el('span', {
      class: 'muted',
      text: ` · bucket ${out.rollout.bucket} · ${out.timing_ms ? out.timing_ms.total.toFixed(1) + ' ms' : ''}`,
    }),
  );
  const grid = $('#results');
  grid.replaceChildren();
  out.results.forEach((r, i) => {
    const card = el('div', { class: 'card', 'data-asset-id': r.asset.id, title: r.asset.path || r.asset.id });
    const open = el('a', { class: 'open', href: r.asset.url, target: '_blank', rel: 'noopener', text: 'open' });
    open.addEventListener('click', (ev) => {
      ev.stopPropagation();
      sendEvent(out, 'open', r, i);
    });
    const download = el('a', { class: 'download', href: r.asset.url, download: '', text: 'download' });
    download.addEventListener('click', (ev) => {
      ev.stopPropagation();
      sendEvent(out, 'download', r, i);
    });
    // The first page loads at once (lazy loading would wait for layout and scrolling); later ones lazily.
    // elementtiming lets the page test measure when each thumbnail is painted.
    card.append(
      el('img', {
        src: r.asset.thumbnail_url,
        alt: r.asset.category || 'image',
        loading: i < 50 ? 'eager' : 'lazy',
        decoding: 'async',
        elementtiming: 'thumbnail',
      }),
      el(
        'div',
        { class: 'meta' },
        el('span', { class: 'cat', text: r.asset.category || '' }),
        el('span', { class: 'score', text: r.score.toFixed(3) }),
        el('span', { class: `badge ${out.model}`, text: out.model }),
        open,
        download,
      ),
    );
    card.addEventListener('click', () => {
      sendEvent(out, 'click', r, i);
      void similar(r.asset.id);
    });
    grid.append(card);
  });
}

function showError(err) {
  const status = $('#status');
  status.replaceChildren(el('span', { class: 'error', text: err.message }));
}

async function search(ev) {
  ev?.preventDefault();
  const query = $('#query').value.trim();
  if (!query) return;
  $('#status').textContent = 'Searching…';
  try {
    const out = await call('/search', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query, limit: Number($('#limit').value) || 24 }),
    });
    showResults(out, `“${query}”`);
  } catch (err) {
    showError(err);
  }
}

async function uploadSearch(ev) {
  ev.preventDefault();
  const file = $('#upload').files[0];
  if (!file) {
    showError(new Error('Choose an image first'));
    return;
  }
  const fd = new FormData();
  fd.append('image', file);
  fd.append('limit', String(Number($('#limit').value) || 24));
  $('#status').textContent = 'Searching by image…';
  try {
    showResults(await call('/search/image', { method: 'POST', body: fd }), `image ${file.name}`);
  } catch (err) {
    showError(err);
  }
}

async function similar(id) {
  $('#status').textContent = 'Finding similar images…';
  try {
    showResults(await call(`/search/similar/${id}?limit=${Number($('#limit').value) || 24}`), 'similar images');
  } catch (err) {
    showError(err);
  }
}

// --- admin view ---
let adminTimer;
const token = () => sessionStorage.getItem('isearch_admin_token') || '';
const adminCall = (path, opts = {}) =>
  call(path, { ...opts, headers: { authorization: `Bearer ${token()}`, ...(opts.headers || {}) } });

function rows(tbody, pairs) {
  tbody.replaceChildren(
    ...pairs.map(([k, v]) =>
      el('tr', {}, el('td', { text: k }), el('td', { text: v === null || v === undefined ? '—' : String(v) })),
    ),
  );
}

async function refreshAdmin() {
  try {
    const r = await adminCall('/admin/rollout');
    $('#admin-error').textContent = '';
    $('#admin-panels').hidden = false;
    rows($('#rollout-table tbody'), [
      ['USE_SIGLIP', r.flags.use_siglip],
      ['SIGLIP_ROLLOUT_PERCENTAGE', `${r.flags.siglip_rollout_percentage}%`],
      ['SIGLIP_MIN_COVERAGE', r.flags.siglip_min_coverage],
      [
        'Source',
        `${r.source} (${Object.entries(r.origins)
          .map(([k, v]) => `${k}: ${v}`)
          .join(', ')})`,
      ],
      [
        'Flags file',
        r.flags_file ? `${r.flags_file.path}${r.flags_file.last_error ? ' — ' + r.flags_file.last_error : ''}` : 'none',
      ],
      ['Rollout pair', r.pair ? `${r.pair.from} → ${r.pair.to || '(nothing being migrated to)'}` : null],
      [`${r.pair ? r.pair.to : 'Target'} servable`, r.servable ? 'yes' : `no (${r.blocker})`],
      [
        'Breakers',
        Object.entries(r.breakers || {})
          .map(([id, state]) => `${id} ${state}`)
          .join(', '),
      ],
    ]);
    const c = r.coverage;
    $('#coverage-table tbody').replaceChildren(
      el(
        'tr',
        {},
        el('td', { text: c.from_model }),
        el('td', { text: c.from_collection }),
        el('td', { text: String(c.from_points) }),
        el('td', { text: c.from_exists ? 'yes' : 'no' }),
      ),
      el(
        'tr',
        {},
        el('td', { text: c.to_model }),
        el('td', { text: c.to_collection }),
        el('td', { text: String(c.to_points) }),
        el('td', { text: c.to_exists ? 'yes' : 'no' }),
      ),
    );
    $('#coverage-bar').style.width = `${Math.min(100, c.ratio * 100)}%`;
    $('#coverage-text').textContent =
      `Coverage ${(c.ratio * 100).toFixed(1)}% (minimum ${(r.flags.siglip_min_coverage * 100).toFixed(0)}%) · counted ${c.refreshed_at || 'never'}`;
  } catch (err) {
    $('#admin-error').textContent = err.message;
    $('#admin-panels').hidden = err.status === 401 || err.status === 403 || err.status === 404;
    return;
  }
  try {
    const s = await adminCall('/admin/migrations/status');
    $('#reembed-error').textContent = '';
    rows($('#reembed-table tbody'), [
      ['State', s.state],
      ['Done / total', `${s.done ?? 0} / ${s.total ?? 0}`],
      ['Failed / skipped', `${s.failed ?? 0} / ${s.skipped ?? 0}`],
      ['Rate', s.rate_per_s != null ? `${Number(s.rate_per_s).toFixed(1)} /s` : null],
      ['ETA', s.eta_s != null ? `${Math.round(s.eta_s)} s` : null],
      ['Coverage', s.coverage != null ? `${(s.coverage * 100).toFixed(1)}%` : null],
      ['Updated', s.updated_at],
      ['Last error', s.last_error],
    ]);
    $('#reembed-bar').style.width = s.total ? `${Math.min(100, (100 * (s.done ?? 0)) / s.total)}%` : '0';
  } catch (err) {
    $('#reembed-error').textContent = `Re-embedding status unavailable: ${err.message}`;
  }
  await refreshModels();
  await refreshShadow();
  await refreshOnline();
  $('#admin-updated').textContent = new Date().toLocaleTimeString();
}

const pct = (x) => (x === null || x === undefined ? '—' : `${(x * 100).toFixed(1)}%`);

async function refreshOnline() {
  try {
    const o = await adminCall('/admin/online');
    $('#online-error').textContent = '';
    $('#online-table tbody').replaceChildren(
      ...o.models.map(({ model, overall: f }) =>
        el(
          'tr',
          {},
          el('td', { text: model }),
          el('td', { text: String(f.searches) }),
          el('td', { text: pct(f['ctr@1']) }),
          el('td', { text: pct(f['ctr@10']) }),
          el('td', { text: f.mrr === null ? '—' : f.mrr.toFixed(3) }),
          el('td', { text: pct(f.abandonment) }),
          el('td', { text: pct(f.zero_result_rate) }),
          el('td', { text: f.latency_ms.p95 === null ? '—' : String(f.latency_ms.p95) }),
          el('td', { text: String(f.errors) }),
        ),
      ),
    );
    $('#interleaving-text').textContent = o.interleaving.length
      ? o.interleaving
          .map(
            (p) =>
              `Interleaving ${p.b} vs ${p.a}: ${p.searches} searches, wins ${p.wins.b}:${p.wins.a}, win rate ${pct(p.win_rate_b)}, p = ${p.p_value ?? '—'}${p.significant ? ' (significant)' : ''}`,
          )
          .join(' · ')
      : 'No interleaving (INTERLEAVE_BUCKETS unset) or no clicks on interleaved lists yet.';
  } catch (err) {
    $('#online-error').textContent = `Online metrics unavailable: ${err.message}`;
  }
}

const ago = (ms) =>
  ms < 60_000
    ? `${Math.round(ms / 1000)} s`
    : ms < 3_600_000
      ? `${Math.round(ms / 60_000)} min`
      : `${(ms / 3_600_000).toFixed(1)} h`;

// One tower as a phrase, e.g. "image: unloaded (idle 10 min, loads on the next request)".
function towerText(t) {
  const idle = t.last_used_at ? ago(Math.max(0, Date.now() - Date.parse(t.last_used_at))) : null;
  if (t.state === 'unloaded')
    return `${t.tower}: unloaded (${idle ? `idle ${idle}` : 'not used since the start'}, loads on the next request)`;
  if (t.state === 'loading') return `${t.tower}: loading`;
  return `${t.tower}: ${t.state}${idle ? ` (last used ${idle} ago)` : ''}`;
}

async function refreshModels() {
  try {
    const { models } = await adminCall('/admin/models');
    $('#models-error').textContent = '';
    $('#models-table tbody').replaceChildren(
      ...models.map((m) =>
        el(
          'tr',
          {},
          el('td', { text: m.id }),
          el('td', { text: m.embedder ? `${m.embedder} (${m.embedder_status})` : 'none' }),
          el('td', { text: m.towers ? m.towers.map(towerText).join(' · ') : '—' }),
          el('td', {
            text: m.idle_unload_s === null ? '—' : m.idle_unload_s > 0 ? `after ${ago(m.idle_unload_s * 1000)}` : 'off',
          }),
        ),
      ),
    );
  } catch (err) {
    $('#models-error').textContent = `Models unavailable: ${err.message}`;
  }
}

async function refreshShadow() {
  try {
    const s = await adminCall('/admin/shadow');
    $('#shadow-error').textContent = '';
    const skipped = Object.entries(s.skipped)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
    $('#shadow-settings').textContent =
      `SHADOW_PERCENTAGE ${s.settings.percentage}% · at most ${s.settings.max_concurrency} at once, ${s.settings.max_per_second}/s · skipped: ${skipped || 'none'}`;
    $('#shadow-table tbody').replaceChildren(
      ...s.pairs.map((p) =>
        el(
          'tr',
          {},
          el('td', { text: p.primary }),
          el('td', { text: p.shadow }),
          el('td', { text: String(p.comparisons) }),
          el('td', { text: pct(p.overlap_at_10) }),
          el('td', { text: pct(p.rbo) }),
          el('td', { text: `${pct(p.zero_result_rate.primary)} / ${pct(p.zero_result_rate.shadow)}` }),
          el('td', { text: `${p.latency_ms.primary.p95 ?? '—'} / ${p.latency_ms.shadow.p95 ?? '—'}` }),
          el('td', { text: String(p.errors) }),
        ),
      ),
    );
  } catch (err) {
    $('#shadow-error').textContent = `Shadow summary unavailable: ${err.message}`;
  }
}

function showTab(which) {
  $('#search-view').hidden = which !== 'search';
  $('#admin-view').hidden = which !== 'admin';
  $('#tab-search').classList.toggle('active', which === 'search');
  $('#tab-admin').classList.toggle('active', which === 'admin');
  clearInterval(adminTimer);
  if (which === 'admin' && token()) {
    void refreshAdmin();
    adminTimer = setInterval(() => void refreshAdmin(), 2000);
  }
}

$('#search-form').addEventListener('submit', (ev) => void search(ev));
$('#upload-form').addEventListener('submit', (ev) => void uploadSearch(ev));
$('#tab-search').addEventListener('click', () => showTab('search'));
$('#tab-admin').addEventListener('click', () => showTab('admin'));
$('#token-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  sessionStorage.setItem('isearch_admin_token', $('#token').value.trim());
  showTab('admin');
});
for (const b of document.querySelectorAll('.actions button')) {
  b.addEventListener('click', async () => {
    try {
      await adminCall(`/admin/migrations/${b.dataset.action}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      });
      void refreshAdmin();
    } catch (err) {
      $('#reembed-error').textContent = err.message;
    }
  });
}

void initAuth();
