/**
 * failoverctl's entry point: `main(argv, io)` picks the command, runs it, and turns every error into
 * one line on stderr and an exit code. bin/failoverctl.ts calls it with the real process; tests call
 * it with their own streams, environment and clients.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigError } from '../../lambdas/core/config';
import { WorkflowTooLarge } from '../infra/step-functions-limits';
import { CliError, EXIT, EXIT_CODES_HELP } from './args';
import { resolveDeps } from './deployment';
import { checkCommand } from './check';
import { failoverCommand, switchoverCommand } from './failover';
import { historyCommand } from './history';
import { Output, type CliIO, type Command, type Context } from './io';
import { pauseCommand } from './pause';
import { rearmCommand } from './rearm';
import { resumeCommand } from './resume';
import { unlockCommand } from './unlock';
import { statusCommand } from './status';

export type { CliIO } from './io';

/**
 * The operator's commands. `failoverctl drill` lives with the drill (lib/drill/drill-command.ts) and is
 * added by bin/failoverctl.ts, so that nothing in lib/cli depends on the simulator.
 */
export const COMMANDS: readonly Command[] = [
  statusCommand,
  checkCommand,
  historyCommand,
  failoverCommand,
  switchoverCommand,
  pauseCommand,
  resumeCommand,
  unlockCommand,
  rearmCommand,
];

export function version(): string {
  const pkg = JSON.parse(readFileSync(resolve(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

function usage(commands: readonly Command[]): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return `failoverctl ${version()}: the operator's CLI of the failover controller

Usage: failoverctl <command> [arguments] [options]

Commands:
${commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n')}

Run failoverctl <command> --help for its options and an example.

Options:
  -h, --help      this help
  -V, --version   the version
  --debug         stack traces and AWS errors in full
  --no-color      no colour (also when NO_COLOR is set or the output is not a terminal)

The deployment is found from the CloudFormation stack's outputs (--stack-name, default the config's
stackName) or given with --state-machine-arn, --table and --topic-arn. AWS_PROFILE, AWS_REGION and
AWS_ENDPOINT_URL apply as in every AWS tool. Times are shown in your time zone (TZ).

${EXIT_CODES_HELP}

Examples:
  failoverctl status
  failoverctl history orders --limit 5
  failoverctl failover orders --reason "primary unreachable since 09:02, INC-4711"
  failoverctl pause orders --reason "database upgrade, CHG-1234"`;
}

/** Run failoverctl with `argv` (without node and the script); resolves to the exit code. */
export async function main(argv: string[], io: CliIO, commands: readonly Command[] = COMMANDS): Promise<number> {
  const debug = argv.includes('--debug');
  const env = io.env ?? {};
  const interactive = { stdin: io.isTTY?.stdin === true, stdout: io.isTTY?.stdout === true };
  const out = new Output(io, interactive, argv.includes('--no-color'));
  const ctx: Context = {
    out,
    deps: resolveDeps(io.deps, env),
    env,
    cwd: io.cwd ?? process.cwd(),
    stdin: io.stdin,
    signal: io.signal,
    debug,
  };
  try {
    // Options before the command: only the global ones.
    let i = 0;
    for (; i < argv.length && argv[i].startsWith('-'); i++) {
      const flag = argv[i];
      if (flag === '--version' || flag === '-V') {
        out.line(`failoverctl ${version()}`);
        return EXIT.OK;
      }
      if (flag === '--help' || flag === '-h') {
        out.line(usage(commands));
        return EXIT.OK;
      }
      if (flag !== '--debug' && flag !== '--no-color') {
        throw new CliError(`unknown option ${flag}; options other than --help, --version, --debug and --no-color go after the command`, EXIT.USAGE);
      }
    }
    const [name, ...rest] = argv.slice(i);
    if (name === undefined) {
      out.note(usage(commands));
      return EXIT.USAGE;
    }
    if (name === 'help') {
      if (rest[0] === undefined) {
        out.line(usage(commands));
        return EXIT.OK;
      }
      const topic = commands.find((c) => c.name === rest[0]);
      if (!topic) throw new CliError(`help: unknown command ${JSON.stringify(rest[0])}; commands: ${commands.map((c) => c.name).join(', ')}`, EXIT.USAGE);
      out.line(topic.help);
      return EXIT.OK;
    }
    if (name === 'version') {
      out.line(`failoverctl ${version()}`);
      return EXIT.OK;
    }
    const command = commands.find((c) => c.name === name);
    if (!command) {
      throw new CliError(`unknown command ${JSON.stringify(name)}; commands: ${commands.map((c) => c.name).join(', ')} (failoverctl --help)`, EXIT.USAGE);
    }
    const running = command.run(ctx, rest);
    if (command.handlesInterrupt || !io.signal) return await running;
    return await Promise.race([running, interrupted(io.signal, out)]);
  } catch (err) {
    const { message, exitCode } = describeError(err, env);
    out.clearLive();
    out.note(`failoverctl: ${out.style.red(message)}`);
    if (debug) out.note(debugDetail(err));
    // Our own errors say all there is; an SDK error's details are in its stack and causes.
    else if ((exitCode === EXIT.AWS || exitCode === EXIT.NOT_SUCCEEDED) && (!(err instanceof CliError) || err.cause !== undefined)) {
      out.note(out.style.dim('(run with --debug for details)'));
    }
    return exitCode;
  }
}

/** Resolves with the exit code of an interrupted command at the first Ctrl-C (never, without one). */
function interrupted(signal: AbortSignal, out: Output): Promise<number> {
  return new Promise((resolve) => {
    const stop = () => {
      out.clearLive();
      out.note('failoverctl: interrupted');
      resolve(EXIT.INTERRUPTED);
    };
    if (signal.aborted) stop();
    else signal.addEventListener('abort', stop, { once: true });
  });
}

interface ErrorLike {
  name?: string;
  message?: string;
  code?: string;
  cause?: unknown;
  $metadata?: unknown;
}

/** The error and its causes, outermost first. */
function causes(err: unknown): ErrorLike[] {
  const chain: ErrorLike[] = [];
  let e = err as ErrorLike | undefined;
  while (e && typeof e === 'object' && chain.length < 10) {
    chain.push(e);
    e = e.cause as ErrorLike | undefined;
  }
  return chain;
}

/** One line saying what is wrong and what to do, and the exit code. */
export function describeError(err: unknown, env: Record<string, string | undefined> = {}): { message: string; exitCode: number } {
  if (err instanceof CliError) return { message: err.message, exitCode: err.exitCode };
  if (err instanceof ConfigError || err instanceof WorkflowTooLarge) return { message: err.message, exitCode: EXIT.USAGE };
  const aws = describeAwsError(err, env);
  if (aws) return { message: aws, exitCode: EXIT.AWS };
  return { message: `unexpected error: ${(err as Error)?.message ?? String(err)}`, exitCode: EXIT.NOT_SUCCEEDED };
}

const CREDENTIALS_REJECTED = new Set(['UnrecognizedClientException', 'InvalidClientTokenId', 'InvalidSignatureException', 'SignatureDoesNotMatch', 'AuthFailure']);
const EXPIRED = new Set(['ExpiredToken', 'ExpiredTokenException', 'RequestExpired', 'TokenRefreshRequired']);
const DENIED = new Set(['AccessDenied', 'AccessDeniedException', 'UnauthorizedOperation', 'UnauthorizedAccess']);
// TimeoutError: the SDK's HTTP handler gave up on a connection or an answer (CLI_CLIENT_CONFIG's timeouts).
const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'ECONNRESET', 'EHOSTUNREACH', 'TimeoutError']);

function describeAwsError(err: unknown, env: Record<string, string | undefined>): string | undefined {
  const chain = causes(err);
  for (const e of chain) {
    const name = e.name ?? '';
    const message = e.message ?? '';
    if (name === 'CredentialsProviderError' || /Could not load credentials/i.test(message)) {
      // The SDK says which profile it could not use; the generic message says nothing more than ours.
      const detail = /Could not load credentials from any providers/.test(message) ? '' : ` (${message.split('\n')[0]})`;
      if (env.AWS_PROFILE) {
        return `no AWS credentials from profile ${env.AWS_PROFILE}${detail}: check that it exists in ~/.aws/config; for an SSO profile run aws sso login --profile ${env.AWS_PROFILE}`;
      }
      return `no AWS credentials${detail}: set AWS_PROFILE (run aws sso login for an SSO profile) or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (the README's "Deploy" section goes from zero to a deployed controller)`;
    }
    if (/Region is missing/i.test(message)) return 'no AWS region: set AWS_REGION (or a region in your AWS_PROFILE), or pass --region';
    if (EXPIRED.has(name)) return `your AWS credentials have expired (${name}): refresh them (for example aws sso login) and run again`;
    if (CREDENTIALS_REJECTED.has(name)) return `AWS rejected the credentials (${name}): check AWS_PROFILE or AWS_ACCESS_KEY_ID`;
    if (DENIED.has(name)) return `access denied: ${message}`;
    if (name === 'ResourceNotFoundException' && e.$metadata !== undefined) {
      // The store wraps its errors: "DynamoDB GetItem failed: ResourceNotFoundException: ...".
      if (chain.some((c) => c.message?.startsWith('DynamoDB'))) {
        return `the DynamoDB table was not found (${message}): check --table and --region, or the stack's TableName output`;
      }
      return `not found (${name}: ${message}): check --state-machine-arn and --region, or the stack's outputs`;
    }
    if ((e.code && UNREACHABLE.has(e.code)) || UNREACHABLE.has(name)) {
      // Which call: the middleware's name for it, or the store's ("DynamoDB GetItem failed: ...").
      const call = chain.map((c) => (c as { $call?: string }).$call ?? /^(DynamoDB \w+) failed/.exec(c.message ?? '')?.[1]).find(Boolean);
      return `cannot reach the AWS endpoint${call ? ` of ${call}` : ''} (${e.code ?? name}: ${message}): check the network, --region and AWS_ENDPOINT_URL`;
    }
  }
  const service = chain.find((e) => e.$metadata !== undefined);
  if (service) {
    // The call that failed, as the SDK's middleware records it (its command name), when known.
    const call = chain.map((e) => (e as { $call?: string }).$call).find(Boolean);
    const what = call ? `${call} failed: ` : '';
    // An emulator may not implement every service the CLI asks: say which call, and how to skip CloudFormation.
    const emulator = env.AWS_ENDPOINT_URL
      ? ` (AWS_ENDPOINT_URL is ${env.AWS_ENDPOINT_URL}${call?.startsWith('CloudFormation ') ? ': without CloudFormation there, pass --table, --state-machine-arn and --topic-arn' : ''})`
      : '';
    return `AWS error: ${what}${service.name}: ${service.message}${emulator}`;
  }
  return undefined;
}

function debugDetail(err: unknown): string {
  return causes(err)
    .map((e, i) => `${i === 0 ? '' : 'caused by: '}${(e as Error).stack ?? `${e.name}: ${e.message}`}`)
    .join('\n');
}
