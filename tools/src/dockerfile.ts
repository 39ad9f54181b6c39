// Static reading of Dockerfiles and .dockerignore, for the image checks in dockerfiles*.spec.ts.

/** One instruction (continuation lines joined, comments dropped). */
export interface Instruction {
  op: string;
  args: string;
}

/** One build stage. */
export interface Stage {
  image: string;
  name?: string;
  instructions: Instruction[];
}

/** Splits a Dockerfile into stages of instructions (comments dropped, line continuations joined). */
export function parseDockerfile(text: string): { args: Record<string, string>; stages: Stage[] } {
  const lines = text
    .split('\n')
    .filter((l) => !/^\s*#/.test(l))
    .join('\n')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const args: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const line of lines) {
    const [, op = '', rest = ''] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
    const upper = op.toUpperCase();
    if (upper === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(rest)!;
      const image = m[1]!.replace(/\$\{(\w+)\}/g, (_, n: string) => args[n] ?? '');
      stages.push({ image, name: m[2], instructions: [] });
    } else if (upper === 'ARG' && stages.length === 0) {
      const [k, v = ''] = rest.split('=');
      args[k!] = v;
    } else if (stages.length > 0) {
      stages[stages.length - 1]!.instructions.push({ op: upper, args: rest });
    }
  }
  return { args, stages };
}

/**
 * .dockerignore matching as Docker's builder does it (Go filepath.Match plus `**`, `!` exceptions,
 * the last matching rule wins, a match on a parent folder excludes everything below). Written here
 * because the test must not depend on a transitive glob package's dialect.
 */
export function dockerIgnored(patterns: string[], path: string): boolean {
  const toRegex = (p: string) =>
    new RegExp(
      '^' +
        p
          .replace(/^\//, '')
          .split(/(\*\*\/?|\*|\?)/)
          .map((part) =>
            part === '**/' || part === '**'
              ? '(?:.*/)?' + (part === '**' ? '.*' : '')
              : part === '*'
                ? '[^/]*'
                : part === '?'
                  ? '[^/]'
                  : part.replace(/[.+^${}()|[\]\\]/g, '\\$&'),
          )
          .join('') +
        '$',
    );
  const parts = path.split('/');
  const prefixes = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
  let ignored = false;
  for (const raw of patterns) {
    const negate = raw.startsWith('!');
    const re = toRegex(negate ? raw.slice(1) : raw);
    if (prefixes.some((p) => re.test(p))) ignored = !negate;
  }
  return ignored;
}

/** `ENV A=1 B=2` instructions of a stage, as a map. */
export function stageEnv(stage: Stage): Record<string, string> {
  const env: Record<string, string> = {};
  for (const ins of stage.instructions.filter((i) => i.op === 'ENV'))
    for (const m of ins.args.matchAll(/(\w+)=("[^"]*"|\S+)/g)) env[m[1]!] = m[2]!.replace(/^"|"$/g, '');
  return env;
}

/** The exec-form command of a CMD or HEALTHCHECK instruction (`[... "node", "x.mjs"]`). */
export function execForm(ins: Instruction | undefined): string[] {
  const json = ins ? /\[.*\]\s*$/.exec(ins.args)?.[0] : undefined;
  if (!json) throw new Error(`not an exec-form command: ${ins?.args}`);
  return JSON.parse(json) as string[];
}
