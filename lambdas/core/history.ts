/**
 * The history item: the complete, truthful record of one execution, built from the workflow state by
 * one pure function, so the stored item, the notification and the log all say the same thing.
 */
import { chosenReplica, replicaCandidates } from './candidates';
import { estimateDataLoss } from './data-loss';
import type { Attestation, NotificationResult, Outcome, Timed, WorkflowState, Writer } from './workflow-state';
import { sourceDatabase, type GroupConfig } from './config';
import { writersOf } from './writers';

export interface StepRecord {
  step: 'lock' | 'confirm' | 'assess' | 'fence' | 'fence-db' | 'verify' | 'promote' | 'dns';
  startedAt: string;
  endedAt: string | null;
  durationSeconds: number | null;
  result: string;
}

export interface HistoryItem {
  group: string;
  executionArn: string;
  executionName: string;
  trigger: { type: string; [detail: string]: unknown };
  reason: string;
  mode: string;
  dryRun: boolean;
  force: boolean;
  outcome: Outcome;
  /** One sentence: why the execution ended the way it did. */
  summary: string;
  triggeredAt: string;
  startedAt: string;
  endedAt: string;
  steps: StepRecord[];
  /** Which fence held: `force-stop`, `stop`, or `isolate` (with the isolation security group and interfaces). */
  fence: {
    instanceId: string;
    region: string;
    finalState: string;
    confirmed: boolean;
    method: string;
    isolation?: { securityGroupId: string; networkInterfaces: string[] };
    /** Every writer of the group (EC2 instances, the old database) as last seen: fenced or not, and how. Absent in records made before writers were fenced. */
    writers?: Writer[];
  } | null;
  /** The operator's statement that the writers were fenced by other means, if the execution carried one. Absent in older records. */
  attestation?: Attestation | null;
  promotion: { dbInstanceIdentifier: string; region: string; endpointAddress: string | null; confirmed: boolean; alreadyPromoted: boolean } | null;
  dnsChanges: Array<{ name: string; type: string; ttl: number; before: string[] | null; after: string[]; applied: boolean }>;
  /** The data-loss estimate in seconds (= dataLoss.estimatedSeconds): null when nothing was promoted, or unknown. */
  dataLossSeconds: number | null;
  /** The estimate (an upper bound: see lambdas/core/data-loss.ts) and its basis, as one sentence. */
  dataLoss?: { estimatedSeconds: number | null; reason: string; replicatedThrough: string | null; writesStoppedAt: string | null };
  /** Every candidate replica: which was chosen, whether it was promoted, and why (or why not). */
  replicas?: ReplicaRecord[];
  /** Trigger to DNS INSYNC; null when DNS was not flipped. */
  rtoSeconds: number | null;
  error: { name: string; cause: string } | null;
  /** For dry runs: what a real run would have done. */
  plannedActions: string[];
  notification: { notified: boolean; error: string | null } | null;
  /**
   * With vantages configured, and confirmed: what each vantage saw of the primary (region, whether the
   * controller's own probes or a vantage function, down / up / unreachable, when, why), and whether they
   * disagreed. Absent otherwise.
   */
  confirmation?: { disagree: boolean; vantages: Array<{ region: string; source: string; saw: string; at: string; reason: string; void?: string }> };
}

export interface ReplicaRecord {
  id: string;
  region: string;
  engine: string | null;
  chosen: boolean;
  /** PromoteReadReplica confirmed on it by this (real) execution. */
  promoted: boolean;
  /** The ReplicaLag the gate judged, in seconds. */
  lagSeconds: number | null;
  /** ISO: every write up to here was on it (a lower bound); null when unknown. */
  replicatedThrough: string | null;
  reason: string;
}

const iso = (ms: number) => new Date(ms).toISOString();
const seconds = (from: number, to: number) => Math.round((to - from) / 100) / 10;

/**
 * The record of an execution: its state (decisions and observations) and the deployed config of its
 * group (the ids, regions and candidates it names), never the config the event carries.
 */
export function buildHistoryItem(state: WorkflowState, group: GroupConfig, nowMs: number, notification?: NotificationResult): HistoryItem {
  const { plan } = state;
  const outcome = state.outcome ?? 'FAILED';
  const dnsApplied = !plan.dryRun && state.dns?.changeId !== undefined;
  const rtoSeconds = state.dns?.confirmed && !plan.dryRun && state.dns.endedAt ? seconds(plan.triggeredAt, state.dns.endedAt) : null;
  const dataLoss = estimateDataLoss(state, group);
  return {
    group: group.name,
    executionArn: plan.executionArn,
    executionName: plan.executionName,
    trigger: { ...plan.trigger },
    reason: plan.reason,
    mode: plan.mode,
    dryRun: plan.dryRun,
    force: plan.force,
    outcome,
    summary: summarize(state, group, outcome),
    triggeredAt: iso(plan.triggeredAt),
    startedAt: iso(plan.startedAt),
    endedAt: iso(nowMs),
    steps: stepRecords(state),
    fence: state.fence
      ? {
          instanceId: state.fence.instanceId,
          region: group.primary.region,
          finalState: state.fence.state,
          confirmed: state.fence.confirmed,
          method: state.fence.method,
          ...(state.fence.isolation ? { isolation: state.fence.isolation } : {}),
          writers: writersOf(state, group),
        }
      : null,
    attestation: plan.attestation ?? null,
    promotion: state.promote
      ? {
          dbInstanceIdentifier: state.promote.dbInstanceIdentifier,
          region: chosenReplica(group, state).region,
          endpointAddress: state.promote.endpointAddress ?? null,
          confirmed: state.promote.confirmed,
          alreadyPromoted: state.promote.alreadyPromoted,
        }
      : null,
    dnsChanges: (state.dns?.changes ?? []).map((c) => ({
      name: c.name,
      type: c.type,
      ttl: c.ttl,
      before: c.before?.values ?? null,
      after: c.after,
      applied: dnsApplied,
    })),
    dataLossSeconds: dataLoss.estimatedSeconds,
    dataLoss: {
      estimatedSeconds: dataLoss.estimatedSeconds,
      reason: dataLoss.reason,
      replicatedThrough: dataLoss.replicatedThrough !== null ? iso(dataLoss.replicatedThrough) : null,
      writesStoppedAt: dataLoss.writesStoppedAt !== null ? iso(dataLoss.writesStoppedAt) : null,
    },
    replicas: replicaRecords(state, group, outcome),
    rtoSeconds,
    error: state.error ? { name: state.error.Error, cause: causeText(state.error.Cause) } : null,
    plannedActions: plan.dryRun ? plannedActions(state, group, outcome) : [],
    notification: notification ? { notified: notification.notified, error: notification.error ?? null } : null,
    ...(state.confirm?.vantages
      ? {
          confirmation: {
            disagree: state.confirm.disagree === true,
            vantages: state.confirm.vantages.map((v) => ({ region: v.region, source: v.source, saw: v.saw, at: iso(v.at), reason: v.reason, ...(v.void ? { void: v.void } : {}) })),
          },
        }
      : {}),
  };
}

function stepRecords(state: WorkflowState): StepRecord[] {
  const steps: Array<[StepRecord['step'], (Timed & { reason: string }) | undefined]> = [
    ['lock', state.lock],
    ['confirm', state.confirm],
    ['assess', state.assess],
    ['fence', state.fence],
    ['fence-db', state.databaseFence],
    ['verify', state.verify],
    ['promote', state.promote],
    ['dns', state.dns],
  ];
  return steps
    .filter((entry): entry is [StepRecord['step'], Timed & { reason: string }] => entry[1] !== undefined)
    // In the order they ran: a switchover assesses (waits for the replica) after the fences.
    .sort((a, b) => a[1].startedAt - b[1].startedAt)
    .map(([step, r]) => ({
      step,
      startedAt: iso(r.startedAt),
      endedAt: r.endedAt !== undefined ? iso(r.endedAt) : null,
      durationSeconds: r.endedAt !== undefined ? seconds(r.startedAt, r.endedAt) : null,
      result: r.reason,
    }));
}

/** The reason sentence of the step that decided the outcome. */
function summarize(state: WorkflowState, group: GroupConfig, outcome: Outcome): string {
  switch (outcome) {
    case 'SKIPPED':
      return state.lock?.reason ?? 'skipped';
    case 'ABORTED':
      return state.confirm && !state.confirm.confirmed ? state.confirm.reason : (state.assess?.reason ?? 'aborted');
    case 'SUCCEEDED':
      return `${state.plan.mode === 'switchover' ? 'switched' : 'failed'} over ${group.name}: ${group.primary.instanceId} ${
        state.fence?.instances?.[0]?.method === 'attested'
          ? `attested, not confirmed (${state.fence.state})`
          : state.fence?.method === 'isolate'
            ? `isolated (still ${state.fence.state})`
            : `fenced (${state.fence?.state})`
      }${extraInstances(state)}${state.databaseFence ? `, old database ${state.databaseFence.id} ${databaseFenceText(state.databaseFence)}` : ''}, ${state.promote?.dbInstanceIdentifier} promoted, ${state.dns?.changes.length ?? 0} DNS record(s) ${state.dns?.status === 'ANSWERING' ? 'answered by the name servers (health-check switch)' : 'INSYNC'}${attestationText(state, group)}`;
    case 'DRY_RUN':
      return `dry run: a failover of ${group.name} would proceed; nothing was changed`;
    default:
      return state.error ? `${state.error.Error}: ${causeText(state.error.Cause)}` : outcome;
  }
}

function extraInstances(state: WorkflowState): string {
  const more = (state.fence?.instances ?? []).slice(1);
  return more.length > 0 ? ` and ${more.length} more instance(s) (${more.map((i) => `${i.id} ${i.fenced ? i.state : i.method}`).join(', ')})` : '';
}

function databaseFenceText(fence: NonNullable<WorkflowState['databaseFence']>): string {
  if (fence.method === 'attested') return 'attested, not confirmed';
  if (fence.method === 'none') return `already ${fence.status}`;
  return 'fenced (deny-all security group, rebooted)';
}

function attestationText(state: WorkflowState, group: GroupConfig): string {
  const attested = writersOf(state, group).filter((w) => w.method === 'attested');
  const a = state.plan.attestation;
  if (!a || attested.length === 0) return '';
  return `; NOT confirmed by the controller, passed on the attestation of ${a.by} (${a.reason}): ${attested.map((w) => w.id).join(', ')}`;
}

/**
 * What a real run would have done, as far as the dry run got: each phase is listed only when the dry
 * run's own check of it passed, and a dry run that stopped says where (a real run would stop there too).
 */
function plannedActions(state: WorkflowState, group: GroupConfig, outcome: Outcome): string[] {
  const source = sourceDatabase(group.replica);
  const stop = state.plan.mode === 'switchover' ? 'stop' : 'force-stop';
  const candidate = state.assess?.decision === 'proceed' ? chosenReplica(group, state) : undefined;
  const phases: Array<{ passed: boolean; what: string; actions: string[] }> = [
    {
      passed: state.fence?.confirmed === true,
      what: 'the fence of the EC2 writers',
      actions: [group.primary.instanceId, ...group.primary.additionalInstanceIds].map((id) => `${stop} EC2 instance ${id} in ${group.primary.region}`),
    },
    {
      passed: state.databaseFence?.confirmed === true,
      what: 'the fence of the old database',
      actions: [`fence the old database ${source.id} in ${source.region}: only the deny-all security group, then reboot it`],
    },
    { passed: state.verify?.confirmed === true, what: 'the re-check of every fence', actions: ['re-check every fence from AWS'] },
    {
      passed: state.promote?.confirmed === true,
      what: 'the promotion',
      actions: candidate ? [`promote RDS read replica ${candidate.dbInstanceIdentifier} in ${candidate.region}`, 're-check every fence again before the DNS change'] : [],
    },
    {
      passed: state.dns?.confirmed === true || outcome === 'DRY_RUN',
      what: 'the DNS change',
      actions: (state.dns?.changes ?? []).map((c) => `${group.dns.mode === 'health-check' ? 'fail over (health check)' : 'UPSERT'} ${c.type} ${c.name} (TTL ${c.ttl}) from ${c.before?.values.join(',') ?? '(none)'} to ${c.after.join(',')}`),
    },
  ];
  if (outcome === 'DRY_RUN') return phases.flatMap((p) => p.actions);
  if (!candidate) return [`nothing: the dry run stopped before the fence (${outcome}), where a real run would stop too`];
  const reached = phases.findIndex((p) => !p.passed);
  const done = phases.slice(0, reached < 0 ? phases.length : reached);
  const stopped = reached < 0 ? [] : [done.length === 0 ? `stop at ${phases[reached].what} (${outcome}) before changing anything, as this dry run did` : `then stop at ${phases[reached].what} (${outcome}), as this dry run did`];
  return [...done.flatMap((p) => p.actions), ...stopped];
}

/**
 * What happened to each candidate replica, and why. After a promotion, the others are left untouched
 * and still replicate from the old database: they no longer protect anything, and the record says so.
 */
function replicaRecords(state: WorkflowState, group: GroupConfig, outcome: Outcome): ReplicaRecord[] {
  const assessed = state.assess?.candidates;
  const chosen = state.assess?.chosen;
  const promotedId = state.promote?.confirmed && !state.plan.dryRun ? state.promote.dbInstanceIdentifier : undefined;
  const best = assessed?.find((c) => chosen && c.id === chosen.id && c.region === chosen.region);
  return replicaCandidates(group).map((candidate) => {
    const a = assessed?.find((c) => c.id === candidate.dbInstanceIdentifier && c.region === candidate.region);
    const isChosen = best !== undefined && a === best;
    const promoted = isChosen && promotedId === candidate.dbInstanceIdentifier;
    let reason: string;
    if (!a) {
      reason = 'not assessed';
    } else if (isChosen) {
      const of = (assessed?.length ?? 0) > 1 ? `chosen, of ${assessed!.length} candidates the one that loses the least among those the gate lets through: ` : 'chosen: ';
      const result = promoted ? '' : state.plan.dryRun ? ' (dry run: not promoted)' : ` (not promoted: ${outcome})`;
      reason = `${of}${a.reason}${result}`;
    } else {
      const why =
        best && (a.verdict === 'pass' || (best.verdict === 'force' && a.verdict === 'force'))
          ? `passed over: replicated ${a.replicatedThrough === null ? 'to an unknown point' : `up to ${iso(a.replicatedThrough)}`}, not later than ${best.id}`
          : `${best ? 'passed over' : 'not promoted'}: ${a.reason}`;
      reason = promotedId ? `${why}; left untouched: it still replicates from the old database, so it no longer protects anything` : why;
    }
    return {
      id: candidate.dbInstanceIdentifier,
      region: candidate.region,
      engine: a?.engine ?? null,
      chosen: isChosen,
      promoted,
      lagSeconds: a?.lagSeconds ?? null,
      replicatedThrough: a?.replicatedThrough != null ? iso(a.replicatedThrough) : null,
      reason,
    };
  });
}

/**
 * Step Functions wraps a Lambda error's cause as JSON ({"errorMessage": ...}); keep the message only.
 */
export function causeText(cause: string | undefined): string {
  if (!cause) return '';
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: string };
    if (typeof parsed.errorMessage === 'string') return parsed.errorMessage;
  } catch {
    // Not JSON: the cause is the message itself.
  }
  return cause;
}
