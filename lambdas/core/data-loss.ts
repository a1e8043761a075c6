/**
 * The data-loss estimate of a failover: an upper bound, never smaller than the real loss.
 *
 *   estimate = (when the old database stopped accepting writes, as far as the workflow knows it)
 *            − (the lower bound of what the promoted replica had replicated)
 *
 * Every write the replica lacks was committed after the second time (replicationBound in
 * replica-lag.ts: every datapoint proves the replica had everything up to a point) and before the first
 * (after it the old database took no writes), so the writes lost fit in that window. The first time is
 * when the old database was confirmed fenced (or found failed): only that stops every client of it. The
 * workflow cannot know when the source really stopped (a dead
 * source stopped before the probes noticed), so the window includes detection and fencing time: the
 * estimate is honest, not tight. With neither confirmation (the primary was isolated, which does not cut
 * the connections it has: EC2 "Security group connection tracking"), the promotion's start, when
 * replication ended, is used and the reason says that later writes to the old database are not counted.
 * What a bound cannot cover is stated in its basis (MySQL's I/O thread; clock skew between the source,
 * which stamps the commits, and CloudWatch is assumed small).
 *
 * Only a promotion loses data: nothing promoted, no estimate.
 */
import type { GroupConfig } from './config';
import { chosenReplica } from './candidates';
import { clock } from './replica-lag';
import type { WorkflowState } from './workflow-state';

export interface WritesStopped {
  at: number;
  what: string;
  /** False when nothing confirmed that the old database stopped taking writes. */
  confirmed: boolean;
}

/**
 * When the old database stopped accepting writes, as far as the workflow knows it; null before any of it.
 * Only the database fence bounds every writer: the primary's stop does not stop the other clients of
 * the old database (a second app server, a cron host, a pool), which write until the database is
 * fenced. Executions recorded before the database was fenced have only the primary's stop, and say so.
 */
export function writesStoppedAt(state: WorkflowState): WritesStopped | null {
  const db = state.databaseFence;
  if (db?.confirmed && !db.dryRun && db.method !== 'attested') {
    const at = db.confirmedAt ?? db.endedAt;
    if (at !== undefined) {
      const how = db.method === 'none' ? `found ${db.status}, which takes no writes` : 'confirmed fenced (deny-all security group, rebooted)';
      return { at, what: `the old database ${db.id} was ${how}`, confirmed: true };
    }
  }
  const fence = state.fence;
  if (!db && fence?.confirmed && !fence.dryRun && fence.method !== 'isolate' && fence.endedAt !== undefined) {
    return {
      at: fence.endedAt,
      what: `the primary ${fence.instanceId} was confirmed ${fence.state} (recorded before the old database was fenced: other clients of it are not counted)`,
      confirmed: true,
    };
  }
  if (state.promote && !state.promote.dryRun) {
    const why = db?.method === 'attested'
      ? `the old database ${db.id} was not confirmed fenced (an operator attested it)`
      : fence?.method === 'isolate' ? `the primary ${fence.instanceId} was isolated, not stopped, and keeps the connections it had` : 'nothing confirmed that the old database stopped taking writes';
    return { at: state.promote.startedAt, what: `replication ended (PromoteReadReplica); ${why}, so writes it accepted after then are not counted`, confirmed: false };
  }
  return null;
}

export interface DataLossEstimate {
  /** Seconds of writes that may be lost; null when nothing was promoted or nothing bounds it. */
  estimatedSeconds: number | null;
  /** The estimate and its basis, as one sentence. */
  reason: string;
  /** Epoch ms: the replica had every write up to here (the bound used). */
  replicatedThrough: number | null;
  writesStoppedAt: number | null;
}

export function estimateDataLoss(state: WorkflowState, group: GroupConfig): DataLossEstimate {
  const promoted = state.promote?.confirmed === true && !state.plan.dryRun;
  if (!promoted) {
    return { estimatedSeconds: null, reason: state.plan.dryRun ? 'none: a dry run promotes nothing' : 'none: nothing was promoted', replicatedThrough: null, writesStoppedAt: null };
  }
  if (state.assess && !state.assess.candidates) {
    // An execution assessed by an earlier version of the controller: it recorded only the lag it saw.
    const lag = state.assess.lagSeconds;
    return {
      estimatedSeconds: lag,
      reason: lag === null ? 'unknown: no ReplicaLag datapoint' : 'the replica lag when assessed, recorded by an earlier version that did not bound the loss',
      replicatedThrough: null,
      writesStoppedAt: null,
    };
  }
  const chosen = chosenReplica(group, state);
  const assessed = state.assess?.candidates?.find((c) => c.id === chosen.dbInstanceIdentifier && c.region === chosen.region);
  const bounds = [
    { through: assessed?.replicatedThrough ?? null, basis: assessed?.basis },
    { through: state.promote?.replicatedThrough ?? null, basis: state.promote?.replicationBasis },
  ].filter((b): b is { through: number; basis: string } => b.through !== null && b.basis !== undefined);
  const best = bounds.reduce<{ through: number; basis: string } | undefined>((a, b) => (!a || b.through > a.through ? b : a), undefined);
  const stop = writesStoppedAt(state);
  if (!best || !stop) {
    const why = assessed?.basis ?? state.promote?.replicationBasis ?? `no datapoint bounds what ${chosen.dbInstanceIdentifier} had replicated`;
    return { estimatedSeconds: null, reason: `unknown: ${why}`, replicatedThrough: null, writesStoppedAt: stop?.at ?? null };
  }
  const seconds = Math.max(0, Math.ceil((stop.at - best.through) / 1000));
  const reason =
    `at most ${seconds} s of writes, those committed between ${clock(best.through)} and ${clock(stop.at)}: ${best.basis}; ${stop.what}` +
    (stop.confirmed ? ' (the source may have stopped earlier: the workflow only knows when that was confirmed)' : '');
  return { estimatedSeconds: seconds, reason, replicatedThrough: best.through, writesStoppedAt: stop.at };
}
