// The admin view: rollout flags, the re-embedding run, online metrics, models, shadow traffic.
import { $, el } from './dom.js';
import { call } from './auth.js';

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

/** Shows the search or the admin view (and polls the admin panels while it is shown). */
export function showTab(which) {
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
