/**
 * How failoverctl shows things to a person: times in the operator's zone with the offset, durations in
 * human units, aligned tables, and colour only where it helps (a TTY, and NO_COLOR unset).
 *
 *   formatTime(Date.parse('2026-01-01T00:00:12Z'), 'Asia/Tokyo')  // '2026-01-01 09:00:12 +09:00'
 *   formatDuration(245.5)                                          // '4m 06s'
 *   formatDuration(27.1)                                           // '27.1 s'
 */

/** A time zone Intl accepts, or undefined for the process's own (which Node takes from TZ). */
export function usableTimeZone(tz: string | undefined): string | undefined {
  if (!tz) return undefined;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return tz;
  } catch {
    // POSIX forms such as ":/etc/localtime" or "UTC0": Node itself falls back too.
    return undefined;
  }
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function wallClock(ms: number, timeZone: string | undefined): Record<string, number> {
  const key = timeZone ?? '';
  let dtf = formatters.get(key);
  if (!dtf) {
    dtf = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(key, dtf);
  }
  const parts: Record<string, number> = {};
  for (const p of dtf.formatToParts(new Date(ms))) {
    if (p.type !== 'literal') parts[p.type] = Number(p.value);
  }
  return parts;
}

const pad2 = (n: number) => String(n).padStart(2, '0');

/** `2026-01-01 09:00:12 +09:00`: the wall-clock time in `timeZone` (default: the process's) and its offset. */
export function formatTime(ms: number, timeZone?: string): string {
  const p = wallClock(ms, timeZone);
  const whole = Math.floor(ms / 1000) * 1000;
  const offsetMinutes = Math.round((Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second) - whole) / 60_000);
  const sign = offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(offsetMinutes);
  return `${p.year}-${pad2(p.month)}-${pad2(p.day)} ${pad2(p.hour)}:${pad2(p.minute)}:${pad2(p.second)} ${sign}${pad2(Math.floor(abs / 60))}:${pad2(abs % 60)}`;
}

/** An ISO time string from the store, shown as `formatTime` does; '-' when absent. */
export function formatIso(iso: string | null | undefined, timeZone?: string): string {
  if (!iso) return '-';
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? iso : formatTime(ms, timeZone);
}

/** `27.1 s` under a minute, `4m 05s` under an hour, `1h 02m 05s` above; '-' when unknown. */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '-';
  const sign = seconds < 0 ? '-' : '';
  const abs = Math.abs(seconds);
  const tenths = Math.round(abs * 10) / 10;
  if (tenths < 60) return `${sign}${Number.isInteger(tenths) ? tenths : tenths.toFixed(1)} s`;
  const total = Math.round(abs);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  return h > 0 ? `${sign}${h}h ${pad2(m)}m ${pad2(s)}s` : `${sign}${m}m ${pad2(s)}s`;
}

/** `12 s ago`, `3m 05s ago`, `in 4m 00s`: whole seconds between `ms` and `now`. */
export function formatAgo(ms: number, now: number): string {
  const seconds = Math.round((now - ms) / 1000);
  return seconds >= 0 ? `${formatDuration(seconds)} ago` : `in ${formatDuration(-seconds)}`;
}

export interface Style {
  readonly enabled: boolean;
  bold(s: string): string;
  dim(s: string): string;
  red(s: string): string;
  green(s: string): string;
  yellow(s: string): string;
  cyan(s: string): string;
}

const sgr = (open: number, close: number) => (s: string) => `\u001b[${open}m${s}\u001b[${close}m`;

export function styleFor(enabled: boolean): Style {
  const plain = (s: string) => s;
  return {
    enabled,
    bold: enabled ? sgr(1, 22) : plain,
    dim: enabled ? sgr(2, 22) : plain,
    red: enabled ? sgr(31, 39) : plain,
    green: enabled ? sgr(32, 39) : plain,
    yellow: enabled ? sgr(33, 39) : plain,
    cyan: enabled ? sgr(36, 39) : plain,
  };
}

/**
 * Colour on a terminal only: not when piped, not with NO_COLOR (any non-empty value, see no-color.org)
 * or TERM=dumb, not with --no-color.
 */
export function colourWanted(isTTY: boolean, env: Record<string, string | undefined>, noColorFlag = false): boolean {
  return isTTY && !noColorFlag && !env.NO_COLOR && env.TERM !== 'dumb';
}

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*m/g;
export const visibleLength = (s: string): number => s.replace(ANSI, '').length;
const padEndVisible = (s: string, width: number) => s + ' '.repeat(Math.max(0, width - visibleLength(s)));

/** Rows under headers, columns padded to their widest cell (colour codes do not count); no trailing spaces. */
export function table(headers: string[], rows: string[][], style: Style = styleFor(false)): string[] {
  const widths = headers.map((h, c) => Math.max(visibleLength(h), ...rows.map((r) => visibleLength(r[c] ?? ''))));
  const line = (cells: string[]) =>
    cells
      .map((cell, c) => (c === cells.length - 1 ? cell : padEndVisible(cell, widths[c])))
      .join('  ')
      .trimEnd();
  return [style.bold(line(headers)), ...rows.map(line)];
}

/** Outcomes and statuses in the colour an operator reads at a glance. */
export function colourOutcome(outcome: string, style: Style): string {
  if (outcome === 'SUCCEEDED' || outcome === 'DRY_RUN') return style.green(outcome);
  if (outcome === 'SKIPPED' || outcome === 'ABORTED' || outcome === 'RUNNING') return style.yellow(outcome);
  return style.red(outcome);
}

export function colourStatus(status: string, style: Style): string {
  switch (status) {
    case 'ARMED':
      return style.green(status);
    case 'PAUSED':
      return style.yellow(status);
    case 'IN_PROGRESS':
      return style.cyan(style.bold(status));
    default:
      return style.red(status);
  }
}

/**
 * The Step Functions console page of an execution. Only for the aws partition (whose console address
 * is known); null for others and for executions that did not run in Step Functions (break-glass runs,
 * whose ARN is `local:<name>`).
 */
export function executionConsoleUrl(executionArn: string): string | null {
  const m = /^arn:aws:states:([a-z0-9-]+):\d{12}:execution:/.exec(executionArn);
  if (!m) return null;
  const region = m[1];
  return `https://${region}.console.aws.amazon.com/states/home?region=${region}#/v2/executions/details/${executionArn}`;
}
