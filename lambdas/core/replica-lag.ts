/**
 * What RDS's replication signals mean, per engine, and the pure judgements the controller builds on
 * them: the RPO gate (`judgeLag`, `judgeReplicationStatus`), the lower bound of what a replica has
 * replicated (`replicationBound`, the base of the data-loss estimate) and "caught up" (`caughtUp`, the
 * switchover's wait). No I/O: lambdas/steps/assess-replica.ts reads the datapoints.
 *
 * The facts, with their sources (RDS User Guide pages named by their doc id):
 *
 * - CloudWatch datapoints. "Amazon RDS automatically sends metrics to CloudWatch every minute" (RDS UG,
 *   monitoring overview): a datapoint of Period 60 covers one minute and is timestamped at the minute's
 *   start; the sample inside it was taken at some time in that minute. How late datapoints arrive is NOT
 *   documented (the drill's simulator uses 60 to 180 s). So the newest datapoint is never "now": every
 *   judgement here uses the datapoint's own minute, and only minutes that ended before the outage began
 *   count as "before the outage".
 * - PostgreSQL ReplicaLag = `now() - pg_last_xact_replay_timestamp()` on the replica
 *   (USER_PostgreSQL.Replication.ReadReplicas.Monitor): time since the last replayed COMMIT, not delay.
 *   Once the source stops sending it grows by 1 s per second (from the formula; RDS does not say so for a
 *   dead source), and on an idle but healthy source it climbs to about 300 s and drops, because "RDS for
 *   PostgreSQL switches the WAL segment every 5 minutes, which results in a transaction record"
 *   (USER_PostgreSQL.Replication.ReadReplicas, limitations). So a PostgreSQL replica is judged by its
 *   datapoints from before the outage, and a high value is weighed against two better signals:
 *     - the source's `OldestReplicationSlotLag` (bytes, dimension = the source; "the lagging size of the
 *       replica lagging the most in terms of WAL data received", rds-metrics): 0 means every replica with a
 *       slot had received all of the source's WAL at that sample. RDS gives a replica a slot for
 *       cross-Region replicas on every version and for in-Region replicas from 14.1
 *       (USER_PostgreSQL.Replication.ReadReplicas.Mechanisms-versions); for an in-Region replica of an
 *       older (or unreported) version a 0 says nothing about it, so it is not used;
 *     - the saw-tooth: a lag that dropped within the 10 minutes before the outage, whose lowest sample is
 *       within maxLagSeconds + 60 s (one sample interval after a replayed commit) and whose latest is
 *       within 300 + 60 s, is an idle source, not a replica falling behind (a replica D s behind never
 *       samples below D).
 *   A value is also a bound: a sample L taken at s >= the minute's start t means the replica had replayed
 *   every commit up to s - L >= t - L. That holds before and after the outage (after it, t - L stays put
 *   while L grows), so every datapoint narrows the bound; OldestReplicationSlotLag 0 in minute t means
 *   everything up to t had been received, and a promotion replays what was received.
 * - MySQL and MariaDB ReplicaLag = `Seconds_Behind_Master`; "-1 means replication is not active"
 *   (USER_MySQL.Replication.ReadReplicas.Monitor, USER_MariaDB.Replication.ReadReplicas.Monitor). The
 *   MySQL manual (SHOW REPLICA STATUS) says it measures the SQL thread against the I/O thread, "useful
 *   only for fast networks": a replica whose I/O thread is late can read 0. The bound t - L therefore
 *   assumes the I/O thread was receiving the binary log as it was written, and says so.
 * - StatusInfos of type 'read replication' (API DBInstanceStatusInfo; USER_ReadRepl.Monitoring):
 *   replicating, replication degraded, error, stopped (MySQL/MariaDB, on request), terminated (stopped
 *   for more than 30 days), replication stop point set/reached (mysql.rds_start_replication_until). It is
 *   the status NOW, after the outage: stopped, terminated and a stop point are not what an outage of a
 *   few minutes causes, so they abort; error and degraded may be what the source's outage caused (RDS
 *   does not document what a replica reports when its source dies), so they abort only when the
 *   datapoints from before the outage do not show the replica healthy.
 */
import type { ReplicaView } from './workflow-state';

/** One CloudWatch datapoint (Period 60): the minute's start, its Maximum and Minimum. */
export interface LagPoint {
  at: number;
  max: number;
  min: number;
}

/** The source's OldestReplicationSlotLag (bytes) for one minute: its start and Maximum. */
export interface SlotPoint {
  at: number;
  max: number;
}

/** The source's OldestReplicationSlotLag as read for a PostgreSQL replica. */
export interface SlotReading {
  sourceId: string;
  sourceRegion: string;
  /** Whether a 0 proves that this replica had received everything (it has a replication slot). */
  trusted: boolean;
  /** Why it is (not) trusted, or what could not be read. */
  note: string;
  points: SlotPoint[];
}

/** What was read about one replica. */
export interface LagObservation {
  replica: Pick<ReplicaView, 'id' | 'engine'>;
  lag: LagPoint[];
  slot?: SlotReading;
}

export type EngineFamily = 'postgres' | 'mysql' | 'other';

export const MINUTE_MS = 60_000;
/** How old the latest datapoint before the outage may be: its minute ended at most this long before it. */
export const MAX_DATAPOINT_AGE_MS = 5 * MINUTE_MS;
/** The window before the outage in which a trend or a saw-tooth is looked for. */
export const TREND_WINDOW_MS = 10 * MINUTE_MS;
/** How far before the outage the controller reads, so a stale datapoint can be named. */
export const LOOKBACK_MS = 15 * MINUTE_MS;
/** RDS for PostgreSQL's WAL switch on an idle source, in seconds. */
export const PG_WAL_SWITCH_SECONDS = 300;

export function engineFamily(engine: string | undefined): EngineFamily {
  if (engine?.startsWith('postgres')) return 'postgres';
  if (engine?.startsWith('mysql') || engine?.startsWith('mariadb')) return 'mysql';
  return 'other';
}

/**
 * Whether the source's OldestReplicationSlotLag covers this PostgreSQL replica: a cross-Region replica,
 * or an in-Region one from 14.1 (USER_PostgreSQL.Replication.ReadReplicas.Mechanisms-versions).
 */
export function slotLagCovers(replica: { region: string; engineVersion?: string }, sourceRegion: string): { trusted: boolean; note: string } {
  if (sourceRegion !== replica.region) return { trusted: true, note: 'a cross-Region replica has a replication slot on its source' };
  const m = /^(\d+)(?:\.(\d+))?/.exec(replica.engineVersion ?? '');
  if (m && (Number(m[1]) > 14 || (Number(m[1]) === 14 && Number(m[2] ?? 0) >= 1))) {
    return { trusted: true, note: `an in-Region replica of PostgreSQL ${replica.engineVersion} (14.1 or later) has a replication slot on its source` };
  }
  return {
    trusted: false,
    note: `not used: an in-Region replica of PostgreSQL ${replica.engineVersion ?? '(version not reported)'} may have no replication slot before 14.1, so a 0 would not cover it`,
  };
}

export interface LagVerdict {
  /** The replica passes the gate on its datapoints. */
  pass: boolean;
  reason: string;
  /** The ReplicaLag judged (the latest datapoint before the outage); null when none fresh. */
  lagSeconds: number | null;
}

/**
 * The RPO gate on the datapoints: the replica as it was before `outageStartedAt`. Aborts (pass false)
 * when no fresh datapoint exists, when a MySQL/MariaDB replica's replication was not running, or when the
 * lag was above maxLagSeconds or climbing towards it, unless (PostgreSQL) a better signal explains it.
 */
export function judgeLag(obs: LagObservation, outageStartedAt: number, maxLagSeconds: number): LagVerdict {
  const family = engineFamily(obs.replica.engine);
  const id = obs.replica.id;
  const outage = `the outage began at ${clock(outageStartedAt)}`;
  const before = beforeOutage(obs.lag, outageStartedAt);
  if (before.length === 0) {
    const after = obs.lag.length > 0 ? ` (${obs.lag.length} from after it)` : '';
    return { pass: false, lagSeconds: null, reason: `no ReplicaLag datapoint for ${id} in the ${LOOKBACK_MS / MINUTE_MS} minutes before ${outage}${after}, so its lag then is unknown` };
  }
  const latest = before[before.length - 1];
  const age = outageStartedAt - (latest.at + MINUTE_MS);
  if (age > MAX_DATAPOINT_AGE_MS) {
    return {
      pass: false,
      lagSeconds: null,
      reason: `the latest ReplicaLag datapoint for ${id} before ${outage} is the minute from ${clock(latest.at)}, ${span(age)} older than the outage (at most ${MAX_DATAPOINT_AGE_MS / 1000} s), so its lag then is unknown`,
    };
  }
  const seen = `in the minute from ${clock(latest.at)}`;
  if (family === 'mysql' && latest.min < 0) {
    return {
      pass: false,
      lagSeconds: -1,
      reason: `replication was not running on ${id}: ReplicaLag -1 (Seconds_Behind_Master NULL) ${seen}, before ${outage}`,
    };
  }
  const window = before.filter((p) => p.at + MINUTE_MS > outageStartedAt - TREND_WINDOW_MS && p.min >= 0);
  const trend = climbing(window);
  const lag = round(latest.max);
  if (latest.max > maxLagSeconds) {
    if (family === 'postgres') {
      const explained = idlePostgres(obs, window, latest, outageStartedAt, maxLagSeconds);
      if (explained.pass) return { pass: true, lagSeconds: lag, reason: explained.reason ?? '' };
      const note = explained.reason ? `; ${explained.reason}` : '';
      return { pass: false, lagSeconds: lag, reason: `${behind(id, trend, outage) ?? `replica lag ${lag} s of ${id} ${seen}`} exceeds maxLagSeconds ${maxLagSeconds} s${note}` };
    }
    return { pass: false, lagSeconds: lag, reason: `${behind(id, trend, outage) ?? `replica lag ${lag} s of ${id} ${seen}`} exceeds maxLagSeconds ${maxLagSeconds} s` };
  }
  if (family !== 'postgres' && trend && window.length >= 3) {
    // On MySQL a climbing Seconds_Behind_Master is the replica falling behind; where it was heading by
    // the outage counts. (On PostgreSQL a climb below 300 s is what an idle source looks like.)
    const rate = (trend.last.max - trend.first.max) / (trend.last.at - trend.first.at);
    const projected = round(latest.max + rate * (outageStartedAt - latest.at));
    if (projected > maxLagSeconds) {
      return { pass: false, lagSeconds: lag, reason: `${behind(id, trend, outage)}, about ${projected} s by then at that rate, above maxLagSeconds ${maxLagSeconds} s` };
    }
  }
  return { pass: true, lagSeconds: lag, reason: `ReplicaLag ${lag} s ${seen}, ${span(age)} before ${outage}, within maxLagSeconds ${maxLagSeconds} s` };
}

/** A PostgreSQL lag above maxLagSeconds that an idle source explains: OldestReplicationSlotLag 0, or the saw-tooth. */
function idlePostgres(obs: LagObservation, window: LagPoint[], latest: LagPoint, outageStartedAt: number, maxLagSeconds: number): { pass: boolean; reason?: string } {
  const lag = round(latest.max);
  const seen = `ReplicaLag ${lag} s in the minute from ${clock(latest.at)} is the time since ${obs.replica.id} last replayed a commit, not its delay`;
  const slot = obs.slot;
  let slotNote: string | undefined;
  if (slot?.trusted) {
    const points = beforeOutage(slot.points, outageStartedAt);
    const last = points[points.length - 1];
    if (last && outageStartedAt - (last.at + MINUTE_MS) <= MAX_DATAPOINT_AGE_MS) {
      if (last.max === 0) {
        return {
          pass: true,
          reason: `${seen}: the source ${slot.sourceId}'s OldestReplicationSlotLag was 0 bytes in the minute from ${clock(last.at)}, so it had received all of the source's WAL`,
        };
      }
      // WAL the replica had not received: the idle explanation does not hold.
      return { pass: false, reason: `the source ${slot.sourceId}'s OldestReplicationSlotLag was ${last.max} bytes in the minute from ${clock(last.at)}` };
    }
    slotNote = `no OldestReplicationSlotLag datapoint of ${slot.sourceId} within ${MAX_DATAPOINT_AGE_MS / 1000} s before the outage`;
  } else if (slot) {
    slotNote = `OldestReplicationSlotLag ${slot.note}`;
  }
  const dropped = window.some((p, i) => i > 0 && p.max < window[i - 1].max);
  const lowest = Math.min(...window.map((p) => p.max));
  if (dropped && lowest <= maxLagSeconds + 60 && latest.max <= PG_WAL_SWITCH_SECONDS + 60) {
    return {
      pass: true,
      reason:
        `source idle: ReplicaLag of ${obs.replica.id} saw-tooths between ${round(lowest)} s and ${round(Math.max(...window.map((p) => p.max)))} s in the ${TREND_WINDOW_MS / MINUTE_MS} minutes before the outage ` +
        `(RDS switches WAL every ${PG_WAL_SWITCH_SECONDS / 60} minutes on an idle PostgreSQL source), lowest ${round(lowest)} s within maxLagSeconds ${maxLagSeconds} s + 60 s`,
    };
  }
  return { pass: false, reason: slotNote };
}

/** `orders-replica is falling behind: lag climbing 12 s → 540 s over 10 min before the outage began at …` */
function behind(id: string, trend: ReturnType<typeof climbing>, outage: string): string | undefined {
  if (!trend) return undefined;
  return `${id} was falling behind: lag climbing ${round(trend.first.max)} s → ${round(trend.last.max)} s over ${span(trend.last.at + MINUTE_MS - trend.first.at)} before ${outage}`;
}

/** A non-decreasing run over the whole window that ends higher than it started. */
function climbing(window: LagPoint[]): { first: LagPoint; last: LagPoint } | undefined {
  if (window.length < 2) return undefined;
  const first = window[0];
  const last = window[window.length - 1];
  const rising = window.every((p, i) => i === 0 || p.max >= window[i - 1].max);
  return rising && last.max > first.max ? { first, last } : undefined;
}

export type StatusJudgement = { kind: 'ok' | 'blocking' | 'suspect'; text: string };

/** The replica's read replication status (now): see the module comment for why error is only suspect. */
export function judgeReplicationStatus(replica: Pick<ReplicaView, 'id' | 'replication'>): StatusJudgement {
  const r = replica.replication;
  if (!r) return { kind: 'ok', text: 'no read replication status reported' };
  const text = `the read replication status of ${replica.id} is ${r.status}${r.message ? ` (${r.message})` : ''}`;
  if (r.status === 'replicating' && r.normal) return { kind: 'ok', text };
  if (['stopped', 'terminated', 'replication stop point set', 'replication stop point reached'].includes(r.status)) return { kind: 'blocking', text };
  return { kind: 'suspect', text };
}

export interface ReplicationBound {
  /** Epoch ms: every write committed up to here is on the replica; null when no datapoint bounds it. */
  through: number | null;
  basis: string;
}

/**
 * The lower bound of the replica's replicated position from every datapoint read (optionally only
 * minutes that began before `until`): max over ReplicaLag datapoints of (minute start − lag), and, for a
 * PostgreSQL replica whose slot is covered, the start of any minute in which the source's
 * OldestReplicationSlotLag was 0. MySQL -1 minutes say nothing and are skipped.
 */
export function replicationBound(obs: LagObservation, until = Infinity): ReplicationBound {
  const family = engineFamily(obs.replica.engine);
  const id = obs.replica.id;
  let best: { through: number; basis: string } | undefined;
  for (const p of obs.lag) {
    if (p.at >= until || p.min < 0) continue;
    const through = p.at - Math.ceil(p.max * 1000);
    if (!best || through > best.through) {
      best = { through, basis: `ReplicaLag ${round(p.max)} s in the minute from ${clock(p.at)}: ${id} had ${family === 'postgres' ? 'replayed every commit' : 'applied every write'} up to ${clock(through)}` };
    }
  }
  if (obs.slot?.trusted) {
    for (const p of obs.slot.points) {
      if (p.at >= until || p.max !== 0) continue;
      if (!best || p.at > best.through) {
        best = { through: p.at, basis: `the source ${obs.slot.sourceId}'s OldestReplicationSlotLag was 0 bytes in the minute from ${clock(p.at)}: ${id} had received every write up to then` };
      }
    }
  }
  if (!best) {
    return { through: null, basis: `no ReplicaLag datapoint${obs.slot?.trusted ? ' and no OldestReplicationSlotLag of 0' : ''} bounds what ${id} had replicated` };
  }
  const caveat =
    family === 'mysql'
      ? " (assumes its I/O thread was receiving the source's binary log as it was written: Seconds_Behind_Master does not see a late I/O thread)"
      : family === 'other'
        ? ' (assumes ReplicaLag is the time the replica is behind its source)'
        : '';
  return { through: best.through, basis: `${best.basis}${caveat}` };
}

/**
 * Whether the replica has every write made before `stoppedAt` (when the writers were stopped): its
 * replicated-through bound reached it. On PostgreSQL the lag never returns to 0 once writes stop (it
 * grows), so only OldestReplicationSlotLag 0 in a minute after the stop, or a commit replayed from after
 * it (RDS's own, at its WAL switch), can say so; on MySQL, Seconds_Behind_Master 0 in a minute after the stop.
 */
export function caughtUp(obs: LagObservation, stoppedAt: number): { caughtUp: boolean; reason: string; bound: ReplicationBound } {
  const bound = replicationBound(obs);
  const id = obs.replica.id;
  if (bound.through !== null && bound.through >= stoppedAt) {
    return { caughtUp: true, bound, reason: `${id} has every write made before ${clock(stoppedAt)}: ${bound.basis}` };
  }
  const known = bound.through === null ? bound.basis : `it is known to have replicated up to ${clock(bound.through)}`;
  const pg = engineFamily(obs.replica.engine) === 'postgres' ? ' (its ReplicaLag grows once writes stop: only OldestReplicationSlotLag 0 or a commit replayed after the stop can show it caught up)' : '';
  return { caughtUp: false, bound, reason: `${id} is not yet shown to have every write made before ${clock(stoppedAt)}: ${known}${pg}` };
}

/** Datapoints whose minute ended at or before `t`, oldest first. */
function beforeOutage<P extends { at: number }>(points: P[], t: number): P[] {
  return points.filter((p) => p.at + MINUTE_MS <= t).sort((a, b) => a.at - b.at);
}

const round = (v: number) => Math.round(v * 10) / 10;

/** 12:01:30Z */
export function clock(ms: number): string {
  const iso = new Date(ms).toISOString();
  return `${iso.slice(11, 19)}Z`;
}

/** 45 s, 3 min 20 s, 10 min */
export function span(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s} s`;
  const m = Math.floor(s / 60);
  return s % 60 === 0 ? `${m} min` : `${m} min ${s % 60} s`;
}
