/**
 * The benchmark's quick mode, run in-process as `npm run bench -- --quick --json` runs it: every figure is
 * there, with a sane type and a method sentence. No wall-clock thresholds: machines are shared and noisy;
 * the PASS/SHORT verdicts are the bench's own output, not this test's.
 */
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { monthlyCost } from '../../lib/bench/cost';
import { BUNDLE_TARGET_BYTES } from '../../lib/bench/bundles';
import { addedLatencyTarget } from '../../lib/bench/failover';
import type { ProbeMinute } from '../../lib/bench/probe-invocation';
import { formatBench, runBench, SIZES, type BenchReport } from '../../lib/bench/run';
import { median, seededRandom } from '../../lib/bench/stats';
import { lambdaNodePath, lambdaRuntimeMajor } from '../../lib/bench/lambda-node';
import { STEPS } from '../../lambdas/steps';

const method = expect.stringMatching(/\w+ \w+/);
const number = expect.any(Number);

describe('npm run bench -- --quick', () => {
  let report: BenchReport;
  let json: BenchReport;
  beforeAll(async () => {
    report = await runBench({ quick: true, seed: 7 });
    // What --json prints must survive the trip through JSON.
    json = JSON.parse(JSON.stringify(report)) as BenchReport;
  }, 180_000);

  it('says what it ran and where', () => {
    expect(json).toMatchObject({ mode: 'quick', seed: 7, machine: { node: expect.any(String), platform: expect.any(String), arch: expect.any(String), cpus: number }, wallSeconds: number });
    expect(Number.isNaN(Date.parse(json.startedAt))).toBe(false);
    // The probe function's measurements ran on the Node of the stack's Lambda runtime, where it is installed.
    const lambdaNode = lambdaNodePath();
    expect(json.machine.lambdaNode).toEqual({
      version: lambdaNode ? expect.stringMatching(new RegExp(`^v${lambdaRuntimeMajor()}\\.`)) : process.version,
      openssl: expect.any(String),
      arch: process.arch,
      lambdaRuntime: lambdaNode !== undefined,
    });
  });

  it('detectionSeconds: default and fast settings, every outage detected, median, min and worst', () => {
    expect(json.detectionSeconds.method).toEqual(method);
    expect(json.detectionSeconds.method).toContain('seeded with 7');
    expect(json.detectionSeconds.settings.map((s) => [s.name, s.intervalSeconds, s.failureThreshold])).toEqual([
      ['default', 10, 3],
      ['fast', 5, 2],
    ]);
    for (const s of json.detectionSeconds.settings) {
      expect(s.outages).toBe(SIZES.quick.outagesPerSetting);
      expect(s.samplesSeconds).toHaveLength(s.outages);
      for (const sample of s.samplesSeconds) {
        // The simulated clock makes detection a matter of round arithmetic, not of this machine's speed.
        expect(sample).toBeGreaterThan(s.expectedRangeSeconds[0]);
        expect(sample).toBeLessThanOrEqual(s.expectedRangeSeconds[1]);
      }
      expect(s.minSeconds!).toBeLessThanOrEqual(s.medianSeconds!);
      expect(s.medianSeconds!).toBeLessThanOrEqual(s.worstSeconds!);
      expect(typeof s.pass).toBe('boolean');
    }
  });

  it("breakGlassStart: a real break-glass process reached its first AWS call and its workflow's first call, with a prepared workflow", () => {
    const b = json.breakGlassStart;
    expect(b.method).toEqual(method);
    expect(b.prepared.samples).toHaveLength(SIZES.quick.breakGlass.prepared);
    for (const s of b.prepared.samples) {
      expect(s.firstCallMs).toBeGreaterThan(0);
      // The plan is printed (and the workflow found) between the two: the workflow's first call comes after the reads.
      expect(s.workflowFirstCallMs).toBeGreaterThan(s.firstCallMs);
    }
    expect(b.synthesized).toBeNull();
  });

  it('the same seed places the outages the same way', () => {
    const a = seededRandom(7);
    const b = seededRandom(7);
    expect([a(), a(), a()]).toEqual([b(), b(), b()]);
    expect(seededRandom(8)()).not.toBe(seededRandom(7)());
  });

  it('controllerOverheadMs: a median of the measured runs, the warm-up reported apart', () => {
    const o = json.controllerOverheadMs;
    expect(o.method).toEqual(method);
    expect(o.method).toContain('warm-up');
    expect(o.samplesMs).toHaveLength(SIZES.quick.failoverRuns);
    expect(o.samplesMs.every((ms) => ms > 0)).toBe(true);
    expect(o.medianMs).toBe(Math.round(median(o.samplesMs) * 10) / 10);
    expect(o.warmupMs).toBeGreaterThan(0);
  });

  it('addedLatencySeconds: RTO from the outage minus AWS service times and detection, against poll + 1 s per waiting step', () => {
    const a = json.addedLatencySeconds;
    expect(a.method).toEqual(method);
    expect(a.waitingSteps).toEqual(['fence', 'fence-db', 'promote', 'dns']);
    expect(a.targetSeconds).toBe(a.pollIntervalSeconds + 4);
    // The old database's fence is AWS's time too: its security-group change (20 s) and reboot (60 s).
    expect(a.breakdown.serviceSeconds).toEqual({ stop: 15, fenceDatabase: 80, promote: 180, dns: 45 });
    const { rtoFromOutageSeconds, detectionSeconds, serviceSeconds } = a.breakdown;
    expect(a.samplesSeconds[0]).toBeCloseTo(
      rtoFromOutageSeconds - detectionSeconds - serviceSeconds.stop - serviceSeconds.fenceDatabase - serviceSeconds.promote - serviceSeconds.dns, 2);
    expect(a.valueSeconds).toBeGreaterThanOrEqual(0);
    expect(typeof a.pass).toBe('boolean');
  });

  it('stateTransitionsPerFailover: every state entered, at least one per Lambda invocation', () => {
    const t = json.stateTransitionsPerFailover;
    expect(t.method).toEqual(method);
    expect(t.value).toBe(t.entered + t.retried);
    expect(t.states).toHaveLength(t.entered);
    expect(t.states[0]).toBe('Plan');
    expect(t.states).toContain('WaitForPromotion');
    expect(t.states.at(-1)).toBe('Done');
    expect(t.entered).toBeGreaterThan(t.lambdaInvocations);
  });

  it('lambdas: the steps, the probe function and the readiness function, each with bytes and a cold load time, none over 1.5 MB', () => {
    const l = json.lambdas;
    expect(l.method).toEqual(method);
    expect(l.functions.map((f) => f.name)).toEqual([...STEPS, 'probe', 'readiness']);
    for (const f of l.functions) {
      expect(f.bytes).toBeGreaterThan(1000);
      // Bytes, unlike load times, do not depend on the machine: a bundle over the target is a regression.
      expect(f.bytes, f.name).toBeLessThanOrEqual(BUNDLE_TARGET_BYTES);
      expect(f.coldLoadSamplesMs).toHaveLength(SIZES.quick.coldLoadSamples);
      expect(f.coldLoadMs).toBeGreaterThan(0);
      expect(f.entry).toMatch(/^lambdas\/(steps|probe|readiness)\/[\w-]+\.ts$/);
    }
    expect(l.pass).toBe(l.functions.every((f) => f.pass));
  });

  it('probeRound: 100 HTTPS endpoints, a tenth hanging: one invocation, the hanging ones failed by their timeout, the healthy ones passed', () => {
    const r = json.probeRound;
    expect(r.method).toEqual(method);
    expect(r.budget).toEqual({ probesPerInvocation: 200, memoryMb: 256, vcpu: 0.1447 });
    expect(r.cases).toHaveLength(1);
    const [p] = r.cases;
    // Counts of what the endpoints did, not of how fast this machine is: a hanging endpoint never
    // answers, so it always times out; whether a healthy one answered within its 2 s on this (perhaps
    // busy) machine is the report's verdict (pass), not this test's.
    // otherFailures 0: every healthy endpoint's certificate was accepted and its handshake completed.
    expect(p).toMatchObject({ endpoints: 100, protocol: 'https', hangingShare: 0.1, invocations: 1, shardProbes: 100, hanging: 10, otherFailures: 0 });
    expect(p.timedOut).toBeGreaterThanOrEqual(p.hanging);
    expect(p.ok + p.timedOut + p.otherFailures).toBe(p.endpoints);
    for (const figure of [p.wallMs, p.cpuMs, p.peakRssMb, p.cpuShareOfMemory]) expect(figure).toBeGreaterThan(0);
    expect(typeof r.pass).toBe('boolean');
  });

  it('monthlyCostUsd: 1, 10, 100 and 1,000 HTTPS endpoints, each line with its arithmetic, the dashboard and the key included, beside Route 53 and ARC', () => {
    const c = json.monthlyCostUsd;
    expect(c.method).toEqual(method);
    expect(c.cases.map((k) => [k.endpoints, k.protocol, k.shards])).toEqual([[1, 'https', 1], [10, 'https', 1], [100, 'https', 1], [1000, 'https', 5]]);
    for (const k of c.cases) {
      expect(k.totalUsd).toBeCloseTo(k.lines.reduce((sum, l) => sum + l.usd, 0), 9);
      for (const l of k.lines) expect(l.arithmetic).toMatch(/= \$/);
      expect(k.lines.find((l) => l.item === 'CloudWatch dashboard')!.usd).toBe(3);
      expect(k.lines.find((l) => l.item.startsWith('KMS key'))!.usd).toBe(1);
      expect(k.route53HealthChecksUsd).toBeCloseTo(k.endpoints * 1.5, 9);
      expect(k.arcClusterUsd).toBeCloseTo(730 * 2.5, 9);
      // The schedule fires a little after the minute: it queues rounds at 10, 20, ... 60 s in one batch,
      // and each runs in an invocation of its own.
      expect(k.invocation).toMatchObject({ protocol: 'https', sendCalls: 1, messages: 6, invocations: 7 });
      // A round's CPU, from rounds whose spread ran in real time, is what each round invocation is billed at least.
      expect(k.invocation.roundCpuMs).toBeGreaterThan(0);
      expect(k.invocation.cpuMs).toBeGreaterThanOrEqual(6 * k.invocation.roundCpuMs);
      expect(k.invocation.rounds).toBe(6);
      // While every round passes, one metric: ProbeRounds without dimensions.
      expect(k.invocation.metrics).toBe(1);
      // Warm: no probe-state read, the hold item read once a round; no healthy group's item written, the
      // shard's heartbeat every other minute (every 110 s), read first to merge what other environments wrote.
      expect(k.invocation.getItems).toBe(6.5);
      expect(k.invocation.putItems).toBeCloseTo(0.5, 9);
      // Cold: every group's counters, the hold item once a round, and the shard's heartbeat once.
      expect(k.invocation.cold.getItems).toBe(k.invocation.groups + 6 + 1);
      // The real Powertools lines: each round's summary and EMF document, and the schedule's line.
      expect(k.invocation.sampleLines.map((l) => JSON.parse(l).message ?? 'EMF').sort()).toEqual(['EMF', 'probe invocation', 'probe rounds queued']);
    }
    expect(c.pass).toBe(c.cases[2].totalUsd <= c.targetUsd && c.cases[3].totalUsd <= c.target1000Usd);
  });

  it('the table has a verdict per figure with a target and the method of each figure', () => {
    const text = formatBench(report);
    expect(text).toMatch(/detection, default .* (PASS|SHORT)/);
    expect(text).toMatch(/monthly cost, 100 HTTPS endpoint\(s\) .* (PASS|SHORT)/);
    expect(text).toContain('How each figure was measured:');
    for (const name of ['detectionSeconds', 'controllerOverheadMs', 'addedLatencySeconds', 'stateTransitionsPerFailover', 'lambdas', 'probeRound', 'breakGlassStart', 'monthlyCostUsd']) {
      expect(text).toContain(`  ${name}: `);
    }
  });
});

describe('bench arithmetic', () => {
  it('the added-latency target is one poll interval plus 1 s per waiting step', () => {
    expect(addedLatencyTarget(5)).toBe(9);
    expect(addedLatencyTarget(10)).toBe(14);
  });

  it('prices one endpoint from the measured quantities', () => {
    const invocation: ProbeMinute = {
      groups: 1, protocol: 'https', probesPerGroup: 1, rounds: 6, invocations: 7, sendCalls: 1, messages: 6, billedMs: 1_200, waitMs: 0, cpuMs: 40, roundCpuMs: 6,
      getItems: 6, putItems: 0.5, readRequestUnits: 6, writeRequestUnits: 0.5, logLines: 5, logBytes: 1000, metrics: 1,
      cold: { getItems: 7, putItems: 1 }, sampleLines: [],
    };
    const cost = monthlyCost(invocation, { transitions: 165, lambdaInvocations: 58, logBytes: 0, stepMemoryMb: 256 }, { alarmMetrics: 0, dashboards: 1 });
    const line = (item: string) => cost.lines.find((l) => l.item.startsWith(item))!.usd;
    expect(line('probe Lambda requests')).toBeCloseTo(43_800 * 7 * 0.2e-6, 9);
    expect(line('probe Lambda duration')).toBeCloseTo(43_800 * 1.2 * (256 / 1024) * 0.0000133334, 9);
    // A batch sent, each message received and deleted, and 5 pollers' empty long polls every 20 s.
    expect(line('SQS requests')).toBeCloseTo((43_800 * (1 + 2 * 6) + 43_800 * 15) * 0.4e-6, 9);
    expect(line('DynamoDB writes')).toBeCloseTo(43_800 * 0.5 * 0.625e-6, 9);
    expect(line('CloudWatch custom metrics (EMF)')).toBeCloseTo(0.3, 9);
    expect(line('CloudWatch dashboard')).toBe(3);
    // A stack without its dashboard (observability.dashboard false) is $3.00 less, line and total.
    const without = monthlyCost(invocation, { transitions: 165, lambdaInvocations: 58, logBytes: 0, stepMemoryMb: 256 }, { alarmMetrics: 0, dashboards: 0 });
    expect(without.lines.find((l) => l.item === 'CloudWatch dashboard')!.usd).toBe(0);
    expect(cost.totalUsd - without.totalUsd).toBeCloseTo(3, 9);
    expect(line('Step Functions (1 failover)')).toBeCloseTo(165 * 0.025e-3, 9);
    expect(cost.route53HealthChecksUsd).toBe(1.5);
  });
});

describe('bin/bench.ts', () => {
  it('refuses a seed that is not a whole number, with exit code 2', async () => {
    const tsx = resolve(__dirname, '..', '..', 'node_modules', '.bin', 'tsx');
    const run = promisify(execFile);
    const err = await run(tsx, [resolve(__dirname, '..', '..', 'bin', 'bench.ts'), '--seed', 'abc']).then(
      () => undefined,
      (e: { code?: number; stderr?: string }) => e,
    );
    expect(err?.code).toBe(2);
    expect(err?.stderr).toContain('--seed must be a whole number');
  });
});
