/**
 * The environment for a child process a test spawns directly (not a TypeScript entry point, e.g. a
 * built bundle or a shell command): this process's environment plus `extra`. Undefined values
 * remove a variable.
 */
export function childEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}
