/**
 * How a README example shows a run: the command line as the operator typed it, what the terminal
 * showed (stdout and stderr interleaved, the answer after its prompt), the exit code; and the rules
 * for what an example leaves out, so that no example is ever edited by hand.
 */
import type { CliRun } from '../cli/support';

export interface Shown {
  /** Environment variables typed before the command (`AWS_REGION=us-west-2 failoverctl ...`). */
  env?: Record<string, string>;
  /** A shell comment after the command line. */
  comment?: string;
  /** Print `[exit N]` after the output. */
  exit?: boolean;
  /** A rule applied to the output's lines (not to the command line or the exit line). */
  rule?: (lines: string[]) => string[];
}

/** A word as a POSIX shell needs it: bare when it is safe, else in double quotes. */
export function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `"${word.replace(/(["\\$`])/g, '\\$1')}"`;
}

export function commandLine(program: string, argv: string[], shown: Shown = {}): string {
  const env = Object.entries(shown.env ?? {}).map(([k, v]) => `${k}=${shellWord(v)} `).join('');
  return `$ ${env}${[program, ...argv].map(shellWord).join(' ')}${shown.comment ? `    # ${shown.comment}` : ''}`;
}

/** One command as the terminal showed it. */
export function transcript(argv: string[], run: CliRun, shown: Shown = {}): string {
  const lines = run.output.replace(/\n$/, '').split('\n');
  const body = shown.rule ? shown.rule(lines) : lines;
  return [commandLine('failoverctl', argv, shown), ...body, ...(shown.exit ? [`[exit ${run.code}]`] : [])].join('\n');
}

// --- what examples leave out ---------------------------------------------------------------------

/**
 * The plan failover and switchover print first (on stderr), from its title to its `config:` line, as
 * `...`; with `keepTitle` the title line stays.
 */
export function omitPlan(options: { keepTitle?: boolean } = {}) {
  return (lines: string[]): string[] => {
    const end = lines.findIndex((l) => l.startsWith('  config:'));
    if (end < 0) throw new Error('omitPlan: the output has no plan (no "  config:" line)');
    return [...(options.keepTitle ? [lines[0]] : []), '...', ...lines.slice(end + 1)];
  };
}

/** Everything before the last line matching `last` that comes before the first line matching `first`, as `...`. */
export function omitBefore(first: RegExp, last: RegExp) {
  return (lines: string[]): string[] => {
    const until = lines.findIndex((l) => first.test(l));
    if (until < 0) throw new Error(`omitBefore: no line matches ${first}`);
    let from = until;
    for (let i = until - 1; i >= 0; i--) {
      if (last.test(lines[i])) {
        from = i;
        break;
      }
    }
    return ['...', ...lines.slice(from)];
  };
}

/** The lines up to the first empty one after the line matching `start`, then `...`. */
export function keepSection(start: RegExp) {
  return (lines: string[]): string[] => {
    const at = lines.findIndex((l) => start.test(l));
    if (at < 0) throw new Error(`keepSection: no line matches ${start}`);
    const end = lines.findIndex((l, i) => i > at && l === '');
    return [...lines.slice(0, end < 0 ? lines.length : end), '...'];
  };
}

/** One row of `failoverctl status` (`  <label>  ...`) with its continuation lines. */
export function statusRow(label: string) {
  return (lines: string[]): string[] => {
    const at = lines.findIndex((l) => l.startsWith(`  ${label} `));
    if (at < 0) throw new Error(`statusRow: no ${label} row`);
    const end = lines.findIndex((l, i) => i > at && !/^ {16}\S/.test(l));
    return lines.slice(at, end < 0 ? lines.length : end);
  };
}

/** A line longer than `width` cut at its last space before it, with ` ...`. */
export function cutLine(line: string, width: number): string {
  if (line.length <= width) return line;
  const space = line.lastIndexOf(' ', width - 4);
  return `${line.slice(0, space)} ...`;
}

/**
 * JSON as `JSON.stringify(value, null, 2)` prints it, except that objects and arrays nested `inline`
 * levels deep or more are printed on one line (`{ "a": 1, "b": [2] }`): a long record stays readable.
 */
export function compactJson(value: unknown, inline: number, depth = 0, indent = ''): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  const entries: Array<[string | null, unknown]> = Array.isArray(value) ? value.map((v) => [null, v]) : Object.entries(value);
  const [open, close] = Array.isArray(value) ? ['[', ']'] : ['{', '}'];
  if (entries.length === 0) return `${open}${close}`;
  const item = ([k, v]: [string | null, unknown], inner: string) => `${k === null ? '' : `${JSON.stringify(k)}: `}${compactJson(v, inline, depth + 1, inner)}`;
  if (depth >= inline) return `${open} ${entries.map((e) => item(e, '')).join(', ')} ${close}`;
  const inner = `${indent}  `;
  return `${open}\n${entries.map((e) => `${inner}${item(e, inner)}`).join(',\n')}\n${indent}${close}`;
}
