/**
 * Finding a group's probe shard from the config, and what its shard's heartbeat tells a reader
 * (readiness, `failoverctl status`) about the group's last round.
 */
import { describe, expect, it } from 'vitest';
import { PROBES_PER_INVOCATION, shardGroups, shardOfGroup, withHeartbeat, type ProbeHeartbeat } from '../../lambdas/core/probe-shards';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const groups = Array.from({ length: 250 }, (_, i) => ({ name: `svc-${i}`, probes: [1] }));

describe('shardOfGroup', () => {
  it('finds the shard the probe function deals the group into, and none for a group without probes', () => {
    const shards = shardGroups(groups);
    expect(shards.length).toBe(Math.ceil(250 / PROBES_PER_INVOCATION));
    for (const name of ['svc-0', 'svc-1', 'svc-249']) {
      const shard = shardOfGroup(groups, name)!;
      expect(shard.of).toBe(shards.length);
      expect(shards[shard.index].map((g) => g.name)).toContain(name);
    }
    expect(shardOfGroup([...groups, { name: 'manual', probes: [] }], 'manual')).toBeUndefined();
  });
});

describe('withHeartbeat', () => {
  const shard = { index: 1, of: 2 };
  const stored = { consecutiveFailures: 0, outageStartedAt: null, lastSuccessAt: T0, lastRoundAt: T0, lastRound: { failed: false, reason: 'passed' } };
  const beat = (b: Partial<ProbeHeartbeat>): ProbeHeartbeat => ({ shard: 1, of: 2, at: T0 + 300_000, passed: ['orders'], ...b });

  it('a later heartbeat that names the group is its last round and last success', () => {
    expect(withHeartbeat('orders', stored, beat({}), shard)).toMatchObject({ consecutiveFailures: 0, lastRoundAt: T0 + 300_000, lastSuccessAt: T0 + 300_000 });
    expect(withHeartbeat('orders', undefined, beat({}), shard)?.lastRoundAt).toBe(T0 + 300_000);
  });

  it('says nothing of a group it does not name, of another split of the groups, or when older than the group\'s own round', () => {
    expect(withHeartbeat('orders', stored, beat({ passed: ['billing'] }), shard)).toBe(stored);
    expect(withHeartbeat('orders', stored, beat({ of: 3 }), shard)).toBe(stored);
    expect(withHeartbeat('orders', stored, beat({ shard: 0 }), shard)).toBe(stored);
    const failing = { ...stored, consecutiveFailures: 2, lastRoundAt: T0 + 400_000, lastRound: { failed: true, reason: 'round failed' } };
    expect(withHeartbeat('orders', failing, beat({}), shard)).toBe(failing);
    expect(withHeartbeat('orders', stored, undefined, shard)).toBe(stored);
  });
});
