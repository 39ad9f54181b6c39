// The search page: vanilla JS modules, no build step. Talks to the gateway's REST API only.
import { $, el } from './dom.js';
import { call, initAuth } from './auth.js';
// The admin view wires its own tab and controls.
import './admin.js';

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
$('#search-form').addEventListener('submit', (ev) => void search(ev));
$('#upload-form').addEventListener('submit', (ev) => void uploadSearch(ev));

void initAuth(showError);
