// Nx executor for the tools targets: runs `node --import tsx <script> <args>` without a shell (one process,
// as libs/testing's startTsProcess does, so a signal reaches the CLI itself). nx:run-commands joins the
// arguments into one command string for a shell, which re-reads `$`, backticks and quotes (`--text '$HOME'`
// embedded "/root"); here the arguments after `--` reach the CLI exactly as the user's shell passed them.
'use strict';
const { spawn } = require('node:child_process');
const { join } = require('node:path');

/** @type {(options: { script: string, __unparsed__?: string[] }, context: { root: string }) => Promise<{ success: boolean }>} */
module.exports = async function runTsx(options, context) {
  const args = ['--import', 'tsx', join(context.root, options.script), ...(options.__unparsed__ ?? [])];
  const child = spawn(process.execPath, args, { cwd: context.root, stdio: 'inherit', shell: false });
  // Nx stops a task with a signal: pass it on, so the CLI shuts down as it would when run directly.
  const forward = (signal) => child.kill(signal);
  for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(s, forward);
  const code = await new Promise((resolve) => {
    child.on('error', (err) => {
      console.error(`tsx ${options.script}: ${err.message}`);
      resolve(1);
    });
    child.on('exit', (c, signal) => resolve(c ?? (signal ? 128 : 1)));
  });
  for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.off(s, forward);
  return { success: code === 0 };
};
