/**
 * The per-engine semantics of RDS's replication signals (lambdas/core/replica-lag.ts): the gate judges
 * the replica as it was before the outage began, and every datapoint bounds what the replica had. Each
 * case is named after what it stands for and asserts the sentence a user reads.
 */
import { describe, expect, it } from 'vitest';
import { caughtUp, judgeLag, judgeReplicationStatus, replicationBound, slotLagCovers, type LagObservation, type LagPoint, type SlotReading } from '../../lambdas/core/replica-lag';

/** 12:00:00Z; the outage began at 11:59:30Z, so the last minute judged is the one from 11:58:00Z. */
const T0 = Date.parse('2026-03-01T12:00:00.000Z');
const OUTAGE = T0 - 30_000;
const minute = (m: number) => T0 + m * 60_000;

/** One datapoint a minute, the first at minute `from` (relative to 12:00), one sample each (Maximum = Minimum). */
function points(from: number, values: number[]): LagPoint[] {
  return values.map((v, i) => ({ at: minute(from + i), max: v, min: v }));
}

const pg = (lag: LagPoint[], slot?: SlotReading): LagObservation => ({ replica: { id: 'orders-replica', engine: 'postgres' }, lag, ...(slot ? { slot } : {}) });
const mysql = (lag: LagPoint[]): LagObservation => ({ replica: { id: 'orders-replica', engine: 'mysql' }, lag });
const slot = (values: number[], from = -11, trusted = true): SlotReading => ({
  sourceId: 'orders-primary-db',
  sourceRegion: 'us-east-1',
  trusted,
  note: trusted ? 'a cross-Region replica has a replication slot on its source' : 'not used: an in-Region replica of PostgreSQL 13.7 may have no replication slot before 14.1, so a 0 would not cover it',
  points: values.map((v, i) => ({ at: minute(from + i), max: v })),
});

describe('judgeLag: the RPO gate, on the datapoints from before the outage', () => {
  const cases: Array<[string, LagObservation, boolean, string]> = [
    [
      'PostgreSQL, source died: the lag after the outage grows, the lag before it counts',
      // 1 s until 11:58; the minutes from 11:59 and 12:00 show the growth RDS reports once nothing arrives.
      pg([...points(-11, Array(10).fill(1)), ...points(-1, [31, 91])]),
      true,
      'ReplicaLag 1 s in the minute from 11:58:00Z, 30 s before the outage began at 11:59:30Z, within maxLagSeconds 30 s',
    ],
    [
      'datapoints arriving three minutes late: the latest before the outage is older, still fresh',
      pg(points(-11, Array(8).fill(2))),
      true,
      'ReplicaLag 2 s in the minute from 11:56:00Z, 2 min 30 s before the outage began at 11:59:30Z, within maxLagSeconds 30 s',
    ],
    [
      'no datapoint at all',
      pg([]),
      false,
      'no ReplicaLag datapoint for orders-replica in the 15 minutes before the outage began at 11:59:30Z, so its lag then is unknown',
    ],
    [
      'only datapoints from after the outage',
      pg(points(-1, [31, 91])),
      false,
      'no ReplicaLag datapoint for orders-replica in the 15 minutes before the outage began at 11:59:30Z (2 from after it), so its lag then is unknown',
    ],
    [
      'only stale datapoints',
      pg(points(-14, [1, 1, 1, 1])),
      false,
      'the latest ReplicaLag datapoint for orders-replica before the outage began at 11:59:30Z is the minute from 11:49:00Z, 9 min 30 s older than the outage (at most 300 s), so its lag then is unknown',
    ],
    [
      'MySQL, replication not running (-1)',
      mysql(points(-11, [0, 0, 0, 0, 0, 0, 0, -1, -1, -1])),
      false,
      'replication was not running on orders-replica: ReplicaLag -1 (Seconds_Behind_Master NULL) in the minute from 11:58:00Z, before the outage began at 11:59:30Z',
    ],
    [
      'MySQL, replication stopped earlier and resumed: the latest minute counts',
      mysql(points(-11, [-1, -1, 3, 1, 0, 0, 0, 0, 0, 0])),
      true,
      'ReplicaLag 0 s in the minute from 11:58:00Z, 30 s before the outage began at 11:59:30Z, within maxLagSeconds 30 s',
    ],
    [
      'MySQL, lag climbing for 10 minutes before the outage',
      mysql(points(-11, [12, 70, 130, 190, 250, 310, 370, 430, 490, 540])),
      false,
      'orders-replica was falling behind: lag climbing 12 s → 540 s over 10 min before the outage began at 11:59:30Z exceeds maxLagSeconds 30 s',
    ],
    [
      'MySQL, lag climbing, still within maxLagSeconds at the last datapoint but past it by the outage',
      mysql(points(-11, [3, 6, 9, 12, 15, 18, 21, 24, 27, 30])),
      false,
      'orders-replica was falling behind: lag climbing 3 s → 30 s over 10 min before the outage began at 11:59:30Z, about 34.5 s by then at that rate, above maxLagSeconds 30 s',
    ],
    [
      'MySQL, lag above maxLagSeconds, not a trend',
      mysql(points(-5, [50, 40, 45, 42])),
      false,
      'replica lag 42 s of orders-replica in the minute from 11:58:00Z exceeds maxLagSeconds 30 s',
    ],
    [
      'PostgreSQL, idle source: the lag saw-tooths up to about 300 s (RDS switches WAL every 5 minutes)',
      pg(points(-11, [200, 260, 20, 80, 140, 200, 260, 20, 80, 140])),
      true,
      'source idle: ReplicaLag of orders-replica saw-tooths between 20 s and 260 s in the 10 minutes before the outage (RDS switches WAL every 5 minutes on an idle PostgreSQL source), lowest 20 s within maxLagSeconds 30 s + 60 s',
    ],
    [
      'PostgreSQL, idle source, and the source says the replica had received all WAL',
      pg(points(-11, [200, 260, 290, 20, 80, 140, 200, 260, 290, 140]), slot(Array(10).fill(0))),
      true,
      "ReplicaLag 140 s in the minute from 11:58:00Z is the time since orders-replica last replayed a commit, not its delay: the source orders-primary-db's OldestReplicationSlotLag was 0 bytes in the minute from 11:58:00Z, so it had received all of the source's WAL",
    ],
    [
      'PostgreSQL, high lag and WAL the replica had not received',
      pg(points(-11, [200, 260, 20, 80, 140, 200, 260, 20, 80, 140]), slot(Array(10).fill(81920))),
      false,
      "replica lag 140 s of orders-replica in the minute from 11:58:00Z exceeds maxLagSeconds 30 s; the source orders-primary-db's OldestReplicationSlotLag was 81920 bytes in the minute from 11:58:00Z",
    ],
    [
      'PostgreSQL, lag climbing without a drop for 10 minutes: replay stalled, not an idle source',
      pg(points(-11, [60, 120, 180, 240, 300, 360, 420, 480, 540, 600]), slot([], -11, false)),
      false,
      'orders-replica was falling behind: lag climbing 60 s → 600 s over 10 min before the outage began at 11:59:30Z exceeds maxLagSeconds 30 s; OldestReplicationSlotLag not used: an in-Region replica of PostgreSQL 13.7 may have no replication slot before 14.1, so a 0 would not cover it',
    ],
    [
      'PostgreSQL, a replica steadily 150 s behind: drops, but never below its delay',
      pg(points(-11, [150, 160, 152, 170, 151, 160, 150, 165, 150, 170])),
      false,
      'replica lag 170 s of orders-replica in the minute from 11:58:00Z exceeds maxLagSeconds 30 s',
    ],
  ];

  it.each(cases)('%s', (_, observation, pass, reason) => {
    // Act
    const verdict = judgeLag(observation, OUTAGE, 30);

    // Assert
    expect({ pass: verdict.pass, reason: verdict.reason }).toEqual({ pass, reason });
  });

  it('reports the lag it judged, -1 included', () => {
    expect(judgeLag(pg(points(-3, [1, 2.04])), OUTAGE, 30).lagSeconds).toBe(2);
    expect(judgeLag(mysql(points(-3, [0, -1])), OUTAGE, 30).lagSeconds).toBe(-1);
    expect(judgeLag(pg([]), OUTAGE, 30).lagSeconds).toBeNull();
  });
});

describe('judgeReplicationStatus: StatusInfos is the status now, after the outage', () => {
  const status = (s: string, normal = true, message?: string) => judgeReplicationStatus({ id: 'orders-replica', replication: { status: s, normal, ...(message ? { message } : {}) } });

  it('replicating is ok; none reported is ok', () => {
    expect(status('replicating').kind).toBe('ok');
    expect(judgeReplicationStatus({ id: 'orders-replica' })).toEqual({ kind: 'ok', text: 'no read replication status reported' });
  });

  it.each(['stopped', 'terminated', 'replication stop point set', 'replication stop point reached'])('%s blocks: an outage of minutes does not cause it', (s) => {
    expect(status(s, false)).toEqual({ kind: 'blocking', text: `the read replication status of orders-replica is ${s}` });
  });

  it('error and replication degraded are suspect: the source going away may have caused them', () => {
    expect(status('error', false, 'Replication has stopped')).toEqual({ kind: 'suspect', text: 'the read replication status of orders-replica is error (Replication has stopped)' });
    expect(status('replication degraded', false).kind).toBe('suspect');
  });
});

describe('replicationBound: what the replica had, from every datapoint', () => {
  it('PostgreSQL: minute start minus lag; after the source died the bound stays put while the lag grows', () => {
    const bound = replicationBound(pg([...points(-3, [1, 1]), ...points(-1, [31, 91])]));

    // 11:58:00 − 1 s = 11:57:59; 11:59:00 − 31 s = 11:58:29; 12:00:00 − 91 s = 11:58:29.
    expect(bound).toEqual({
      through: minute(-1) - 31_000,
      basis: 'ReplicaLag 31 s in the minute from 11:59:00Z: orders-replica had replayed every commit up to 11:58:29Z',
    });
  });

  it('PostgreSQL, idle: OldestReplicationSlotLag 0 says more than the saw-tooth', () => {
    const bound = replicationBound(pg(points(-3, [200, 260, 290]), slot([0, 0, 0], -3)));

    expect(bound).toEqual({
      through: minute(-1),
      basis: "the source orders-primary-db's OldestReplicationSlotLag was 0 bytes in the minute from 11:59:00Z: orders-replica had received every write up to then",
    });
  });

  it('PostgreSQL: a slot lag that does not cover the replica is not used', () => {
    expect(replicationBound(pg(points(-3, [200]), slot([0, 0, 0], -3, false))).through).toBe(minute(-3) - 200_000);
  });

  it('MySQL: -1 minutes are skipped, and the bound says what it assumes', () => {
    const bound = replicationBound(mysql([...points(-3, [0]), ...points(-2, [-1, -1])]));

    expect(bound.through).toBe(minute(-3));
    expect(bound.basis).toBe(
      "ReplicaLag 0 s in the minute from 11:57:00Z: orders-replica had applied every write up to 11:57:00Z (assumes its I/O thread was receiving the source's binary log as it was written: Seconds_Behind_Master does not see a late I/O thread)",
    );
  });

  it('nothing bounds it without datapoints', () => {
    expect(replicationBound(pg([]))).toEqual({ through: null, basis: 'no ReplicaLag datapoint bounds what orders-replica had replicated' });
  });

  it('only minutes that began before `until` count', () => {
    expect(replicationBound(pg(points(-3, [1, 1, 1])), minute(-2)).through).toBe(minute(-3) - 1000);
  });
});

describe('caughtUp: has the replica every write made before the writers stopped?', () => {
  const STOP = minute(-5);

  it('PostgreSQL: never from ReplicaLag alone while it grows after the stop', () => {
    const result = caughtUp(pg(points(-5, [2, 62, 122, 182])), STOP);

    expect(result.caughtUp).toBe(false);
    expect(result.reason).toBe(
      'orders-replica is not yet shown to have every write made before 11:55:00Z: it is known to have replicated up to 11:54:58Z (its ReplicaLag grows once writes stop: only OldestReplicationSlotLag 0 or a commit replayed after the stop can show it caught up)',
    );
  });

  it('PostgreSQL: OldestReplicationSlotLag 0 in a minute from after the stop', () => {
    const result = caughtUp(pg(points(-5, [2, 62]), slot([4096, 0], -5)), STOP);

    expect(result).toMatchObject({ caughtUp: true, reason: expect.stringContaining("orders-replica has every write made before 11:55:00Z: the source orders-primary-db's OldestReplicationSlotLag was 0 bytes in the minute from 11:56:00Z") });
  });

  it('MySQL: Seconds_Behind_Master 0 in a minute from after the stop', () => {
    expect(caughtUp(mysql(points(-6, [3, 0])), STOP).caughtUp).toBe(true);
    expect(caughtUp(mysql(points(-6, [0, 3])), STOP).caughtUp).toBe(false);
  });
});

describe('slotLagCovers: does the source slot lag speak for this replica?', () => {
  it('a cross-Region replica: yes; in-Region from 14.1: yes; older or unknown in-Region: no', () => {
    expect(slotLagCovers({ region: 'us-west-2', engineVersion: '13.7' }, 'us-east-1').trusted).toBe(true);
    expect(slotLagCovers({ region: 'us-east-1', engineVersion: '14.1' }, 'us-east-1').trusted).toBe(true);
    expect(slotLagCovers({ region: 'us-east-1', engineVersion: '16.3' }, 'us-east-1').trusted).toBe(true);
    expect(slotLagCovers({ region: 'us-east-1', engineVersion: '13.7' }, 'us-east-1').trusted).toBe(false);
    expect(slotLagCovers({ region: 'us-east-1' }, 'us-east-1')).toEqual({
      trusted: false,
      note: 'not used: an in-Region replica of PostgreSQL (version not reported) may have no replication slot before 14.1, so a 0 would not cover it',
    });
  });
});
