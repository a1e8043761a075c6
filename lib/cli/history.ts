/**
 * `failoverctl history [group]`: every execution's record, newest first: when, group, trigger, mode,
 * outcome, RTO, data-loss estimate, what it concluded, and where to see the execution.
 */
import type { HistoryItem } from '../../lambdas/core/history';
import { DEPLOYMENT_OPTIONS, DEPLOYMENT_OPTIONS_HELP, EXIT, GLOBAL_OPTIONS_HELP, intOption, parseCommandArgs } from './args';
import { findDeployment, loadCliConfig } from './deployment';
import { colourOutcome, executionConsoleUrl, formatDuration, formatIso, table } from './format';
import type { Command } from './io';

const OPTIONS = { ...DEPLOYMENT_OPTIONS, json: { type: 'boolean' }, limit: { type: 'string' } } as const;

/** One item of `history --json`: the stored history item as is, plus its console link. */
export type HistoryJsonItem = HistoryItem & { consoleUrl: string | null };

const help = `Usage: failoverctl history [group] [--limit N] [--json]

Every execution's history item, newest first (one group's, or every group's): when it started, the
group, the trigger, the mode, the outcome, the RTO (trigger to DNS INSYNC), the data-loss estimate (an
upper bound, when a replica was promoted), the summary sentence, and the execution's console link.

Options:
  --limit N                 at most N items (default 20, up to 1000)
  --json                    one JSON object: { items: [ <history item> + consoleUrl ] } (see the README, "failoverctl")
${GLOBAL_OPTIONS_HELP}

${DEPLOYMENT_OPTIONS_HELP}

Examples:
  failoverctl history
  failoverctl history orders --limit 5 --json`;

export const historyCommand: Command = {
  name: 'history',
  summary: 'executions newest first: trigger, mode, outcome, RTO, data loss, console link',
  help,
  async run(ctx, args) {
    const { values, positionals } = parseCommandArgs('history', args, OPTIONS, { names: ['group'] });
    if (values.help) {
      ctx.out.line(help);
      return EXIT.OK;
    }
    const limit = intOption('history', 'limit', values.limit, 20, 1, 1000);
    const loaded = loadCliConfig(values.config, ctx.cwd);
    const group = positionals[0];
    // A group that left the config keeps its history: look it up anyway, but say so.
    if (group !== undefined && !loaded.config.groups.some((g) => g.name === group)) {
      ctx.out.warn(`${group} is not a group of ${loaded.shown} (known: ${loaded.config.groups.map((g) => g.name).join(', ')}); showing its history anyway`);
    }
    const deployment = await findDeployment(ctx, values, loaded);
    const items = await deployment.store.listHistory({ group, limit });
    if (values.json) {
      ctx.out.json({ items: items.map((h): HistoryJsonItem => ({ ...h, consoleUrl: executionConsoleUrl(h.executionArn) })) });
      return EXIT.OK;
    }
    if (items.length === 0) {
      ctx.out.line(`No history${group ? ` for ${group}` : ''} in ${deployment.describe()}.`);
      return EXIT.OK;
    }
    const { style: s, timeZone: tz } = ctx.out;
    const rows = items.map((h) => [
      formatIso(h.startedAt, tz),
      h.group,
      triggerText(h),
      `${h.mode}${h.force ? ' (force)' : ''}`,
      colourOutcome(h.outcome, s),
      formatDuration(h.rtoSeconds),
      dataLossText(h),
      h.executionName,
    ]);
    const lines = table(['WHEN', 'GROUP', 'TRIGGER', 'MODE', 'OUTCOME', 'RTO', 'DATA LOSS', 'EXECUTION'], rows, s);
    ctx.out.line(lines[0]);
    items.forEach((h, i) => {
      ctx.out.line(lines[i + 1]);
      ctx.out.line(`    ${h.summary}`);
      if (h.attestation) ctx.out.line(`    ${s.yellow(`attested by ${h.attestation.by} at ${formatIso(h.attestation.at, tz)}: ${h.attestation.reason}`)}`);
      ctx.out.line(`    ${s.dim(executionConsoleUrl(h.executionArn) ?? h.executionArn)}`);
    });
    return EXIT.OK;
  },
};

/** manual by alice@ops-1 (local), probe, alarm orders-primary-status-check-failed. */
export function triggerText(h: HistoryItem): string {
  const t = h.trigger;
  const detail = t.type === 'manual' ? (typeof t.by === 'string' ? ` by ${t.by}` : '') : t.type === 'alarm' && typeof t.alarmName === 'string' ? ` ${t.alarmName}` : '';
  return `${t.type}${detail}${t.local === true ? ' (local)' : ''}`;
}

/**
 * The data-loss estimate (an upper bound) when a replica was promoted; '-' when nothing was promoted,
 * since then nothing was lost. Items recorded before the estimate existed carry the replica lag (a dry
 * run's shown with ~).
 */
function dataLossText(h: HistoryItem): string {
  const promoted = h.dryRun ? h.outcome === 'DRY_RUN' && h.dataLoss === undefined : h.promotion?.confirmed === true;
  if (!promoted || h.dataLossSeconds === null) return h.dataLossSeconds === null && promoted ? 'unknown' : '-';
  return `${h.dryRun ? '~' : ''}${formatDuration(h.dataLossSeconds)}`;
}
