// tools:rollout: the guarded ramp of the rollout pair's `to` model, through the gateway's admin API.
//   npx nx run tools:rollout -- status|start|pause|resume|abort [options]
import { readFile } from 'node:fs/promises';
import { AppError, isAppError, parseCommandLine, runCli, UsageError } from '@image-search/service-kit';
import { loadRolloutConfig } from './rollout.config.js';

const USAGE = `rollout: the guarded ramp (steps, dwell, traffic, guardrails; one leader among the gateways)

usage: npx nx run tools:rollout -- status [--json]
       npx nx run tools:rollout -- start [--steps 1,5,25,50,100] [--dwell S] [--min-searches N]
                                         [--max-error-rate R] [--max-zero-result-rate R] [--max-p99-ratio X]
                                         [--min-shadow-overlap R] [--no-ctr-check] [--plan FILE.json]
       npx nx run tools:rollout -- pause | resume | abort

  status     phase, the percentage routed now (and the operator's ceiling), the leader, recent decisions
  start      starts a plan (defaults: steps 1,5,25,50,100, dwell 600 s, 200 searches per step, error rate
             <= 0.02, zero-result rate <= 0.05, p99 latency ratio <= 1.5, CTR@10 not significantly worse)
  pause      holds the current step; resume starts the step's figures afresh; abort hands routing back to
             the operator flags (USE_SIGLIP / SIGLIP_ROLLOUT_PERCENTAGE / FLAGS_FILE, which bound the ramp)

Environment: GATEWAY_URL and ADMIN_TOKEN (set -a; . data/demo/stack.env; set +a).
Exit status: 0 done, 1 refused or failed, 2 bad arguments.`;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the admin API's JSON, read field by field
type Loose = any;

async function api(path: string, body?: unknown): Promise<Loose> {
  const { GATEWAY_URL, ADMIN_TOKEN } = loadRolloutConfig();
  if (!ADMIN_TOKEN)
    throw new AppError(
      'INVALID_CONFIG',
      'ADMIN_TOKEN is not set (load the stack settings: set -a; . data/demo/stack.env; set +a)',
    );
  let res: Response;
  try {
    res = await fetch(`${GATEWAY_URL.replace(/\/$/, '')}/api/v1/admin/ramp${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch (err) {
    throw new AppError('UNAVAILABLE', `no gateway answers at ${GATEWAY_URL} (${(err as Error).message})`);
  }
  const json = (await res.json().catch(() => ({}))) as { error?: { message?: string } };
  if (!res.ok) throw new AppError('FAILED_PRECONDITION', `${res.status}: ${json.error?.message ?? 'refused'}`);
  return json;
}

function num(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new UsageError(`${name} must be a number`);
  return n;
}

function printStatus(s: Loose): void {
  const st = s.state;
  const eff = s.effective;
  process.stdout.write(
    `ramp: ${st.phase}${st.plan ? ` — step ${st.step + 1}/${st.plan.steps.length} of ${st.plan.steps.join(', ')} %` : ''}\n` +
      `routed to the new model now: ${eff?.percentage ?? '?'} % (ramp ${st.percentage} %, operator ceiling ${eff?.operator_ceiling ?? '?'} %)\n` +
      `leader: ${s.leader ?? 'none'}\n`,
  );
  for (const d of (s.decisions ?? []).slice(0, 10))
    process.stdout.write(
      `  ${d.at}  ${d.action.padEnd(8)} ${d.from_percentage}% -> ${d.to_percentage}%  ${d.reason}\n`,
    );
}

async function main(): Promise<number> {
  const { values, positionals } = parseCommandLine({
    args: process.argv.slice(2),
    allowPositionals: true,
    options: {
      json: { type: 'boolean', default: false },
      steps: { type: 'string' },
      dwell: { type: 'string' },
      'min-searches': { type: 'string' },
      'max-error-rate': { type: 'string' },
      'max-zero-result-rate': { type: 'string' },
      'max-p99-ratio': { type: 'string' },
      'min-shadow-overlap': { type: 'string' },
      'no-ctr-check': { type: 'boolean', default: false },
      plan: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) throw new UsageError('');
  const [command, ...rest] = positionals;
  if (!command || rest.length) throw new UsageError('give one command: status, start, pause, resume or abort');
  if (command === 'status') {
    const s = await api('');
    if (values.json) process.stdout.write(`${JSON.stringify(s, null, 2)}\n`);
    else printStatus(s);
    return 0;
  }
  if (!['start', 'pause', 'resume', 'abort'].includes(command)) throw new UsageError(`unknown command '${command}'`);
  let body: Record<string, unknown> = {};
  if (command === 'start') {
    if (values.plan) body = JSON.parse(await readFile(values.plan, 'utf8')) as Record<string, unknown>;
    const guardrails: Record<string, unknown> = { ...((body['guardrails'] as object | undefined) ?? {}) };
    if (values.steps) body['steps'] = values.steps.split(',').map((x) => num(x.trim(), '--steps'));
    if (values.dwell) body['min_dwell_s'] = num(values.dwell, '--dwell');
    if (values['min-searches']) body['min_searches'] = num(values['min-searches'], '--min-searches');
    const g = (flag: string, key: string) => {
      const v = num(values[flag as 'dwell'], `--${flag}`);
      if (v !== undefined) guardrails[key] = v;
    };
    g('max-error-rate', 'max_error_rate');
    g('max-zero-result-rate', 'max_zero_result_rate');
    g('max-p99-ratio', 'max_p99_latency_ratio');
    g('min-shadow-overlap', 'min_shadow_overlap');
    if (values['no-ctr-check']) guardrails['ctr_not_worse'] = false;
    if (Object.keys(guardrails).length) body['guardrails'] = guardrails;
  }
  await api(`/${command}`, body);
  printStatus(await api(''));
  return 0;
}

await runCli('rollout', USAGE, main, { exit: true, describe: (err) => (isAppError(err) ? err.message : undefined) });
