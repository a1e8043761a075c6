/**
 * `failoverctl status [group]`: what the controller sees now, per group: ARMED, PAUSED, FAILED_OVER or
 * IN_PROGRESS; who is primary; the last probe round; the lock; the last readiness evaluation; the last failover.
 */
import type { HistoryItem } from '../../lambdas/core/history';
import { withHeartbeat, type ProbeHeartbeat, type ProbeRoundView } from '../../lambdas/core/probe-shards';
import type { GroupConfig } from '../../lambdas/core/config';
import { candidateRegion } from '../../lambdas/core/candidates';
import { DEPLOYMENT_OPTIONS, DEPLOYMENT_OPTIONS_HELP, EXIT, GLOBAL_OPTIONS_HELP, parseCommandArgs } from './args';
import { findDeployment, findGroup, loadCliConfig, type Deployment } from './deployment';
import { colourOutcome, colourStatus, executionConsoleUrl, formatAgo, formatDuration, formatIso, formatTime } from './format';
import { readGroup } from './group-state';
import { HOLD_KEY, holdInForce } from '../../lambdas/core/mass-failure-hold';
import type { Command, Context } from './io';

const OPTIONS = { ...DEPLOYMENT_OPTIONS, json: { type: 'boolean' } } as const;

/** One group in `status --json`. */
export interface GroupStatusView {
  group: string;
  /** ARMED, PAUSED, FAILED_OVER, or IN_PROGRESS while a live execution holds the lock. */
  status: string;
  /** The stored state (ARMED when nothing is stored). */
  state: string;
  stateReason: string | null;
  stateUpdatedAt: string | null;
  primary: { kind: 'ec2' | 'rds'; id: string; region: string; endpoint: string | null; source: 'config' | 'failover' };
  replica: { kind: 'rds'; id: string; region: string } | null;
  probe: {
    healthy: boolean;
    consecutiveFailures: number;
    failureThreshold: number;
    failingSince: string | null;
    lastRoundAt: string | null;
    lastRoundReason: string | null;
    lastSuccessAt: string | null;
    /** No round counted for longer than the probe schedule allows: is the probe function running? */
    stale: boolean;
  } | null;
  lock: {
    holder: string;
    acquiredAt: string;
    expiresAt: string;
    live: boolean;
    /** The holder's execution status in Step Functions, when it could be read. */
    holderStatus: string | null;
  } | null;
  /** The scheduled readiness function's last result (null until it has run). */
  readiness: {
    ready: boolean;
    checkedAt: string;
    /** Since when it has been ready (or not). */
    since: string;
    problems: Array<{ check: string; resource: string; reason: string }>;
  } | null;
  lastFailover: {
    executionArn: string;
    executionName: string;
    at: string;
    outcome: string;
    mode: string;
    rtoSeconds: number | null;
    dataLossSeconds: number | null;
    consoleUrl: string | null;
  } | null;
}

export interface StatusJson {
  at: string;
  deployment: { stackName: string | null; region: string | null; tableName: string; config: string };
  /**
   * The mass-failure hold, while it is in force: many groups' probes failed the same round, so no
   * automatic failover of a group with probes starts (null otherwise).
   */
  hold: { reason: string; since: string; lastSeenAt: string } | null;
  groups: GroupStatusView[];
}

const help = `Usage: failoverctl status [group] [--json]

What the controller sees now, per group: ARMED (automatic failover on), PAUSED (maintenance),
FAILED_OVER (its old primary is gone; automatic triggers ignored until rearm) or IN_PROGRESS (a live
execution holds the group's lock); the current primary and replica; the last probe round; the lock
holder; the last readiness evaluation; the last failover.

Options:
  --json                    one JSON object: { at, deployment, groups: [...] } (see the README, "failoverctl")
${GLOBAL_OPTIONS_HELP}

${DEPLOYMENT_OPTIONS_HELP}

Examples:
  failoverctl status
  failoverctl status orders --json`;

export const statusCommand: Command = {
  name: 'status',
  summary: 'per group: ARMED, PAUSED, FAILED_OVER or IN_PROGRESS, primary, probes, lock, last failover',
  help,
  async run(ctx, args) {
    const { values, positionals } = parseCommandArgs('status', args, OPTIONS, { names: ['group'] });
    if (values.help) {
      ctx.out.line(help);
      return EXIT.OK;
    }
    const loaded = loadCliConfig(values.config, ctx.cwd);
    const groups = positionals[0] !== undefined ? [findGroup(loaded, positionals[0])] : loaded.config.groups;
    const deployment = await findDeployment(ctx, values, loaded);
    const heartbeats = deployment.store.listProbeHeartbeats();
    const [views, holdItem] = await Promise.all([
      Promise.all(groups.map(async (g) => groupStatus(ctx, deployment, g, await heartbeats))),
      deployment.store.getProbeState(HOLD_KEY),
    ]);
    const now = ctx.deps.now();
    const held = holdInForce(holdItem, now);
    const hold = held && holdItem ? { reason: held, since: new Date(holdItem.outageStartedAt!).toISOString(), lastSeenAt: new Date(holdItem.lastRoundAt!).toISOString() } : null;
    if (values.json) {
      const json: StatusJson = {
        at: new Date(now).toISOString(),
        deployment: { stackName: deployment.stackName, region: deployment.region ?? null, tableName: deployment.tableName, config: loaded.path },
        hold,
        groups: views,
      };
      ctx.out.json(json);
      return EXIT.OK;
    }
    ctx.out.line(ctx.out.style.dim(`${deployment.describe()}, config ${loaded.shown}, at ${formatTime(now, ctx.out.timeZone)}`));
    if (hold) {
      ctx.out.line();
      ctx.out.line(ctx.out.style.red(`HELD: ${hold.reason}.`));
      ctx.out.line(`No automatic failover of a group with probes starts, from its probes or its alarms; manual failovers still run (failoverctl failover <group>). Last seen lasting ${formatTime(Date.parse(hold.lastSeenAt), ctx.out.timeZone)}.`);
    }
    for (const view of views) {
      ctx.out.line();
      for (const line of formatGroup(ctx, view, now)) ctx.out.line(line);
    }
    return EXIT.OK;
  },
};

/** `heartbeats`: every probe shard's (the store's), which give a healthy group's last round. */
export async function groupStatus(ctx: Context, deployment: Deployment, group: GroupConfig, heartbeats: ProbeHeartbeat[]): Promise<GroupStatusView> {
  const [view, stored, history, readiness] = await Promise.all([
    readGroup(ctx, deployment, group.name),
    deployment.store.getProbeState(group.name),
    deployment.store.listHistory({ group: group.name, limit: 50 }),
    deployment.store.getReadiness(group.name),
  ]);
  const probe = withHeartbeat(group.name, stored, heartbeats);
  const { state, lock } = view;
  const failedOver = view.stored === 'FAILED_OVER' && state?.primary !== undefined;
  const promoted = state?.primary;
  const primary: GroupStatusView['primary'] = failedOver
    ? {
        kind: promoted!.kind,
        id: promoted!.id,
        region: candidateRegion(group, promoted!.id) ?? group.primary.region,
        endpoint: promoted!.endpointAddress ?? null,
        source: 'failover',
      }
    : { kind: 'ec2', id: group.primary.instanceId, region: group.primary.region, endpoint: null, source: 'config' };
  const replica: GroupStatusView['replica'] = failedOver ? null : { kind: 'rds', id: group.replica.dbInstanceIdentifier, region: group.replica.region };
  const last = lastFailover(history);
  return {
    group: group.name,
    status: view.status,
    state: view.stored,
    stateReason: state?.reason ?? null,
    stateUpdatedAt: state?.updatedAt ?? null,
    primary,
    replica,
    probe: probe ? probeView(probe, group, ctx.deps.now()) : null,
    lock: lock
      ? {
          holder: lock.holder,
          acquiredAt: new Date(lock.acquiredAt).toISOString(),
          expiresAt: new Date(lock.expiresAt).toISOString(),
          live: view.lockLive,
          holderStatus: view.holder?.status ?? null,
        }
      : null,
    readiness: readiness ? { ready: readiness.ready, checkedAt: readiness.checkedAt, since: readiness.since, problems: readiness.problems } : null,
    lastFailover: last
      ? {
          executionArn: last.executionArn,
          executionName: last.executionName,
          at: last.endedAt,
          outcome: last.outcome,
          mode: last.mode,
          rtoSeconds: last.rtoSeconds,
          dataLossSeconds: last.dataLossSeconds,
          consoleUrl: executionConsoleUrl(last.executionArn),
        }
      : null,
  };
}

/** The newest real run that got as far as fencing: what an operator means by "the last failover". */
function lastFailover(history: HistoryItem[]): HistoryItem | undefined {
  return history.find((h) => !h.dryRun && h.fence !== null);
}

function probeView(probe: ProbeRoundView, group: GroupConfig, now: number): NonNullable<GroupStatusView['probe']> {
  const iso = (ms: number | null | undefined) => (typeof ms === 'number' ? new Date(ms).toISOString() : null);
  // The probe function runs every minute and rounds every intervalSeconds: two minutes without a round is news.
  const staleAfterMs = 120_000 + group.detection.intervalSeconds * 1000;
  return {
    healthy: probe.consecutiveFailures === 0,
    consecutiveFailures: probe.consecutiveFailures,
    failureThreshold: group.detection.failureThreshold,
    failingSince: iso(probe.outageStartedAt),
    lastRoundAt: iso(probe.lastRoundAt),
    lastRoundReason: probe.lastRound?.reason ?? null,
    lastSuccessAt: iso(probe.lastSuccessAt),
    stale: probe.lastRoundAt === null || now - probe.lastRoundAt > staleAfterMs,
  };
}

function formatGroup(ctx: Context, v: GroupStatusView, now: number): string[] {
  const { style: s, timeZone: tz } = ctx.out;
  const time = (iso: string | null) => (iso ? `${formatIso(iso, tz)} (${formatAgo(Date.parse(iso), now)})` : '-');
  const lines = [`${s.bold(v.group)}  ${colourStatus(v.status, s)}${v.status === 'IN_PROGRESS' && v.state !== 'ARMED' ? ` (state ${v.state})` : ''}`];
  const row = (label: string, text: string) => lines.push(`  ${label.padEnd(14)}${text}`);
  if (v.stateReason) row('why', `${v.stateReason}, since ${time(v.stateUpdatedAt)}`);
  const p = v.primary;
  row('primary', `${p.kind} ${p.id} (${p.region})${p.endpoint ? ` ${p.endpoint}` : ''}${p.source === 'failover' ? ', promoted by the last failover' : ''}`);
  row('replica', v.replica ? `${v.replica.kind} ${v.replica.id} (${v.replica.region})` : 'none: the replica was promoted; describe the new topology in the config, deploy, then rearm');
  if (!v.probe) {
    row('probes', 'no probe round recorded');
  } else {
    const pr = v.probe;
    const last = pr.lastRoundAt ? `last round ${time(pr.lastRoundAt)}` : 'no round yet';
    const text = pr.healthy
      ? `${s.green('healthy')}, ${last}`
      : `${s.red('FAILING')}: ${pr.consecutiveFailures} failed round(s) in a row (threshold ${pr.failureThreshold}) since ${time(pr.failingSince)}; ${last}${pr.lastRoundReason ? `: ${pr.lastRoundReason}` : ''}`;
    row('probes', text);
    if (pr.stale) row('', s.yellow('no probe round for over 2 minutes: is the probe function running?'));
  }
  if (!v.lock) row('lock', 'free');
  else if (v.lock.live) row('lock', `held by ${v.lock.holder}${v.lock.holderStatus ? ` (${v.lock.holderStatus})` : ''} since ${time(v.lock.acquiredAt)}, expires ${formatIso(v.lock.expiresAt, tz)}`);
  else if (Date.parse(v.lock.expiresAt) >= now) {
    row('lock', s.yellow(`STALE: held by ${v.lock.holder}, which ended ${v.lock.holderStatus}; manual failovers are SKIPPED until it expires ${formatIso(v.lock.expiresAt, tz)}`));
  } else row('lock', `free (expired lock of ${v.lock.holder})`);
  const r = v.readiness;
  if (!r) row('readiness', 'not evaluated yet (the readiness function runs on a schedule; failoverctl check runs it now)');
  else {
    const n = r.problems.length;
    row('readiness', r.ready
      ? `${s.green('READY')} since ${time(r.since)}, checked ${time(r.checkedAt)}`
      : `${s.red('NOT READY')} since ${time(r.since)}, checked ${time(r.checkedAt)}: ${n} problem${n === 1 ? '' : 's'}`);
    for (const p of r.problems) row('', `${p.check} ${p.resource}: ${p.reason}`);
  }
  const f = v.lastFailover;
  if (!f) row('last failover', 'none recorded');
  else {
    row('last failover', `${formatIso(f.at, tz)}  ${colourOutcome(f.outcome, s)}  ${f.mode}  RTO ${formatDuration(f.rtoSeconds)}  data loss ${formatDuration(f.dataLossSeconds)}  ${f.executionName}`);
    if (f.consoleUrl) row('', s.dim(f.consoleUrl));
  }
  return lines;
}
