/**
 * failoverctl: the operator's CLI (status, history, failover, switchover, pause, resume, rearm, drill).
 * This file only wires the real process to `main` (lib/cli/main.ts); each command is lib/cli/<command>.ts.
 *
 *   failoverctl status
 *   failoverctl failover orders --reason "primary unreachable, INC-4711"
 *   failoverctl --help
 */
import { COMMANDS, main } from '../lib/cli/main';
import { drillCommand } from '../lib/drill/drill-command';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

// First Ctrl-C: stop following an execution (it goes on) or decline a prompt. Second: exit now.
const interrupt = new AbortController();
process.on('SIGINT', () => {
  if (interrupt.signal.aborted) process.exit(130);
  interrupt.abort();
});
// `failoverctl history | head` closes the pipe early: that is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

main(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  isTTY: { stdin: process.stdin.isTTY === true, stdout: process.stdout.isTTY === true },
  env: process.env,
  cwd: process.cwd(),
  signal: interrupt.signal,
}, [...COMMANDS, drillCommand]).then(
  (code) => {
    process.exitCode = code;
    // Interrupted: an AWS call (or the drill's servers) may still hold the event loop open.
    if (code === 130) process.exit(code);
  },
  (err: unknown) => {
    console.error(`failoverctl: ${(err as Error).stack ?? String(err)}`);
    process.exitCode = 1;
  },
);
