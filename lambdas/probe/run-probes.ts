/**
 * The probe Lambda. EventBridge invokes it once a minute per shard (its finest schedule); that
 * invocation probes nothing itself: it queues the minute's rounds (each group's `intervalSeconds`, at
 * round times aligned to the clock) as delayed SQS messages, and each message invokes the function for
 * one round. Lambda bills an invocation by its duration, so a function that waited between its rounds
 * paid for the wait; a round alone is paid for its probes. Should the queue refuse the rounds, the
 * scheduled invocation runs them itself, as it did before there was a queue. A round run twice (SQS
 * delivers at least once; two minutes' windows may share a round) is the same round: the conditional
 * write of the counters lets only one of them count it. When a group is declared down it starts the failover
 * workflow under a name derived from the group and the outage's start: seeing the same outage again
 * cannot start a second execution.
 */
import { CLIENT_CONFIG } from '../runtime/client-config';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { GroupConfig } from '../core/config';
import { once } from '../runtime/deps';
import { requireEnv } from '../runtime/env';
import { awsErrorName } from '../core/errors';
import { METRIC, metricsOf, type MetricsSink } from '../runtime/metrics';
import { lambdaMetrics, logFor, type LambdaContext, logger } from '../runtime/powertools';
import { dealInto, MAX_SHARDS, roundsQueueOf, shardGroups, SHARDS_PER_ROUNDS_QUEUE } from '../core/probe-shards';
import { Store, type ProbeState } from '../core/store';
import { HOLD_KEY, HOLD_REFRESH_MS } from '../core/mass-failure-hold';
import { automaticTriggerBlocked } from '../core/trigger-gate';
import { checkAll, type ProbeResult } from './check-endpoint';
import { advanceCounters, judgeRound, massFailure, NO_COUNTERS, probesKey, roundTiming, type MassFailure, type RoundVerdict } from './detect';

/** What detection needs of a group's config. */
export type ProbeGroup = Pick<GroupConfig, 'name' | 'probes' | 'detection'>;

/**
 * How long an invocation that runs its minute itself probes (no queue, or the queue refused the rounds):
 * its minute plus a little overlap with the next, so no round is missed.
 */
export const INVOCATION_WINDOW_MS = 62_000;

/** The rounds one scheduled invocation queues: those of the clock minute after the one it runs in. */
export const DISPATCH_WINDOW_MS = 60_000;

/**
 * How long a scheduled invocation that could not queue its rounds runs them itself: to the end of the
 * next clock minute, up to two minutes from a schedule that fired at the start of its own, and a little
 * overlap. The function's timeout covers it (lib/infra/detection.ts, probeFunctionTimeout).
 */
export const FALLBACK_WINDOW_MS = 2 * DISPATCH_WINDOW_MS + 2_000;

/**
 * SQS delays a message by at most 900 s ("DelaySeconds ... Valid values: 0 to 900": Amazon SQS API
 * Reference, SendMessageBatchRequestEntry), and takes at most 10 messages a batch (SendMessageBatch:
 * "TooManyEntriesInBatchRequest").
 */
export const SQS_MAX_DELAY_SECONDS = 900;
export const SQS_MAX_BATCH = 10;


/**
 * How a round's groups are spread over the interval: group i of n is probed `i/n` of the way through
 * the spread, which ends this long before the next round plus the longest timeout, so every probe of a
 * round ends before the next one begins. Probes fired at the same instant are a burst of sockets and
 * handshakes on a fraction of a vCPU; spread, the same round takes the same sockets one after another.
 */
export const SPREAD_MARGIN_MS = 1_000;

/**
 * At most this spread: PROBES_PER_INVOCATION probes over 1.5 s are already a steady trickle (a group
 * every 7.5 ms), and a longer spread only keeps the invocation (billed by the ms) running longer past
 * its last round time.
 */
export const MAX_SPREAD_MS = 1_500;

/**
 * A round's groups start one every this long at most: a round of 10 groups takes 75 ms to start, not
 * 1.5 s. The trickle keeps a burst of sockets and handshakes off a fraction of a vCPU: at
 * PROBE_MEMORY_MB (256 MB, 0.145 vCPU) a plain HTTP probe's 0.5 ms of CPU takes 3.5 ms, so this is
 * what the CPU keeps up with. An HTTPS probe's handshake (about 2 ms: 14 ms there) falls
 * behind it, and such a round takes its CPU time rather than its spread; a round billed on its own
 * should not wait longer than its work needs.
 */
export const SPREAD_PER_GROUP_MS = 7.5;

/**
 * A round that begins later than this after its time was started by a starved event loop (or after an
 * overrun), so its timeouts are not the endpoints': void.
 */
export const LATE_ROUND_TOLERANCE_MS = 1_000;

/**
 * A group's counters are written only when they change (a failed round, a recovery, a handled outage,
 * the first pass of new probe settings); every other round lives in the function's memory. At least
 * this often the shard's heartbeat names the groups that passed a round (one item a shard,
 * lambdas/core/probe-shards.ts), so the readiness evaluation and `failoverctl status`, which read a
 * group's last round to tell whether anything watches it (a round older than 3 minutes, and 2 minutes
 * plus the interval), see a recent one.
 */
export const PROBE_STATE_REFRESH_MS = 110_000;

/** How many times a heartbeat write reads and merges again when another environment wrote in between. */
export const HEARTBEAT_MERGE_ATTEMPTS = 3;

/**
 * A hold that ended less than this long ago and opens again is the same episode (a partition that
 * comes and goes): the topic was told already and is not told again.
 */
export const HOLD_RENOTIFY_MS = 15 * 60_000;

export interface ProbeDeps {
  now(): number;
  /** Resolve at the given epoch ms (at once if it has passed). */
  sleepUntil(ms: number): Promise<void>;
  check(probes: ProbeGroup['probes']): Promise<ProbeResult[]>;
  store(): Store;
  sfn(): SFNClient;
  sns(): SNSClient;
  stateMachineArn(): string;
  topicArn(): string;
  log(entry: Record<string, unknown>): void;
  /** CloudWatch metrics (EMF). Without one, the EMF documents go through `log`. */
  metrics?: MetricsSink;
  /**
   * The counters of the groups as this execution environment last knew them, kept from one invocation
   * to the next (module scope in Lambda). Without one, every invocation reads them from the store.
   */
  memory?: ProbeMemory;
  /** This environment's heartbeat of its shard, kept like `memory`. Without one, written once an invocation. */
  heartbeat?: Heartbeat;
  /** The queues of rounds (ROUNDS_QUEUE_URLS): `url(shard)` is the shard's. Without one, a scheduled invocation runs its minute itself. */
  roundsQueue?: { sqs(): SQSClient; url(shard: number): string };
}

/** Counters by group, as this environment last read or wrote them (bridgedAt included). */
export type ProbeMemory = Map<string, ProbeState>;

export interface RoundReport {
  group: string;
  roundAt: number;
  failed: boolean;
  /** The round was void (the prober's fault): neither a failure nor a success. */
  void?: boolean;
  counted: boolean;
  reason: string;
  /** What was done about a declared outage: the execution started (or already started), or why none. */
  action?: string;
}

/** The execution name for an outage: the same outage always gives the same name. */
export function executionNameFor(group: string, outageStartedAt: number): string {
  return `probe-${group}-${new Date(outageStartedAt).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}`;
}

/** What one invocation did, for its summary line and its metrics. */
export interface InvocationSummary {
  groups: number;
  /** Group rounds counted (judged passed or failed). */
  rounds: number;
  failed: number;
  void: number;
  /** Rounds whose automatic failovers were held (many groups failing together). */
  held: number;
  actions: string[];
  reports: RoundReport[];
}

/**
 * Probe the groups until the window closes, in rounds at multiples of each group's interval (aligned to
 * the clock, so an overlapping invocation runs the very same rounds: the conditional write of the
 * counters lets only one of them count a failed round; a healthy round changes nothing stored, and both
 * report it in ProbeRounds, which the heartbeat alarm only bounds from below). Within a round, the
 * groups are spread over the interval.
 */
export async function runInvocation(groups: ProbeGroup[], deps: ProbeDeps, windowMs = INVOCATION_WINDOW_MS): Promise<RoundReport[]> {
  return (await runShard(groups, deps, windowMs)).reports;
}

/** Which rounds an invocation runs, when not every round of its window. */
export interface RoundsToRun {
  /** Only these round times (queued rounds, or the ones the queue refused). */
  times?: number[];
  /** The invocation began then: a queued round is late by when it was delivered, not by its round time (runRound). */
  startedAt?: number;
}

export async function runShard(groups: ProbeGroup[], deps: ProbeDeps, windowMs = INVOCATION_WINDOW_MS, shard: Shard = { index: 0, of: 1 }, only: RoundsToRun = {}): Promise<InvocationSummary> {
  const start = deps.now();
  const beat = deps.heartbeat ?? newHeartbeat();
  const end = start + windowMs;
  const probed = groups.filter((g) => g.probes.length > 0);
  const memory = deps.memory ?? new Map<string, ProbeState>();
  const summary: InvocationSummary = { groups: probed.length, rounds: 0, failed: 0, void: 0, held: 0, actions: [], reports: [] };
  const failing = new Map<string, { failed: number; consecutive: number }>();
  try {
    for (const roundAt of only.times ?? roundTimes(probed, start, end)) {
      const due = probed.filter((g) => roundAt % (g.detection.intervalSeconds * 1000) === 0 && roundAt + longestTimeout(g) <= end);
      try {
        const reports = await runRound(due, roundAt, deps, memory, shard, only.startedAt);
        for (const r of reports) {
          summary.reports.push(r);
          if (r.void) summary.void += 1;
          else if (r.counted) summary.rounds += 1;
          if (r.failed && r.counted) {
            summary.failed += 1;
            const f = failing.get(r.group) ?? { failed: 0, consecutive: 0 };
            f.failed += 1;
            f.consecutive = memory.get(r.group)?.consecutiveFailures ?? f.consecutive;
            failing.set(r.group, f);
          }
          if (r.action) summary.actions.push(`${r.group}: ${r.action}`);
          if (r.action?.startsWith('held')) summary.held += 1;
        }
        await beatRound(roundAt, reports, probed, shard, beat, deps);
      } catch (err) {
        if (isStop(err)) throw err;
        // One bad round (the store throttled, say) must not end the invocation's watch.
        deps.log({ level: 'ERROR', message: 'probe round failed', roundAt: new Date(roundAt).toISOString(), error: `${awsErrorName(err)}: ${(err as Error).message}` });
      }
    }
  } finally {
    emitMetrics(start, summary, failing, deps);
  }
  return summary;
}

/** Which of how many shards an invocation probes. */
export interface Shard {
  index: number;
  of: number;
}

/** When each group of a shard last passed a round, as this environment saw it, and when it last wrote the shard's item. */
export interface ShardBeat {
  writtenAt: number | null;
  /** Group → its last passed round; a group that failed a round is left out until it passes again. */
  passed: Map<string, number>;
}

/** This environment's view of each shard's heartbeat: one environment may run rounds of any shard. */
export interface Heartbeat {
  shards: Map<number, ShardBeat>;
}

export function newHeartbeat(): Heartbeat {
  return { shards: new Map() };
}

/**
 * Note the round's passes and failures, and write the shard's heartbeat when this environment last
 * wrote it PROBE_STATE_REFRESH_MS ago: the one write that keeps a healthy estate's last rounds visible.
 * Several environments run a shard's rounds, each seeing some of them: the write merges this one's
 * times into the stored item (the later of the two for each group), so a group this environment rarely
 * sees (another interval, rounds that went elsewhere) keeps the time another one wrote. The write is
 * conditioned on the item it merged: when another environment wrote in between, this one reads again
 * and merges again (HEARTBEAT_MERGE_ATTEMPTS), and after that leaves it to its next round.
 */
async function beatRound(roundAt: number, reports: RoundReport[], groups: ProbeGroup[], shard: Shard, heartbeat: Heartbeat, deps: ProbeDeps): Promise<void> {
  const beat = heartbeat.shards.get(shard.index) ?? { writtenAt: null, passed: new Map<string, number>() };
  heartbeat.shards.set(shard.index, beat);
  for (const r of reports) {
    if (r.void || !r.counted) continue;
    if (r.failed) beat.passed.delete(r.group);
    else beat.passed.set(r.group, roundAt);
  }
  if (beat.writtenAt !== null && roundAt - beat.writtenAt < PROBE_STATE_REFRESH_MS) return;
  try {
    const mine = new Set(groups.map((g) => g.name));
    const failedNow = new Set(reports.filter((r) => r.failed).map((r) => r.group));
    for (let attempt = 1; attempt <= HEARTBEAT_MERGE_ATTEMPTS; attempt++) {
      const stored = await deps.store().getProbeHeartbeat(shard.index);
      const passed = new Map<string, number>();
      for (const [group, at] of Object.entries(stored?.passed ?? {})) if (mine.has(group) && !failedNow.has(group)) passed.set(group, at);
      for (const [group, at] of beat.passed) if (mine.has(group)) passed.set(group, Math.max(at, passed.get(group) ?? at));
      if (passed.size === 0) return;
      const heartbeat = { shard: shard.index, of: shard.of, at: Math.max(roundAt, stored?.at ?? roundAt), passed: Object.fromEntries(passed) };
      if (await deps.store().putProbeHeartbeat(heartbeat, stored)) {
        beat.writtenAt = roundAt;
        return;
      }
    }
    // Others keep writing: their items name what they saw, and this environment's next round tries again.
    deps.log({ level: 'WARN', message: 'probe heartbeat not merged', roundAt: new Date(roundAt).toISOString(), reason: `another execution environment wrote the shard's heartbeat ${HEARTBEAT_MERGE_ATTEMPTS} times while this one merged it` });
  } catch (err) {
    // The rounds were counted; only their visibility to readiness and status waits for the next round.
    deps.log({ level: 'ERROR', message: 'probe heartbeat not written', roundAt: new Date(roundAt).toISOString(), error: `${awsErrorName(err)}: ${(err as Error).message}` });
  }
}

/** The drill stops a watch by throwing from sleepUntil; that must end the invocation, not be logged. */
function isStop(err: unknown): boolean {
  return err instanceof Error && err.constructor.name === 'StopWatching';
}

function longestTimeout(group: ProbeGroup): number {
  return Math.max(...group.probes.map((p) => p.timeoutMs));
}

/** Every round time of the window, across the groups' intervals, in order. */
function roundTimes(groups: ProbeGroup[], start: number, end: number): number[] {
  const times = new Set<number>();
  for (const g of groups) {
    const interval = g.detection.intervalSeconds * 1000;
    for (let t = Math.ceil(start / interval) * interval; t + longestTimeout(g) <= end; t += interval) times.add(t);
  }
  return [...times].sort((a, b) => a - b);
}

/**
 * One round of `groups` at `roundAt`: their probes spread over the interval, then each group judged,
 * counted and, when declared down, acted on, unless the round is void or many groups failed it at once.
 */
/**
 * `startedAt`: the round was queued and its invocation began then, at or after the round time (a
 * message is delivered when its delay has passed and a poller picks it up). Its probes start from
 * there: the delivery is not the function's lateness, only a start later than that is.
 */
export async function runRound(groups: ProbeGroup[], roundAt: number, deps: ProbeDeps, memory: ProbeMemory = new Map(), shard: Shard = { index: 0, of: 1 }, startedAt?: number): Promise<RoundReport[]> {
  if (groups.length === 0) return [];
  const shortest = Math.min(...groups.map((g) => g.detection.intervalSeconds * 1000));
  const longest = Math.max(...groups.map(longestTimeout));
  const spread = Math.max(0, Math.min(MAX_SPREAD_MS, groups.length * SPREAD_PER_GROUP_MS, shortest - longest - SPREAD_MARGIN_MS));
  const from = Math.max(roundAt, startedAt ?? roundAt);
  const deliveredLateMs = startedAt === undefined ? 0 : startedAt - roundAt;
  const tolerance = Math.min(QUEUED_ROUND_TOLERANCE_MS, shortest / 2);
  if (deliveredLateMs > tolerance) {
    // Probed now, this round would be a sample less than an interval before the next one: a blip of a
    // few seconds could count twice. It counts neither way, and does not break a run of failures.
    const reason = `round void: delivered ${deliveredLateMs} ms after its time (tolerance ${tolerance} ms): probed now, it would not be an interval from the next round`;
    deps.log({ level: 'WARN', message: 'probe round void', groups: groups.map((g) => g.name), roundAt: new Date(roundAt).toISOString(), reason });
    const reports: RoundReport[] = [];
    for (const group of groups) {
      await bridge(group.name, roundAt, group.detection.intervalSeconds * 1000, deps, memory);
      reports.push({ group: group.name, roundAt, failed: false, void: true, counted: false, reason });
    }
    return reports;
  }

  await deps.sleepUntil(from);
  const lateMs = deps.now() - from;
  const checks: Array<Promise<ProbeResult[]>> = [];
  for (let i = 0; i < groups.length; i++) {
    const offset = Math.floor((i * spread) / groups.length);
    if (offset > 0) await deps.sleepUntil(from + offset);
    checks.push(deps.check(groups[i].probes));
  }
  const results = await Promise.all(checks);
  const overranMs = deps.now() - (from + shortest);
  const timing = roundTiming(lateMs, overranMs, LATE_ROUND_TOLERANCE_MS);

  const verdicts = groups.map((g, i) => {
    const verdict = judgeRound(results[i], g.detection.quorum);
    return timing ? { ...verdict, failed: false, void: timing } : verdict;
  });
  const judged = verdicts.filter((v) => !v.void && v.totalProbes > 0);
  const mass = massFailure(judged.filter((v) => v.failed).length, judged.length);
  // The hold itself is decided here, from this round: the store only keeps the topic from being told
  // twice, so a store that fails does not cost the round its counting.
  try {
    if (mass.hold) await reportHold(roundAt, mass.reason, groups.filter((_, i) => verdicts[i].failed).map((g) => g.name), shard, deps);
    else if (judged.length > 0) await endHold(roundAt, shard, deps);
  } catch (err) {
    if (isStop(err)) throw err;
    deps.log({ level: 'ERROR', message: 'probe hold not recorded', roundAt: new Date(roundAt).toISOString(), hold: mass.hold, error: `${awsErrorName(err)}: ${(err as Error).message}` });
  }

  const reports: RoundReport[] = [];
  for (let i = 0; i < groups.length; i++) {
    const group = groups[i];
    const verdict = verdicts[i];
    if (verdict.void) {
      await bridge(group.name, roundAt, group.detection.intervalSeconds * 1000, deps, memory);
      reports.push({ group: group.name, roundAt, failed: false, void: true, counted: false, reason: verdict.void });
      deps.log({ level: 'WARN', message: 'probe round void', group: group.name, roundAt: new Date(roundAt).toISOString(), reason: verdict.void, probes: results[i].map(probeDetail) });
      continue;
    }
    try {
      reports.push(await countRound(group, roundAt, verdict, results[i], mass, deps, memory));
    } catch (err) {
      if (isStop(err)) throw err;
      await bridge(group.name, roundAt, group.detection.intervalSeconds * 1000, deps, memory);
      deps.log({ level: 'ERROR', message: 'probe round failed', group: group.name, roundAt: new Date(roundAt).toISOString(), error: `${awsErrorName(err)}: ${(err as Error).message}` });
    }
  }
  return reports;
}

/**
 * A round that counted neither way (void, delivered late, or the store failed) does not break a run of
 * failures. Kept in this environment's memory and, while a run is open, in the store: the next round
 * may be counted by another environment. A healthy group costs nothing (no run, no write). Best effort:
 * a store that fails here is the store that failed the round.
 */
async function bridge(group: string, roundAt: number, intervalMs: number, deps: ProbeDeps, memory: ProbeMemory): Promise<void> {
  try {
    for (let attempt = 0; attempt < 2; attempt++) {
      const known = await countersOf(group, deps, memory);
      if (known.consecutiveFailures === 0 || (known.lastRoundAt !== null && roundAt <= known.lastRoundAt) || (known.bridgedAt ?? -Infinity) >= roundAt) return;
      // Only the round next to the run: one further off may follow a healthy round nobody wrote (healthy
      // rounds are not written), and bridging it would join failures that were not consecutive. This
      // environment's copy may be behind the store's: read that once before giving up.
      if (roundAt - Math.max(known.lastRoundAt ?? -Infinity, known.bridgedAt ?? -Infinity) > intervalMs) {
        if (attempt > 0) return;
        memory.delete(group);
        continue;
      }
      const bridged = { ...known, bridgedAt: roundAt };
      if (await deps.store().putProbeState(bridged, known.lastRoundAt, known.bridgedAt)) {
        memory.set(group, bridged);
        return;
      }
      memory.delete(group); // another environment wrote since: read what it wrote, and bridge that
    }
  } catch (err) {
    if (isStop(err)) throw err;
    deps.log({ level: 'ERROR', message: 'probe round not bridged', group, roundAt: new Date(roundAt).toISOString(), error: `${awsErrorName(err)}: ${(err as Error).message}` });
  }
}

function probeDetail(r: ProbeResult): Record<string, unknown> {
  return { probe: r.probe, ok: r.ok, latencyMs: r.latencyMs, ...(r.status !== undefined ? { status: r.status } : {}), ...(r.error ? { error: r.error } : {}) };
}

/** The group's counters: from this environment's memory, else from the store. */
async function countersOf(group: string, deps: ProbeDeps, memory: ProbeMemory): Promise<ProbeState> {
  const known = memory.get(group);
  if (known) return known;
  const stored = (await deps.store().getProbeState(group)) ?? { group, ...NO_COUNTERS };
  memory.set(group, stored);
  return stored;
}

/**
 * Count the round on `previous` and write the counters if they change, conditioned on the round they
 * were read at. `lost`: the store holds another invocation's newer counters, and nothing was written.
 */
async function countOn(previous: ProbeState, group: ProbeGroup, roundAt: number, verdict: RoundVerdict, mass: MassFailure, deps: ProbeDeps, memory: ProbeMemory): Promise<{ report: RoundReport; lost: boolean }> {
  const detection = advanceCounters(previous, verdict, roundAt, group.detection.failureThreshold, group.detection.intervalSeconds * 1000, probesKey(group));
  const report: RoundReport = { group: group.name, roundAt, failed: verdict.failed, counted: false, reason: detection.reason };
  if (detection.counters.lastRoundAt === previous.lastRoundAt) return { report, lost: false }; // stale: counted elsewhere

  const next: ProbeState = {
    group: group.name,
    ...detection.counters,
    lastRound: { failed: verdict.failed, reason: verdict.reason },
    handledOutage: detection.counters.outageStartedAt !== null ? previous.handledOutage : undefined,
    handledAs: detection.counters.outageStartedAt !== null ? previous.handledAs : undefined,
  };
  const unhandled = detection.declaredDown && detection.counters.outageStartedAt !== null && previous.handledOutage !== detection.counters.outageStartedAt;
  if (unhandled && mass.hold) {
    // Not handled: once the hold ends, a group still down fails over.
    report.action = `held, not started: ${mass.reason}`;
  } else if (unhandled) {
    const action = await actOnOutage(group, roundAt, detection.counters.outageStartedAt!, detection.counters.consecutiveFailures, verdict.reason, deps, detection.unproven);
    report.action = action.description;
    if (action.handled) {
      next.handledOutage = detection.counters.outageStartedAt!;
      next.handledAs = action.description;
    }
  }

  // Only what changes the stored view is written: a failed round, a recovery, a handled outage, a
  // group's first round, the first pass with new probe settings (another environment must know that
  // they have passed). Every other round is counted here; the shard's heartbeat shows it was run.
  const changed = verdict.failed || previous.consecutiveFailures > 0 || previous.lastRoundAt === null || next.handledOutage !== previous.handledOutage || next.passedWith !== previous.passedWith;
  if (!changed) {
    // Healthy before and after: the stored counters (and this environment's copy, against which the
    // next write is conditioned) stay as they are.
    report.counted = true;
    return { report, lost: false };
  }
  report.counted = await deps.store().putProbeState(next, previous.lastRoundAt, previous.bridgedAt);
  if (report.counted) memory.set(group.name, next);
  return { report, lost: !report.counted };
}

async function countRound(group: ProbeGroup, roundAt: number, verdict: RoundVerdict, results: ProbeResult[], mass: MassFailure, deps: ProbeDeps, memory: ProbeMemory): Promise<RoundReport> {
  let previous = await countersOf(group.name, deps, memory);
  let outcome = await countOn(previous, group, roundAt, verdict, mass, deps, memory);
  if (outcome.lost) {
    // Another invocation wrote the counters since this environment last read or wrote them (a failure
    // it saw, say, while this one only counted healthy rounds in its memory): count this round once
    // more on what is stored, unless that already counts it.
    memory.delete(group.name);
    previous = await countersOf(group.name, deps, memory);
    outcome = await countOn(previous, group, roundAt, verdict, mass, deps, memory);
    if (outcome.lost) memory.delete(group.name);
  }
  const report = outcome.report;
  // A compact record: the failing ones in full, with each probe's outcome; a passing round only when
  // it ends a run of failures or was acted on. The invocation's summary line counts the rest.
  if (verdict.failed || previous.consecutiveFailures > 0 || report.action) {
    deps.log({
      level: verdict.failed ? 'WARN' : 'INFO',
      message: 'probe round',
      group: group.name,
      roundAt: new Date(roundAt).toISOString(),
      counted: report.counted,
      reason: report.reason,
      round: verdict.reason,
      ...(verdict.failed ? { probes: results.map(probeDetail) } : {}),
      ...(report.action ? { action: report.action } : {}),
    });
  }
  return report;
}

/**
 * Many groups failed this round: tell the topic once per episode (the first invocation whose
 * conditional write opens it), so that on-call knows the controller itself may be cut off.
 */
async function reportHold(roundAt: number, reason: string, failedGroups: string[], shard: Shard, deps: ProbeDeps): Promise<void> {
  const store = deps.store();
  const hold = (await store.getProbeState(HOLD_KEY)) ?? { group: HOLD_KEY, ...NO_COUNTERS };
  deps.log({ level: 'WARN', message: 'probe hold', roundAt: new Date(roundAt).toISOString(), reason, groups: failedGroups });
  if (hold.outageStartedAt !== null) {
    // Already open, already told: only say that it still lasts (holdInForce), once a minute.
    if (hold.lastRoundAt !== null && roundAt - hold.lastRoundAt >= HOLD_REFRESH_MS) await store.putProbeState({ ...hold, lastRoundAt: roundAt }, hold.lastRoundAt);
    return;
  }
  // The hold item's lastSuccessAt is when the last hold ended.
  const toldRecently = hold.handledOutage !== undefined && hold.lastSuccessAt !== null && roundAt - hold.lastSuccessAt < HOLD_RENOTIFY_MS;
  const opened = await store.putProbeState(
    {
      group: HOLD_KEY,
      consecutiveFailures: 1,
      outageStartedAt: roundAt,
      lastSuccessAt: hold.lastSuccessAt,
      lastRoundAt: roundAt,
      lastRound: { failed: true, reason },
      handledOutage: toldRecently ? hold.handledOutage : roundAt,
      handledAs: toldRecently ? hold.handledAs : 'notified',
      openedBy: shard.index,
      openedOf: shard.of,
    },
    hold.lastRoundAt,
  );
  if (!opened || toldRecently) return; // another invocation opened it (and tells the topic), or this episode was told
  const message =
    `${reason}.\n\nFailing in the round at ${new Date(roundAt).toISOString()}: ${failedGroups.join(', ')}.\n\n` +
    'No automatic failover of a group with probes starts while this lasts, from its probes or its alarms (their confirmation would probe from the same network): when many primaries fail in the same round, the likely cause is the ' +
    "controller's own network path (its VPC, NAT, DNS resolver, security groups) or the probe function itself. Check one " +
    "primary from elsewhere. If they are really down, fail over by hand: failoverctl failover <group> (manual failovers still run). " +
    `The hold ends by itself with the first round in which fewer groups fail; if it opens again within ${HOLD_RENOTIFY_MS / 60_000} minutes, this message is not repeated.`;
  try {
    await deps.sns().send(new PublishCommand({ TopicArn: deps.topicArn(), Subject: 'failover-controller: automatic failovers held, the controller may be cut off', Message: message }));
  } catch (err) {
    deps.log({ level: 'ERROR', message: 'probe hold not notified', error: `${awsErrorName(err)}: ${(err as Error).message}` });
  }
}

/**
 * A round without a mass failure ends an open hold that this shard opened (one read; a write only when
 * one was open): another shard's healthy round says nothing of the shard that is cut off, and ending
 * its hold would only make the item flap. With the same index, a new environment of the shard may end it;
 * when the groups are dealt into another number of shards, any shard may.
 */
async function endHold(roundAt: number, shard: Shard, deps: ProbeDeps): Promise<void> {
  const store = deps.store();
  const hold = await store.getProbeState(HOLD_KEY);
  if (!hold || hold.outageStartedAt === null || (hold.lastRoundAt !== null && roundAt <= hold.lastRoundAt)) return;
  // Unless the opener is gone: the groups are dealt into other shards now.
  const openerStill = hold.openedBy !== undefined && hold.openedOf === shard.of && hold.openedBy < shard.of;
  if (openerStill && hold.openedBy !== shard.index) return;
  const ended: ProbeState = { group: HOLD_KEY, consecutiveFailures: 0, outageStartedAt: null, lastSuccessAt: roundAt, lastRoundAt: roundAt, handledOutage: hold.handledOutage, handledAs: hold.handledAs };
  if (await store.putProbeState(ended, hold.lastRoundAt)) {
    deps.log({ level: 'INFO', message: 'probe hold ended', roundAt: new Date(roundAt).toISOString(), since: new Date(hold.outageStartedAt).toISOString() });
  }
}

/**
 * The primary is down: start the workflow, unless the group may not fail over automatically now (or
 * its probes have never passed: `unproven`), in which case the outage is reported once instead.
 */
async function actOnOutage(
  group: ProbeGroup,
  roundAt: number,
  outageStartedAt: number,
  failedRounds: number,
  roundReason: string,
  deps: ProbeDeps,
  unproven?: string,
): Promise<{ handled: boolean; description: string }> {
  const blocked = unproven ?? automaticTriggerBlocked(group, 'probe', await deps.store().getGroupState(group.name), roundAt);
  if (blocked) {
    const armed = unproven ? `\n\nCheck the primary from elsewhere. If it is really down, fail over by hand: failoverctl failover ${group.name}. Once a round of these probes passes, their failures count toward an automatic failover.` : '';
    const message = `${group.name}: primary down since ${new Date(outageStartedAt).toISOString()} (${failedRounds} failed rounds), but no automatic failover: ${blocked.replace(/^skipping: /, '')}.\nLast round: ${roundReason}${armed}`;
    try {
      await deps.sns().send(new PublishCommand({ TopicArn: deps.topicArn(), Subject: `failover ${group.name}: primary down, not failing over`.slice(0, 100), Message: message }));
      return { handled: true, description: `reported, not started: ${blocked}` };
    } catch (err) {
      return { handled: false, description: `could not report (${awsErrorName(err)}); will try again next round: ${blocked}` };
    }
  }
  const name = executionNameFor(group.name, outageStartedAt);
  const input = {
    group: group.name,
    reason: `probes: primary down, ${failedRounds} consecutive failed rounds (threshold ${group.detection.failureThreshold}); ${roundReason}`.slice(0, 1024),
    trigger: { type: 'probe', at: new Date(roundAt).toISOString(), outageStartedAt: new Date(outageStartedAt).toISOString(), failedRounds },
  };
  try {
    await deps.sfn().send(new StartExecutionCommand({ stateMachineArn: deps.stateMachineArn(), name, input: JSON.stringify(input) }));
    return { handled: true, description: `started ${name}` };
  } catch (err) {
    if (awsErrorName(err) === 'ExecutionAlreadyExists') return { handled: true, description: `already started ${name}` };
    return { handled: false, description: `StartExecution ${name} failed (${awsErrorName(err)}); will try again next round` };
  }
}

/**
 * The invocation's metrics as ONE EMF document without dimensions (the heartbeat alarm and the
 * dashboard read them across groups): ProbeRounds always, FailedRounds and VoidRounds only when there
 * were any. A custom metric is billed for the hours in which it is sent (CloudWatch pricing: "All
 * custom metrics are charged pro-rated by the hour"), so a metric sent only during failures costs
 * next to nothing. Per group (dimension Group), only for the groups that failed a round: RoundFailed
 * and ConsecutiveFailures. An EMF document holds at most 100 metrics (CloudWatch User Guide,
 * "Specification: Embedded metric format"): each of these holds at most 3.
 */
function emitMetrics(at: number, s: InvocationSummary, failing: Map<string, { failed: number; consecutive: number }>, deps: ProbeDeps): void {
  const metrics = metricsOf(deps);
  metrics.emit({
    timestamp: at,
    dimensions: {},
    values: [
      { name: METRIC.probeRounds, unit: 'Count', value: s.rounds },
      ...(s.failed > 0 ? [{ name: METRIC.failedRounds, unit: 'Count' as const, value: s.failed }] : []),
      ...(s.void > 0 ? [{ name: METRIC.voidRounds, unit: 'Count' as const, value: s.void }] : []),
    ],
  });
  for (const [group, f] of failing) {
    metrics.emit({
      timestamp: at,
      dimensions: { Group: group },
      values: [
        { name: METRIC.roundFailed, unit: 'Count', value: f.failed },
        { name: METRIC.consecutiveFailures, unit: 'Count', value: f.consecutive },
      ],
    });
  }
}

/**
 * One invocation of a shard that runs its rounds itself, as the handler runs it: the rounds, then the
 * one summary line a healthy invocation logs (failing and void rounds have their own lines), with the
 * CPU time it took. A queued round is one such invocation with `only.times` its one round.
 */
export async function runProbeInvocation(groups: ProbeGroup[], shard: Shard, d: ProbeDeps, windowMs = INVOCATION_WINDOW_MS, only: RoundsToRun = {}): Promise<InvocationSummary> {
  const cpuBefore = process.cpuUsage();
  const started = d.now();
  const s = await runShard(groups, d, windowMs, shard, only);
  const cpu = process.cpuUsage(cpuBefore);
  d.log({
    level: 'INFO',
    message: 'probe invocation',
    shard: `${shard.index + 1}/${shard.of}`,
    ...(only.times?.length === 1 ? { round: new Date(only.times[0]).toISOString() } : {}),
    groups: s.groups,
    rounds: s.rounds,
    failed: s.failed,
    void: s.void,
    held: s.held,
    ...(s.actions.length > 0 ? { actions: s.actions } : {}),
    cpuMs: Math.round((cpu.user + cpu.system) / 1000),
    wallMs: Math.round(d.now() - started),
  });
  return s;
}

/**
 * How late a queued round may begin and still be probed: SQS delays by whole seconds (rounded up here,
 * so up to 1 s) and a poller takes a moment to pick the message up. Later than this (or than half the
 * interval, for short ones), the round is void: probed then, it would sample the primary less than an
 * interval before the next round, and a blip of a few seconds could count as two failed rounds.
 */
export const QUEUED_ROUND_TOLERANCE_MS = 3_000;

/**
 * How much earlier than its time a queued round may arrive and still run (it waits for its time): SQS
 * delays a message by whole seconds, rounded up here, so a round arrives at its time or after; this
 * allows for the clocks of the sender and the receiver to differ a little.
 */
export const EARLY_ROUND_TOLERANCE_MS = 2_000;

/**
 * The rounds queue's client: a queue that has not taken the rounds within 2 attempts of 1 s to connect
 * and 2 s to answer (about 6 s) has refused them, and this invocation runs them, before the minute's
 * first rounds are past (CLIENT_CONFIG's 3 x (3 s + 5 s) would void them).
 */
export const DISPATCH_CLIENT_CONFIG = {
  ...CLIENT_CONFIG,
  maxAttempts: 2,
  requestHandler: { ...CLIENT_CONFIG.requestHandler, connectionTimeout: 1_000, requestTimeout: 2_000 },
} as const;

/** A round as the queue carries it: which shard of how many, and the round's time (epoch ms). */
export interface QueuedRound {
  shard: number;
  of: number;
  roundAt: number;
}

/**
 * Every round time of the shard's groups in the clock minute `minutesAhead` after the one of `start`,
 * [M, M + 60 s): what one scheduled invocation queues (the next minute). A schedule fires somewhere in
 * its minute: "EventBridge doesn't provide second-level precision in schedule expressions" (EventBridge
 * User Guide, "Tutorial: Create an EventBridge scheduled rule for AWS Lambda functions"). The minute it
 * runs in has begun, and rounds queued for it would begin late; the next one has not. Each invocation queues its own next minute, so one that fires later or earlier within its
 * minute leaves no round out and queues none twice.
 */
export function minuteRounds(groups: ProbeGroup[], start: number, minutesAhead = 1): number[] {
  const minute = (Math.floor(start / DISPATCH_WINDOW_MS) + minutesAhead) * DISPATCH_WINDOW_MS;
  const times = new Set<number>();
  for (const g of groups.filter((x) => x.probes.length > 0)) {
    const interval = g.detection.intervalSeconds * 1000;
    for (let t = Math.ceil(minute / interval) * interval; t < minute + DISPATCH_WINDOW_MS; t += interval) times.add(t);
  }
  return [...times].sort((a, b) => a - b);
}

/** What a scheduled invocation did: the rounds it queued, and what it ran itself because the queue refused them. */
export interface DispatchSummary {
  queued: number[];
  ranItself: number[];
  summary?: InvocationSummary;
}

/**
 * The scheduled invocation of a shard: queue the next clock minute's rounds (`minutesAhead`: 0 queues
 * the current one, as a drill that begins with the controller already running needs), each delayed
 * until its time (rounded up to the second: SQS delays by whole seconds, and a round never starts
 * early), 10 to a batch. A round the queue did not take (the call failed, or the entry did) is run
 * here, waiting for its time: the watch goes on, paid for by the wait.
 */
export async function dispatchMinute(groups: ProbeGroup[], shard: Shard, d: ProbeDeps, minutesAhead = 1): Promise<DispatchSummary> {
  const start = d.now();
  const times = minuteRounds(groups, start, minutesAhead);
  const queued: number[] = [];
  const refused: Array<{ roundAt: number; why: string }> = [];
  if (!d.roundsQueue) {
    refused.push(...times.map((roundAt) => ({ roundAt, why: 'no queue' })));
  } else {
    // The batches at once: a queue that does not answer costs the wait of one call, not of each.
    const batches: number[][] = [];
    for (let i = 0; i < times.length; i += SQS_MAX_BATCH) batches.push(times.slice(i, i + SQS_MAX_BATCH));
    const queue = d.roundsQueue;
    const now = d.now();
    await Promise.all(
      batches.map(async (batch) => {
        try {
          const out = await queue.sqs().send(
            new SendMessageBatchCommand({
              QueueUrl: queue.url(shard.index),
              Entries: batch.map((roundAt) => ({
                Id: `r${roundAt}`,
                MessageBody: JSON.stringify({ shard: shard.index, of: shard.of, roundAt } satisfies QueuedRound),
                DelaySeconds: Math.min(SQS_MAX_DELAY_SECONDS, Math.max(0, Math.ceil((roundAt - now) / 1000))),
              })),
            }),
          );
          // A batch can succeed in part: each entry is in Successful or in Failed (SendMessageBatch).
          const failed = new Map((out.Failed ?? []).map((f) => [f.Id, `${f.Code ?? 'Failed'}: ${f.Message ?? ''}`]));
          for (const roundAt of batch) {
            const why = failed.get(`r${roundAt}`);
            if (why === undefined && out.Successful?.some((ok) => ok.Id === `r${roundAt}`)) queued.push(roundAt);
            else refused.push({ roundAt, why: why ?? 'not in the answer' });
          }
        } catch (err) {
          refused.push(...batch.map((roundAt) => ({ roundAt, why: `${awsErrorName(err)}: ${(err as Error).message}` })));
        }
      }),
    );
    queued.sort((a, b) => a - b);
    refused.sort((a, b) => a.roundAt - b.roundAt);
  }
  d.log({
    level: refused.length > 0 && d.roundsQueue ? 'ERROR' : 'INFO',
    message: refused.length > 0 && d.roundsQueue ? 'probe rounds not queued: this invocation runs them' : 'probe rounds queued',
    shard: `${shard.index + 1}/${shard.of}`,
    queued: queued.length,
    ...(refused.length > 0 ? { ranItself: refused.length, why: [...new Set(refused.map((r) => r.why))] } : {}),
  });
  if (refused.length === 0) return { queued, ranItself: [] };
  // Watched on the dashboard: the rounds still run, but a function that waits for them costs again
  // what the queue saves (a probeVpc without a route to SQS, say).
  if (d.roundsQueue) metricsOf(d).emit({ timestamp: start, dimensions: {}, values: [{ name: METRIC.roundsNotQueued, unit: 'Count', value: refused.length }] });
  const ranItself = refused.map((r) => r.roundAt);
  const summary = await runProbeInvocation(groups, shard, d, FALLBACK_WINDOW_MS, { times: ranItself });
  return { queued, ranItself, summary };
}

/** A queued round's message, checked: anything else is logged and dropped (a redelivery would fail the same way). */
export function parseQueuedRound(body: string): QueuedRound {
  let v: unknown;
  try {
    v = JSON.parse(body);
  } catch {
    throw new Error(`probe round message: not JSON: ${JSON.stringify(body.slice(0, 200))}`);
  }
  const r = v as Partial<QueuedRound> | null;
  for (const field of ['shard', 'of', 'roundAt'] as const) {
    const x = r?.[field];
    if (typeof x !== 'number' || !Number.isInteger(x) || x < 0) throw new Error(`probe round message: ${field} must be a whole number, got ${JSON.stringify(x)}`);
  }
  return r as QueuedRound;
}

/**
 * One queued round: run it unless it is stale. A message the function could not take in time (a
 * redelivery after a failed attempt, a poller that lagged) is past: its round's time is over once the
 * next round of its shortest interval is due, and that round has a message of its own. One queued
 * before the groups were dealt into another number of shards names a shard that is not this one any more.
 */
export async function runQueuedRound(all: ProbeGroup[], round: QueuedRound, d: ProbeDeps, shards = shardGroups(all)): Promise<InvocationSummary | null> {
  const startedAt = d.now();
  // Queued before the groups were dealt into another number of shards (a deploy in between): the
  // groups of that split's shard, which the old schedule would have probed, are probed all the same.
  const split = round.of === shards.length ? shards : round.of <= MAX_SHARDS ? dealInto(all, round.of) : [];
  const groups = (split[round.shard] ?? []).filter((g) => g.probes.length > 0 && round.roundAt % (g.detection.intervalSeconds * 1000) === 0);
  const why =
    groups.length === 0 ? `no group of shard ${round.shard + 1} of ${round.of} is due at that time`
    // A queued round is delayed to its time or later, never earlier: one for later was not queued by
    // the schedule, and waiting for it would hold the invocation (and its concurrency) for nothing.
    : round.roundAt - startedAt > EARLY_ROUND_TOLERANCE_MS ? `delivered ${round.roundAt - startedAt} ms before its time: no queued round comes early`
    : null;
  if (why) {
    d.log({ level: 'WARN', message: 'probe round dropped', reason: why, shard: `${round.shard + 1}/${round.of}`, roundAt: new Date(round.roundAt).toISOString() });
    return null;
  }
  // One delivered late is void (runRound), and bridges a run of failures.
  return runProbeInvocation(split[round.shard], { index: round.shard, of: round.of }, d, Number.POSITIVE_INFINITY, { times: [round.roundAt], startedAt });
}

// The groups' probe settings are bundled into the function at synth (an inject file), so they have
// no size limit and no environment variable carries them.
declare const FAILOVER_PROBE_GROUPS: ProbeGroup[];

/** Kept from one invocation to the next while Lambda reuses the execution environment. */
const memory: ProbeMemory = new Map();
const heartbeat = newHeartbeat();

const roundsQueueUrls = once(() => requireEnv('ROUNDS_QUEUE_URLS').split(','));

const deps: ProbeDeps = {
  now: Date.now,
  sleepUntil: (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms - Date.now()))),
  check: checkAll,
  store: once(() => new Store(new DynamoDBClient(CLIENT_CONFIG), requireEnv('TABLE_NAME'))),
  sfn: once(() => new SFNClient(CLIENT_CONFIG)),
  sns: once(() => new SNSClient(CLIENT_CONFIG)),
  stateMachineArn: () => requireEnv('STATE_MACHINE_ARN'),
  topicArn: () => requireEnv('TOPIC_ARN'),
  // Each line names its own group; the invocation covers them all.
  log: logFor(undefined),
  metrics: lambdaMetrics(),
  memory,
  heartbeat,
  roundsQueue: process.env.ROUNDS_QUEUE_URLS
    ? {
        sqs: once(() => new SQSClient(DISPATCH_CLIENT_CONFIG)),
        url: (shard) => {
          const urls = roundsQueueUrls();
          const url = urls[roundsQueueOf(shard)];
          if (!url) throw new Error(`ROUNDS_QUEUE_URLS: no queue for shard ${shard + 1} (${urls.length} queue(s), ${SHARDS_PER_ROUNDS_QUEUE} shards each)`);
          return url;
        },
      }
    : undefined,
};

/** The schedule of shard `i` invokes the function with `{ "shard": i }` (lib/infra/detection.ts). */
export function shardOf(event: unknown, shards: number): number {
  const shard = (event as { shard?: unknown } | null)?.shard ?? 0;
  if (typeof shard !== 'number' || !Number.isInteger(shard) || shard < 0 || shard >= shards) {
    throw new Error(`shard: must be a whole number from 0 to ${shards - 1}, got ${JSON.stringify(shard)}`);
  }
  return shard;
}

/** An SQS event source mapping's event: `Records`, each with the message `body` (batch size 1: one record). */
interface SqsEvent {
  Records: Array<{ body: string; messageId?: string }>;
}

function isSqsEvent(event: unknown): event is SqsEvent {
  return Array.isArray((event as { Records?: unknown } | null)?.Records);
}

/**
 * The probe function's entry for both of its triggers, sharing `d` (one environment's memory):
 * a schedule's `{ "shard": i }`, and the queue's rounds.
 */
export async function handleProbeEvent(event: unknown, groups: ProbeGroup[], d: ProbeDeps): Promise<Record<string, unknown>> {
  const shards = shardGroups(groups);
  if (isSqsEvent(event)) {
    const rounds: Array<Record<string, unknown>> = [];
    for (const record of event.Records) {
      let round: QueuedRound;
      try {
        round = parseQueuedRound(record.body);
      } catch (err) {
        // Not a round this code can run: a redelivery would not change that, so it is not retried.
        d.log({ level: 'ERROR', message: 'probe round dropped', reason: (err as Error).message, messageId: record.messageId });
        continue;
      }
      const s = await runQueuedRound(groups, round, d, shards);
      rounds.push({ shard: round.shard, roundAt: round.roundAt, ...(s ? { rounds: s.rounds, failed: s.failed, void: s.void, held: s.held, actions: s.actions } : { dropped: true }) });
    }
    return { rounds };
  }
  const shard = shardOf(event, shards.length);
  const out = await dispatchMinute(shards[shard], { index: shard, of: shards.length }, d);
  return { shard, queued: out.queued.length, ranItself: out.ranItself.length, ...(out.summary ? { rounds: out.summary.rounds, failed: out.summary.failed, void: out.summary.void, actions: out.summary.actions } : {}) };
}

export const handler = async (event: unknown, context?: LambdaContext) => {
  if (context) logger.addContext(context);
  return handleProbeEvent(event, FAILOVER_PROBE_GROUPS, deps);
};
