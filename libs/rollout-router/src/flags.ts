import { parse as parseYaml } from 'yaml';

/** The rollout flags in effect. */
export interface RolloutFlags {
  /** SigLIP for every request (the percentage is then ignored). */
  useSiglip: boolean;
  /** Share of buckets (0..100) routed to SigLIP. */
  percentage: number;
  /** SigLIP is served only while its point count ≥ minCoverage × the CLIP count. */
  minCoverage: number;
}

/** Where each flag's value came from. */
export type FlagOrigin = 'default' | 'env' | 'file';

/** The variable names, shared by the environment and the flags file. */
export const FLAG_VARIABLES = {
  useSiglip: 'USE_SIGLIP',
  percentage: 'SIGLIP_ROLLOUT_PERCENTAGE',
  minCoverage: 'SIGLIP_MIN_COVERAGE',
} as const satisfies Record<keyof RolloutFlags, string>;

/** Defaults when neither the environment nor the file sets a flag. */
export const DEFAULT_FLAGS: RolloutFlags = { useSiglip: false, percentage: 0, minCoverage: 1 };

/** A bad flag value; the message names the variable and the expected form. */
export class FlagError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
    this.name = 'FlagError';
  }
}

type Raw = Record<string, unknown>;

function present(v: unknown): boolean {
  return v !== undefined && v !== null && !(typeof v === 'string' && v.trim() === '');
}

function parseBool(name: string, v: unknown): boolean {
  if (typeof v === 'boolean') return v;
  const s = String(v).trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(s)) return true;
  if (['false', '0', 'no', 'off'].includes(s)) return false;
  throw new FlagError(name, `expected true or false (got ${JSON.stringify(v)})`);
}

function parseNumber(name: string, v: unknown, min: number, max: number): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v.trim()) : NaN;
  if (!Number.isFinite(n) || n < min || n > max)
    throw new FlagError(name, `expected a number between ${min} and ${max} (got ${JSON.stringify(v)})`);
  return n;
}

/**
 * Reads the flags from a key → value map (the environment or a parsed flags file), over `base`.
 * Only keys present override; every bad value throws a FlagError naming the variable.
 */
export function readFlags(
  raw: Raw,
  base: RolloutFlags,
  origin: Exclude<FlagOrigin, 'default'>,
  origins?: Record<keyof RolloutFlags, FlagOrigin>,
): { flags: RolloutFlags; origins: Record<keyof RolloutFlags, FlagOrigin> } {
  const flags = { ...base };
  const out: Record<keyof RolloutFlags, FlagOrigin> = origins
    ? { ...origins }
    : { useSiglip: 'default', percentage: 'default', minCoverage: 'default' };
  const errors: FlagError[] = [];
  const take = <K extends keyof RolloutFlags>(key: K, parse: (name: string, v: unknown) => RolloutFlags[K]) => {
    const name = FLAG_VARIABLES[key];
    if (!present(raw[name])) return;
    try {
      flags[key] = parse(name, raw[name]);
      out[key] = origin;
    } catch (err) {
      errors.push(err as FlagError);
    }
  };
  take('useSiglip', parseBool);
  take('percentage', (n, v) => parseNumber(n, v, 0, 100));
  take('minCoverage', (n, v) => parseNumber(n, v, 0, 1));
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1)
    throw new FlagError(errors.map((e) => e.variable).join(', '), errors.map((e) => e.message).join('; '));
  return { flags, origins: out };
}

/**
 * Parses a flags file. Two forms are accepted so that a Kubernetes ConfigMap can be mounted
 * as it is written:
 * - a YAML (or JSON, which is YAML) mapping: `SIGLIP_ROLLOUT_PERCENTAGE: 25`;
 * - env-file lines: `SIGLIP_ROLLOUT_PERCENTAGE=25` (`#` comments and blank lines ignored).
 * Keys are the environment variable names. Unknown keys are refused, so a typo never
 * silently leaves a flag at its old value.
 */
export function parseFlagsFile(text: string): Raw {
  const lines = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  let raw: Raw;
  if (lines.length > 0 && lines.every((l) => /^[A-Za-z_][A-Za-z0-9_]*\s*=/.test(l))) {
    raw = {};
    for (const l of lines) {
      const i = l.indexOf('=');
      raw[l.slice(0, i).trim()] = l
        .slice(i + 1)
        .trim()
        .replace(/^(['"])(.*)\1$/, '$2');
    }
  } else {
    let doc: unknown;
    try {
      // A repeated key keeps its last value: the runbook appends a line per change (echo … >> FLAGS_FILE),
      // as in KEY=value files, instead of making the file invalid (the gateway kept the old flags).
      doc = parseYaml(text, { uniqueKeys: false });
    } catch (err) {
      throw new FlagError(
        'FLAGS_FILE',
        `not valid YAML/JSON or KEY=value lines: ${(err as Error).message.split('\n')[0]}`,
      );
    }
    if (doc === null || doc === undefined) doc = {};
    if (typeof doc !== 'object' || Array.isArray(doc))
      throw new FlagError('FLAGS_FILE', 'expected a mapping of flag names to values');
    raw = doc as Raw;
  }
  const known = new Set<string>(Object.values(FLAG_VARIABLES));
  const unknown = Object.keys(raw).filter((k) => !known.has(k));
  if (unknown.length > 0)
    throw new FlagError('FLAGS_FILE', `unknown key(s) ${unknown.join(', ')}; expected ${[...known].join(', ')}`);
  return raw;
}
