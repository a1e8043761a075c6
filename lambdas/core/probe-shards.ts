/**
 * How the probed groups are dealt into probe shards, and what a shard's heartbeat says: shared by the
 * probe function (which probes a shard and writes its heartbeat), the stack (one schedule per shard)
 * and the readers of a group's last round (the readiness evaluation, `failoverctl status`), which find
 * the group's shard from the same config.
 */

/**
 * The budget of one probe invocation: at most this many probes. Each probe holds one socket for at most
 * its timeout, so an invocation never holds more sockets than this, far below the 1,024 file
 * descriptors Lambda gives an execution environment (Lambda Developer Guide, "Lambda quotas":
 * "File descriptors 1,024"), with room for the runtime's own and the SDK's connections. The CPU and
 * memory a round of this many probes takes at PROBE_MEMORY_MB are measured by `npm run bench`
 * (probeRound) and stated in docs/cost.md. More probes than this: more invocations (shards).
 */
export const PROBES_PER_INVOCATION = 200;

/**
 * The probe function's memory. Its vCPU share is memory / 1,769 MB (Lambda Developer Guide, "Configure
 * Lambda function memory": "at 1,769 MB, a function has the equivalent of one vCPU"): 256 MB is 0.145
 * vCPU. A round's probes are mostly CPU, not waiting, once they speak HTTPS: each new connection's TLS
 * handshake and certificate check takes about 2 ms of CPU here (`npm run bench`, 2026-12-05, on
 * Node 24), against 0.5 ms for plain HTTP. At 128 MB (0.072 vCPU) a shard's round of PROBES_PER_INVOCATION
 * HTTPS probes needed 73 to 101 % of its interval's CPU (more with endpoints failing), and ran as long as
 * its interval; at 256 MB it needs half, and its groups start twice as fast (SPREAD_PER_GROUP_MS in
 * lambdas/probe/run-probes.ts). Lambda prices a GB-second the same at any size, so a round bound by its
 * CPU costs the same at 256 MB as at 128, and one bound by its spread too, the spread being half as long.
 */
export const PROBE_MEMORY_MB = 256;

/** PROBE_MEMORY_MB's share of a vCPU (one vCPU at 1,769 MB). */
export const PROBE_VCPU_SHARE = PROBE_MEMORY_MB / 1769;

/**
 * The groups split into shards of at most PROBES_PER_INVOCATION probes, each probed by its own
 * invocation. A group is never split. Groups are dealt out in turn (the one with the fewest probes
 * takes the next group), so each shard is a sample of the whole estate: a share of failing groups in
 * one shard says what it says of all of them.
 */
export function shardGroups<G extends { probes: readonly unknown[] }>(groups: G[], budget = PROBES_PER_INVOCATION): G[][] {
  const probed = groups.filter((g) => g.probes.length > 0);
  const total = probed.reduce((sum, g) => sum + g.probes.length, 0);
  if (total === 0) return [];
  for (let count = Math.max(1, Math.ceil(total / budget)); ; count++) {
    const shards = dealInto(probed, count);
    if (shards.every((s) => s.reduce((sum, g) => sum + g.probes.length, 0) <= budget) || count >= probed.length) return shards;
  }
}

/**
 * Shards per rounds queue (lib/infra/detection.ts): a queue's event source polls with about five
 * batches at once while traffic is low ("When traffic is low, Lambda scales back the processing to five
 * concurrent batches": Lambda Developer Guide, "Configuring scaling behavior for SQS event source
 * mappings"), and every shard's rounds are due at the same instants.
 */
export const SHARDS_PER_ROUNDS_QUEUE = 5;

/** Which rounds queue carries shard `shard`'s rounds: the index into the probe function's ROUNDS_QUEUE_URLS. */
export function roundsQueueOf(shard: number): number {
  return Math.floor(shard / SHARDS_PER_ROUNDS_QUEUE);
}

/** No deployment has more shards than this (1,000 groups of at most 10 probes, 200 a shard). */
export const MAX_SHARDS = 1000;

/**
 * The probed groups dealt into `count` shards in turn (the one with the fewest probes takes the next
 * group): shardGroups' split for that count, which a round queued under another split is probed by.
 */
export function dealInto<G extends { probes: readonly unknown[] }>(groups: G[], count: number): G[][] {
  const shards: G[][] = Array.from({ length: count }, () => []);
  const load = new Array<number>(count).fill(0);
  for (const g of groups.filter((x) => x.probes.length > 0)) {
    let i = 0;
    for (let k = 1; k < count; k++) if (load[k] < load[i]) i = k;
    shards[i].push(g);
    load[i] += g.probes.length;
  }
  return shards;
}

/**
 * A shard's heartbeat: when each of its groups last passed a round. The probe function writes one item
 * a shard (not one a group) every PROBE_STATE_REFRESH_MS; a group's own counters are written only when
 * they change (a failed round, a recovery, a handled outage). So a healthy group's last round is the
 * later of its own item's and the time a heartbeat gives it. Each group has its own time: groups of
 * other intervals are not due in every round, and a group whose last round was void keeps the time of
 * its last pass. A group that failed a round is not named until it passes again.
 */
export interface ProbeHeartbeat {
  shard: number;
  /** How many shards the writer dealt the groups into. */
  of: number;
  /** When it was written (the round it was written after). */
  at: number;
  /** Group name → epoch ms of its last passed round. */
  passed: Record<string, number>;
  /** Counts the writes: each is conditioned on the one it read (absent before the first). */
  version?: number;
}

/** What a reader shows of a group's probing: its counters, brought up to date by a heartbeat. */
export interface ProbeRoundView {
  consecutiveFailures: number;
  outageStartedAt: number | null;
  lastSuccessAt: number | null;
  lastRoundAt: number | null;
  lastRound?: { failed: boolean; reason: string };
}

/**
 * The group's counters as last written, and the heartbeats: when one names the group as passed later
 * than its counters' last round, the group was healthy then (a failure would have been written since),
 * so that is its last round and its last success. Matched by the group's name, whichever shard wrote it.
 */
export function withHeartbeat(group: string, state: ProbeRoundView | undefined, heartbeats: ProbeHeartbeat[]): ProbeRoundView | undefined {
  const passedAt = Math.max(...heartbeats.map((h) => h.passed?.[group] ?? -Infinity));
  if (!Number.isFinite(passedAt) || (state?.lastRoundAt != null && state.lastRoundAt >= passedAt)) return state;
  return {
    consecutiveFailures: 0,
    outageStartedAt: null,
    lastSuccessAt: passedAt,
    lastRoundAt: passedAt,
    lastRound: { failed: false, reason: 'passed: named in its probe shard\'s heartbeat' },
  };
}
