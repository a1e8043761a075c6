/**
 * Command-line parsing shared by every command (node:util parseArgs), the exit codes, and the errors
 * that end a command with one clear line.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** What failoverctl exits with. Documented in `failoverctl --help` and the README (failoverctl). */
export const EXIT = {
  /** Done: the command did what was asked (a failover SUCCEEDED or was a DRY_RUN, a drill passed). */
  OK: 0,
  /** The failover, switchover or drill ran and did not succeed (any other outcome, or the execution failed). */
  NOT_SUCCEEDED: 1,
  /** Usage or config error: a bad flag, an unknown group, an invalid config, --yes missing. Nothing was done. */
  USAGE: 2,
  /** AWS or deployment error: no credentials, stack not found, access denied, API failure. */
  AWS: 3,
  /** Refused: the group's state or the operator said no (declined prompt, stale config on rearm). Nothing was done. */
  REFUSED: 4,
  /** Interrupted (Ctrl-C) while following an execution; the execution itself goes on. */
  INTERRUPTED: 130,
} as const;

export const EXIT_CODES_HELP = `Exit codes:
  0    done (a failover or switchover SUCCEEDED or was a DRY_RUN; a drill behaved as expected)
  1    the failover, switchover or drill ran and did not succeed (see the outcome)
  2    usage or config error (bad flag, unknown group, invalid config, --yes needed); nothing done
  3    AWS or deployment error (credentials, stack not found, access denied, API error)
  4    refused (the group's state does not allow it, or the prompt was declined); nothing done
  130  interrupted while following an execution; the execution goes on`;

/** An error that ends the command with `exitCode` and one line (two at most) on stderr, never a stack trace. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'CliError';
  }
}

export class UsageError extends CliError {
  constructor(message: string) {
    super(message, EXIT.USAGE);
    this.name = 'UsageError';
  }
}

export class RefusedError extends CliError {
  constructor(message: string) {
    super(message, EXIT.REFUSED);
    this.name = 'RefusedError';
  }
}

export class DeploymentError extends CliError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, EXIT.AWS, options);
    this.name = 'DeploymentError';
  }
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** Where the deployment is: every command that talks to AWS takes these. */
export const DEPLOYMENT_OPTIONS = {
  config: { type: 'string' },
  'stack-name': { type: 'string' },
  region: { type: 'string' },
  'state-machine-arn': { type: 'string' },
  table: { type: 'string' },
  'topic-arn': { type: 'string' },
} as const satisfies Options;

export const DEPLOYMENT_OPTIONS_HELP = `Finding the deployment:
  --config PATH             the config (default: failover.config.json in the current directory,
                            else the one shipped with the package)
  --stack-name NAME         the CloudFormation stack to read the outputs from (default: the config's stackName)
  --region REGION           the controller's region (default: AWS_REGION or the profile's region)
  --state-machine-arn ARN   use this state machine instead of the stack's StateMachineArn output
  --table NAME              use this DynamoDB table instead of the stack's TableName output
  --topic-arn ARN           use this SNS topic instead of the stack's TopicArn output
  Credentials come from the usual places (AWS_PROFILE, AWS_ACCESS_KEY_ID..., SSO); AWS_ENDPOINT_URL
  points the CLI at an emulator.`;

/** Flags every command takes. */
export const GLOBAL_OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  debug: { type: 'boolean' },
  'no-color': { type: 'boolean' },
} as const satisfies Options;

export const GLOBAL_OPTIONS_HELP = `  -h, --help                this help
  --debug                   show stack traces and the SDK's errors in full
  --no-color                no colour (also: NO_COLOR set, or output not a terminal)`;

/** The values parseArgs gives for these options: a string or boolean per flag, undefined when absent. */
export type Values<O extends Options> = ReturnType<typeof parseArgs<{ options: O; strict: true; allowPositionals: true }>>['values'];

export interface Parsed<O extends Options> {
  values: Values<O>;
  positionals: string[];
}

/**
 * Parse a command's arguments. Errors name the flag and point at the command's --help.
 * `positionals` names the positional arguments the command takes, in order (all optional unless `required`).
 */
export function parseCommandArgs<O extends Options>(
  command: string,
  args: string[],
  options: O,
  positionals: { names: string[]; required?: number } = { names: [] },
): Parsed<O & typeof GLOBAL_OPTIONS> {
  const all = { ...GLOBAL_OPTIONS, ...options };
  let parsed: { values: Record<string, string | boolean | undefined>; positionals: string[] };
  try {
    parsed = parseArgs({ args, options: all, strict: true, allowPositionals: true }) as typeof parsed;
  } catch (err) {
    throw new UsageError(`${command}: ${parseErrorMessage(err as Error & { code?: string })}; see failoverctl ${command} --help`);
  }
  const values = parsed.values;
  const result = { values: values as Values<O & typeof GLOBAL_OPTIONS>, positionals: parsed.positionals };
  if (values.help) return result;
  const required = positionals.required ?? 0;
  if (parsed.positionals.length < required) {
    const missing = positionals.names.slice(parsed.positionals.length, required);
    throw new UsageError(`${command}: missing ${missing.map((n) => `<${n}>`).join(' ')}; see failoverctl ${command} --help`);
  }
  if (parsed.positionals.length > positionals.names.length) {
    const extra = parsed.positionals.slice(positionals.names.length);
    throw new UsageError(`${command}: unexpected argument ${JSON.stringify(extra[0])}; see failoverctl ${command} --help`);
  }
  if (typeof values.region === 'string' && !REGION.test(values.region)) {
    throw new UsageError(`${command}: --region must be an AWS region such as us-west-2, got ${JSON.stringify(values.region)}`);
  }
  return result;
}

/** An AWS region name (the config schema's pattern). */
const REGION = /^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}$/;

function parseErrorMessage(err: Error & { code?: string }): string {
  // "Option '-y, --yes' does not take an argument": name the long form.
  const flag = /'(?:-\w, )?(-{1,2}[^' ]+)/.exec(err.message)?.[1];
  switch (err.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option ${flag ?? err.message}`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      if (/argument missing/.test(err.message)) return `${flag} needs a value`;
      if (/ambiguous/.test(err.message)) return `${flag} needs a value, and the next argument is a flag (write ${flag}=-TEXT for a value that starts with -)`;
      return `${flag} takes no value`;
    default:
      return err.message;
  }
}

/** A whole number within bounds, or a usage error naming the flag and the value. */
export function intOption(command: string, flag: string, value: string | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || n > max) {
    throw new UsageError(`${command}: --${flag} must be a whole number from ${min} to ${max}, got ${JSON.stringify(value)}`);
  }
  return n;
}

/** The --reason text: required for actions, so the history says why; printable and bounded like the workflow's input. */
export function reasonOption(command: string, value: string | undefined): string {
  if (value === undefined || value.trim() === '') {
    throw new UsageError(`${command}: --reason TEXT is required (it goes into the history and the notification)`);
  }
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(value)) throw new UsageError(`${command}: --reason must not contain control characters`);
  if (value.length > 512) throw new UsageError(`${command}: --reason must be at most 512 characters, got ${value.length}`);
  return value.trim();
}
