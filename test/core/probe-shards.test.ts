/**
 * What the probe shards' heartbeats tell a reader (readiness, `failoverctl status`) about a group's last
 * round, next to its own counters.
 */
import { describe, expect, it } from 'vitest';
import { PROBES_PER_INVOCATION, shardGroups, withHeartbeat, type ProbeHeartbeat } from '../../lambdas/core/probe-shards';

const T0 = Date.parse('2026-01-01T00:00:00Z');

describe('shardGroups', () => {
  it('deals 250 one-probe groups into shards of at most PROBES_PER_INVOCATION, each group in one', () => {
    const groups = Array.from({ length: 250 }, (_, i) => ({ name: `svc-${i}`, probes: [1] }));
    const shards = shardGroups([...groups, { name: 'manual', probes: [] }]);
    expect(shards.length).toBe(Math.ceil(250 / PROBES_PER_INVOCATION));
    expect(shards.every((s) => s.length <= PROBES_PER_INVOCATION)).toBe(true);
    expect(shards.flat().map((g) => g.name).sort()).toEqual(groups.map((g) => g.name).sort());
  });
});

describe('withHeartbeat', () => {
  const stored = { consecutiveFailures: 0, outageStartedAt: null, lastSuccessAt: T0, lastRoundAt: T0, lastRound: { failed: false, reason: 'passed' } };
  const beat = (passed: Record<string, number>, shard = 0): ProbeHeartbeat => ({ shard, of: 2, at: T0 + 330_000, passed });

  it('the group\'s own time in a later heartbeat is its last round and last success, whichever shard wrote it', () => {
    expect(withHeartbeat('orders', stored, [beat({ orders: T0 + 300_000, slow: T0 + 270_000 })])).toMatchObject({ consecutiveFailures: 0, lastRoundAt: T0 + 300_000, lastSuccessAt: T0 + 300_000 });
    expect(withHeartbeat('slow', undefined, [beat({ billing: T0 + 1 }), beat({ slow: T0 + 270_000 }, 1)])?.lastRoundAt).toBe(T0 + 270_000);
  });

  it('says nothing of a group no heartbeat names, nor when the group\'s own round is later (a failure written since)', () => {
    expect(withHeartbeat('orders', stored, [beat({ billing: T0 + 300_000 })])).toBe(stored);
    expect(withHeartbeat('orders', stored, [])).toBe(stored);
    const failing = { ...stored, consecutiveFailures: 2, lastRoundAt: T0 + 400_000, lastRound: { failed: true, reason: 'round failed' } };
    expect(withHeartbeat('orders', failing, [beat({ orders: T0 + 300_000 })])).toBe(failing);
  });
});
