/**
 * What a command talks to: its output streams, the operator (prompts), the environment and its
 * dependencies. `main(argv, io)` takes all of them, so tests drive commands without spawning processes.
 */
import { createInterface } from 'node:readline';
import type { CliDeps } from './deployment';
import { colourWanted, styleFor, usableTimeZone, type Style } from './format';

export interface Writer {
  write(chunk: string): unknown;
}

/** Everything outside the process a command may use; each defaults to the real thing in bin/failoverctl.ts. */
export interface CliIO {
  stdout: Writer;
  stderr: Writer;
  /** Where confirmations are read from. */
  stdin?: NodeJS.ReadableStream;
  /** Whether stdin (prompts allowed) and stdout (colour, live progress) are terminals. */
  isTTY?: { stdin?: boolean; stdout?: boolean };
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** Aborted on Ctrl-C: a command following an execution stops following (the execution goes on). */
  signal?: AbortSignal;
  /** AWS clients, the clock, the store, the synth: replaced in tests. */
  deps?: Partial<CliDeps>;
}

/** The operator's terminal: lines on stdout, messages on stderr, a live status line on a TTY. */
export class Output {
  readonly style: Style;
  /** The operator's time zone (TZ), or undefined for the process's own. */
  readonly timeZone: string | undefined;
  private liveShown = false;

  constructor(
    private readonly io: CliIO,
    readonly interactive: { stdin: boolean; stdout: boolean },
    noColorFlag: boolean,
  ) {
    const env = io.env ?? {};
    this.style = styleFor(colourWanted(interactive.stdout, env, noColorFlag));
    this.timeZone = usableTimeZone(env.TZ);
  }

  /** One line on stdout. */
  line(text = ''): void {
    this.clearLive();
    this.io.stdout.write(`${text}\n`);
  }

  /** A message for the operator (plans, warnings, errors), on stderr so stdout stays parseable. */
  note(text = ''): void {
    this.clearLive();
    this.io.stderr.write(`${text}\n`);
  }

  /** A question on stderr, the cursor left after it for the answer. */
  prompt(text: string): void {
    this.clearLive();
    this.io.stderr.write(text);
  }

  warn(text: string): void {
    this.note(this.style.yellow(`warning: ${text}`));
  }

  /** Stable machine-readable output: one JSON document on stdout. */
  json(value: unknown): void {
    this.line(JSON.stringify(value, null, 2));
  }

  /** A status line that is rewritten in place: only on a TTY, never in pipes or logs. */
  live(text: string): void {
    if (!this.interactive.stdout) return;
    this.io.stdout.write(`\r\u001b[K${this.style.dim(text)}`);
    this.liveShown = true;
  }

  clearLive(): void {
    if (!this.liveShown) return;
    this.io.stdout.write('\r\u001b[K');
    this.liveShown = false;
  }
}

/** What a command runs with. */
export interface Context {
  out: Output;
  deps: CliDeps;
  env: Record<string, string | undefined>;
  cwd: string;
  stdin?: NodeJS.ReadableStream;
  signal?: AbortSignal;
  debug: boolean;
}

/**
 * Ask a yes/no question on stderr and read the answer from stdin. Only 'y' or 'yes' (any case) is a yes;
 * anything else, including end of input, is a no.
 */
export async function askYesNo(ctx: Context, question: string): Promise<boolean> {
  const input = ctx.stdin;
  if (!input) return false;
  ctx.out.prompt(`${question} [y/N] `);
  const rl = createInterface({ input, terminal: false });
  // Ctrl-C at the prompt is a no.
  const onAbort = () => rl.close();
  ctx.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const answer = await new Promise<string>((resolve) => {
      rl.once('line', resolve);
      rl.once('close', () => resolve(''));
    });
    return /^(y|yes)$/i.test(answer.trim());
  } finally {
    ctx.signal?.removeEventListener('abort', onAbort);
    rl.close();
  }
}

/** One failoverctl command: `failoverctl <name> ...`. */
export interface Command {
  name: string;
  /** One line for `failoverctl --help`. */
  summary: string;
  /** The full `--help` text, with an example. */
  help: string;
  run(ctx: Context, args: string[]): Promise<number>;
  /**
   * The command handles Ctrl-C itself (it stops following an execution, which goes on). Any other
   * command ends at the first Ctrl-C, even while an AWS call is still waiting for an answer.
   */
  handlesInterrupt?: boolean;
}
