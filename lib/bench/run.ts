/**
 * `npm run bench`: run every measurement, one group after another (never two at once on 2 cores), and
 * report each figure with how it was measured and whether it reaches its target.
 *
 *   const report = await runBench({ quick: true, seed: 42 });
 *   console.log(formatBench(report));
 */
import { cpus } from 'node:os';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadConfigFile, type FailoverConfig } from '../../lambdas/core/config';
import { synthFor } from '../runner/synth';
import { BUNDLING, RUNTIME } from '../infra/controller-function';
import { buildBundles, BUNDLE_TARGET_BYTES, COLD_LOAD_TARGET_MS, measureColdLoads, type LambdaBundle } from './bundles';
import { COST_TARGET_1000_USD, COST_TARGET_ENDPOINTS, COST_TARGET_USD, FAILOVER_STEP_BILLED_SECONDS, monthlyCost, shardsFor, type CostCase } from './cost';
import { PROBE_MEMORY_MB, PROBE_VCPU_SHARE, PROBES_PER_INVOCATION, shardGroups } from '../../lambdas/core/probe-shards';
import { DETECTION_SETTINGS, measureDetection, OFFSET_RANGE_MS, withDetection, type DetectionResult } from './detection';
import { measureFailovers, summarizeFailovers, WAITING_STEPS, type FailoverRun } from './failover';
import { STEPS } from '../../lambdas/steps';
import { MAX_SPREAD_MS, SPREAD_PER_GROUP_MS } from '../../lambdas/probe/run-probes';
import { INVOCATION_STARTS_AFTER_MINUTE_MS, LAMBDA_LINE_PREFIX_BYTES, REMOTE_ANSWER_MS, WARM_MINUTES } from './probe-invocation';
import { PROBE_ROUND_ENDPOINTS, PROBE_TIMEOUT_MS, type ProbeRoundCase } from './probe-round';
import { onLambdaNode, type NodeUsed } from './lambda-node';
import { HOURS_PER_MONTH, PRICE_REGION, PRICES, PRICES_READ_ON } from './prices';
import { round, seededRandom } from './stats';
import { scaleReport, scaleRow, type ScaleReport } from './scale';
import { measureBreakGlassStart, type BreakGlassStart } from './break-glass';

export interface BenchOptions {
  /** Smaller samples of the same measurements (for `npm test`). */
  quick?: boolean;
  /** PRNG seed for the outage offsets. */
  seed?: number;
  /** Default: failover.config.json beside the package. */
  configPath?: string;
  /** Progress lines (to stderr in the CLI). */
  progress?: (line: string) => void;
}

export const DEFAULT_SEED = 20260101;

export const SIZES = {
  full: { outagesPerSetting: 40, failoverRuns: 7, probeEndpoints: PROBE_ROUND_ENDPOINTS as readonly number[], coldLoadSamples: 5, breakGlass: { prepared: 5, synthesized: 3 }, scaleGroups: 1000 },
  // One round of 100 endpoints, a tenth hanging: its figures are reported, never judged by a test.
  quick: { outagesPerSetting: 4, failoverRuns: 2, probeEndpoints: [100] as readonly number[], coldLoadSamples: 1, breakGlass: { prepared: 1, synthesized: 0 }, scaleGroups: 10 },
} as const;

const COST_ENDPOINTS = [1, 10, 100, 1000] as const;

export interface BenchReport {
  mode: 'full' | 'quick';
  seed: number;
  machine: {
    node: string;
    platform: string;
    arch: string;
    cpus: number;
    /** The Node the probe function's rounds and minutes, and the bundles' cold loads, were measured on. */
    lambdaNode: NodeUsed;
  };
  startedAt: string;
  wallSeconds: number;
  detectionSeconds: {
    method: string;
    settings: Array<Omit<DetectionResult, 'offsetsMs'>>;
  };
  controllerOverheadMs: {
    method: string;
    medianMs: number;
    samplesMs: number[];
    warmupMs: number;
  };
  addedLatencySeconds: {
    method: string;
    valueSeconds: number;
    worstSeconds: number;
    samplesSeconds: number[];
    targetSeconds: number;
    pollIntervalSeconds: number;
    waitingSteps: string[];
    breakdown: { rtoFromOutageSeconds: number; detectionSeconds: number; serviceSeconds: FailoverRun['serviceSeconds'] };
    pass: boolean;
  };
  stateTransitionsPerFailover: {
    method: string;
    value: number;
    entered: number;
    retried: number;
    lambdaInvocations: number;
    states: string[];
  };
  lambdas: {
    method: string;
    targetBytes: number;
    targetColdLoadMs: number;
    functions: LambdaBundle[];
    pass: boolean;
  };
  probeRound: { method: string; budget: { probesPerInvocation: number; memoryMb: number; vcpu: number }; cases: ProbeRoundCase[]; pass: boolean };
  breakGlassStart: BreakGlassStart & { method: string };
  monthlyCostUsd: {
    method: string;
    pricesReadOn: string;
    region: string;
    prices: typeof PRICES;
    targetUsd: number;
    targetEndpoints: number;
    target1000Usd: number;
    cases: CostCase[];
    pass: boolean;
  };
  /** The synth of a config of many groups (lib/bench/scale.ts). */
  scale: ScaleReport;
}

export async function runBench(options: BenchOptions = {}): Promise<BenchReport> {
  const mode = options.quick ? 'quick' : 'full';
  const size = SIZES[mode];
  const seed = options.seed ?? DEFAULT_SEED;
  const progress = options.progress ?? (() => {});
  const config: FailoverConfig = loadConfigFile(options.configPath ?? resolve(__dirname, '..', '..', 'failover.config.json'));
  const startedAt = new Date();
  const t0 = performance.now();

  // The bundles build in esbuild's own process while this one synthesizes the stack for the drills (the
  // sizes do not depend on timing); nothing that is timed or probed starts until both are done.
  progress('lambdas: building 10 bundles; drill: synthesizing the stack');
  const building = buildBundles(config);
  building.catch(() => {}); // awaited below; this only keeps an early failure from being reported as unhandled
  let detection: DetectionResult[];
  let failovers: Awaited<ReturnType<typeof measureFailovers>>;
  let functions: LambdaBundle[];
  try {
    await new Promise((resolveTick) => setImmediate(resolveTick)); // let the build requests reach esbuild first
    for (const shape of [config, ...DETECTION_SETTINGS.map((s) => withDetection(config, s))]) synthFor(shape);
    await building;
    progress(`detection: ${size.outagesPerSetting} outages per setting (seed ${seed})`);
    detection = await measureDetection(config, size.outagesPerSetting, seededRandom(seed));
    progress(`failover: 1 warm-up + ${size.failoverRuns} primary-down runs`);
    failovers = await measureFailovers(config, size.failoverRuns);
    progress(`lambdas: cold loads, ${size.coldLoadSamples} per bundle`);
    functions = await measureColdLoads(await building, size.coldLoadSamples);
  } finally {
    await building.then((built) => built.dispose(), () => {});
  }
  const failoverSummary = summarizeFailovers(failovers);
  const first = failovers.runs[0];

  // HTTPS, as most deployed probes; plain HTTP beside it (full mode) shows what the handshakes cost.
  const roundCases = size.probeEndpoints.flatMap((endpoints) =>
    options.quick
      ? [{ endpoints, hangingShare: 0.1, protocol: 'https' as const }]
      : [
          { endpoints, hangingShare: 0, protocol: 'https' as const },
          { endpoints, hangingShare: 0.1, protocol: 'https' as const },
          { endpoints, hangingShare: 0, protocol: 'http' as const },
        ],
  );
  progress(`probe round: ${roundCases.map((c) => `${c.endpoints} ${c.protocol}${c.hangingShare ? ' (10 % hanging)' : ''}`).join(', ')} endpoints`);
  const { result: probeRounds, node: lambdaNode } = await onLambdaNode('measureProbeRounds', roundCases);

  const costProtocols = options.quick ? (['https'] as const) : (['https', 'http'] as const);
  progress(`cost: a probe shard's minutes for ${COST_ENDPOINTS.join(', ')} endpoints (${costProtocols.join(', ')})`);
  const synth = synthFor(config);
  // The drill's synth leaves the probes out (they point at its own servers), so its template has the
  // stack-wide alarms only; a probed deployment adds the probe function's errors alarm and ONE
  // heartbeat alarm, whatever the number of groups.
  // CloudWatch bills an alarm per metric it evaluates: a metric-math alarm counts each metric it reads.
  type AlarmResource = { Type: string; Properties: { MetricName?: string; Metrics?: Array<{ MetricStat?: unknown }> } };
  const stackAlarms = Object.values(synth.template.Resources as Record<string, AlarmResource>)
    .filter((r) => r.Type === 'AWS::CloudWatch::Alarm')
    .reduce((sum, r) => sum + (r.Properties.MetricName ? 1 : (r.Properties.Metrics ?? []).filter((m) => m.MetricStat).length), 0);
  const alarms = stackAlarms + 2;
  const dashboards = Object.values(synth.template.Resources as Record<string, AlarmResource>).filter((r) => r.Type === 'AWS::CloudWatch::Dashboard').length;
  const failoverUsage = {
    transitions: first.transitions.transitions,
    lambdaInvocations: first.lambdaInvocations,
    logBytes: first.executionLogBytes + first.stepLogBytes,
    stepMemoryMb: stepMemoryMb(synth.template, [...synth.stepsByFunctionArn.keys()]),
  };
  const cases: CostCase[] = [];
  for (const protocol of costProtocols) {
    for (const endpoints of COST_ENDPOINTS) {
      // One endpoint per group (see docs/cost.md); one shard measured, the largest, times the shards.
      const shards = shardsFor(endpoints);
      const largest = Math.max(...shardGroups(Array.from({ length: endpoints }, () => ({ probes: [0] }))).map((s) => s.length));
      const { result: minute } = await onLambdaNode('measureProbeMinute', largest, synth.table, protocol);
      cases.push(monthlyCost(minute, failoverUsage, { alarmMetrics: alarms, dashboards }, config.readiness, shards, endpoints));
    }
  }
  // The targets are judged on HTTPS endpoints, what most deployments probe.
  const targetCase = cases.find((c) => c.endpoints === COST_TARGET_ENDPOINTS && c.protocol === 'https')!;
  const target1000 = cases.find((c) => c.endpoints === 1000 && c.protocol === 'https')!;

  progress(`break-glass start-up: ${size.breakGlass.prepared} run(s) with a prepared workflow, ${size.breakGlass.synthesized} without`);
  const breakGlassStart = await measureBreakGlassStart(config, options.configPath ?? resolve(__dirname, '..', '..', 'failover.config.json'), size.breakGlass);

  const transitionCounts = new Set(failovers.runs.map((r) => r.transitions.transitions));
  const interval = (d: DetectionResult) => `${d.name} (${d.intervalSeconds} s interval, threshold ${d.failureThreshold})`;
  const addedSamples = failovers.runs.map((r) => r.addedLatencySeconds);
  const addedTarget = failovers.addedLatencyTargetSeconds;
  progress(`scale: synthesizing ${size.scaleGroups} groups`);
  const scale = scaleReport(size.scaleGroups);

  return {
    mode,
    seed,
    machine: { node: process.version, platform: process.platform, arch: process.arch, cpus: cpus().length, lambdaNode },
    startedAt: startedAt.toISOString(),
    wallSeconds: round((performance.now() - t0) / 1000, 1),
    detectionSeconds: {
      method:
        `In the drill (the real probe handler against local HTTP and TCP servers, invoked as deployed: the schedule's invocation each simulated minute queues the rounds on the simulated SQS queue, and each round runs when its message is handed over, the example group's 3 probes, quorum majority), ` +
        `${size.outagesPerSetting} outages per setting, each in a fresh drill, starting at an offset drawn uniformly from [${OFFSET_RANGE_MS[0] / 1000} s, ${OFFSET_RANGE_MS[1] / 1000} s) ` +
        `by a mulberry32 PRNG seeded with ${seed}; detection = the probe function's StartExecution time minus the time the endpoints stopped answering, on the simulated clock. ` +
        `Settings: ${detection.map(interval).join('; ')}.`,
      settings: detection.map(({ offsetsMs: _offsets, ...d }) => d),
    },
    controllerOverheadMs: {
      method:
        `Wall time of the failover execution on the local Step Functions runner (the real step code, the state transitions, the dynalite store writes) ` +
        `in the drill's primary-down scenario, with the simulated AWS answering at once and Wait states and retry pauses taking no wall time; ` +
        `median of ${size.failoverRuns} runs, after one warm-up run (${round(failovers.warmup.overheadMs, 1)} ms) that is not counted; no run is discarded.`,
      medianMs: failoverSummary.medianOverheadMs,
      samplesMs: failovers.runs.map((r) => r.overheadMs),
      warmupMs: failovers.warmup.overheadMs,
    },
    addedLatencySeconds: {
      method:
        `In the same primary-down runs: the time from the outage's start to the poll that saw the Route 53 change INSYNC, minus the simulated service times ` +
        `(force-stop ${first.serviceSeconds.stop} s, the old database's security-group change and reboot ${first.serviceSeconds.fenceDatabase} s, promotion ${first.serviceSeconds.promote} s, DNS sync ${first.serviceSeconds.dns} s, from the account's latencies) and minus detection; ` +
        `median of the runs (the simulated clock makes them equal). Target, read as "one poll interval (a poll can just miss AWS finishing) plus 1 s for each of the ` +
        `${WAITING_STEPS.length} waiting steps (${WAITING_STEPS.join(', ')})": ${failovers.pollIntervalSeconds} s + ${WAITING_STEPS.length} x 1 s = ${addedTarget} s, from workflow.pollIntervalSeconds in the config. ` +
        `The drill's service times are multiples of the ${failovers.pollIntervalSeconds} s poll, so polls land just after AWS finishes: this is near the best phase, not the worst.`,
      valueSeconds: failoverSummary.medianAddedLatencySeconds,
      worstSeconds: failoverSummary.worstAddedLatencySeconds,
      samplesSeconds: addedSamples,
      targetSeconds: addedTarget,
      pollIntervalSeconds: failovers.pollIntervalSeconds,
      waitingSteps: [...WAITING_STEPS],
      breakdown: { rtoFromOutageSeconds: first.rtoFromOutageSeconds, detectionSeconds: first.detectionSeconds, serviceSeconds: first.serviceSeconds },
      pass: failoverSummary.medianAddedLatencySeconds <= addedTarget,
    },
    stateTransitionsPerFailover: {
      method:
        `Counted from aws-local-stepfunctions' own event log of the primary-down execution (read by wrapping StateMachine.run for the run): every state entered ` +
        `counts 1 (Task, Choice, Wait, Pass, Succeed, Fail), and every retry 1 more, as Step Functions Standard bills them. ` +
        (transitionCounts.size === 1 ? `The same in all ${failovers.runs.length} runs.` : `Differed between runs: ${[...transitionCounts].join(', ')}; the first is shown.`),
      value: first.transitions.transitions,
      entered: first.transitions.entered,
      retried: first.transitions.retried,
      lambdaInvocations: first.lambdaInvocations,
      states: first.transitions.states,
    },
    lambdas: {
      method:
        `Each of the ${STEPS.length} step functions, the probe function and the readiness function built with esbuild ${esbuildVersion()} using the stack's own BUNDLING options (lib/infra/controller-function.ts: ` +
        `bundle, platform node, target ${BUNDLING.target}, minify, keepNames, mainFields ${BUNDLING.mainFields.join(',')}, no externals; the deployed groups through an inject file, as controllerFunction's bake does) into a temporary directory; ` +
        `size = the bytes of index.js. Cold load = require() of the bundle timed with process.hrtime in a fresh \`node -e\` process on ${onNode(lambdaNode)}, ` +
        `median of ${size.coldLoadSamples}, one process at a time. Target: at most ${BUNDLE_TARGET_BYTES.toLocaleString('en-US')} bytes (1.5 MB read as 10^6 bytes) and ${COLD_LOAD_TARGET_MS} ms each.`,
      targetBytes: BUNDLE_TARGET_BYTES,
      targetColdLoadMs: COLD_LOAD_TARGET_MS,
      functions,
      pass: functions.every((f) => f.pass),
    },
    probeRound: {
      method:
        `N endpoints (one HTTP probe each: GET, expect 200, half with bodyContains, timeout ${PROBE_TIMEOUT_MS} ms) split into shards of at most ${PROBES_PER_INVOCATION} probes, one probe invocation each (invocations = shards); ` +
        `one round of the largest shard run by the real runRound (its probes started one group every ${SPREAD_PER_GROUP_MS} ms, over at most ${MAX_SPREAD_MS / 1000} s of the 10 s interval, judged, counted; the store stubbed, the counters warm in memory) ` +
        `against 5 servers on 127.0.0.1 in a child process, so this process's CPU is the prober's alone: HTTPS with an RSA 2048 certificate and its intermediate CA, checked up to a trusted root (lib/bench/tls.ts; each probe a new connection and a full handshake, as deployed), and plain HTTP for comparison; every 10th endpoint accepts and never answers in the "10 % hanging" cases. ` +
        `Wall = the round's start to its end; CPU = process.cpuUsage (user + system) over the round, on ${onNode(lambdaNode)}, also shown as a share of what the probe function's ${PROBE_MEMORY_MB} MB (${round(PROBE_VCPU_SHARE, 4)} vCPU) gets over the 10 s interval: above 100 %, the round would outlast its interval there; ` +
        `peak memory = the highest RSS sampled every 20 ms, minus the RSS before the round. Passes when no healthy endpoint failed, every hanging one did, and the round ended within its interval, both here and at ${PROBE_MEMORY_MB} MB (its CPU under 100 % of that share).`,
      budget: { probesPerInvocation: PROBES_PER_INVOCATION, memoryMb: PROBE_MEMORY_MB, vcpu: round(PROBE_VCPU_SHARE, 4) },
      cases: probeRounds,
      pass: probeRounds.every((c) => c.pass),
    },
    breakGlassStart: {
      method:
        `A fresh \`node bin/failoverctl.js failover ${config.groups[0].name} --local --yes\` process per sample (tsx, as the package runs), one at a time, against a local HTTP endpoint as AWS_ENDPOINT_URL that ` +
        `records when each request arrives, answers GetItem with no item and every other call with ResourceNotFoundException (so the run ends at its first write). ` +
        `First call = spawn to the first request (the group's state and lock, read before the plan); workflow's first call = spawn to the first request after the process printed "Running local:". ` +
        `"Prepared": FAILOVER_CACHE_DIR holds the workflow as \`cdk synth\` leaves it; "synthesized": an empty one, so the run synthesizes the stack in-process (and saves it). Medians.`,
      ...breakGlassStart,
    },
    monthlyCostUsd: {
      method:
        `A month of ${HOURS_PER_MONTH} h; per shard (at most ${PROBES_PER_INVOCATION} probes) a scheduled invocation a minute that queues the minute's rounds on SQS, and one invocation per round; one endpoint per group (so N groups), intervals of 10 s, one failover a month, ` +
        `${PRICE_REGION} on-demand prices read on ${PRICES_READ_ON}, no free tier. Per-minute quantities are measured by running the handler's own handleProbeEvent for the largest shard, the schedule's event and then each queued message as the simulated queue hands it over, ` +
        `with the deployed Powertools Logger and Metrics writing to a captured stdout (the log bytes are their real output), on a simulated clock starting ${INVOCATION_STARTS_AFTER_MINUTE_MS} ms after a minute (as EventBridge delivers), ` +
        `on ${onNode(lambdaNode)}: real HTTPS probes (plain HTTP for comparison) to a local server in a child process (its half of the handshakes not counted), a real DynamoDB (dynalite, in this process: its CPU is counted) asked for ConsumedCapacity: one cold minute, then the average of ${WARM_MINUTES} warm ones (Lambda reuses the environment; the counters stay in its memory): ` +
        `billed duration per invocation = the largest of its waits on the simulated clock (the spread), its wall time here and its CPU time / ${PROBE_VCPU_SHARE.toFixed(4)} (the vCPU share at ${PROBE_MEMORY_MB} MB), + ${REMOTE_ANSWER_MS} ms per round for a remote endpoint's last answer (assumed); SQS requests (the batches sent, each message received and deleted, and 15 empty long polls a minute); ` +
        `read/write request units, log bytes (each line with Lambda's ${LAMBDA_LINE_PREFIX_BYTES}-byte text-format prefix, plus START/END/REPORT per invocation), distinct EMF metrics. ` +
        `The dashboard ($3) and the topic's KMS key ($1) are included. The failover's state transitions and Lambda invocations come from the ` +
        `primary-down run, each step invocation billed ${FAILOVER_STEP_BILLED_SECONDS} s at its ${failoverUsage.stepMemoryMb} MB; the probe function at ${PROBE_MEMORY_MB} MB. ` +
        `Not included: data transfer, NAT gateways for a probeVpc, X-Ray (1 trace a month), SNS (1 message), KMS requests (a few per notification), DynamoDB storage and backups (kilobytes), per-group metrics in the hours a group fails ($0.30 x 2 / 730 per group-hour). docs/cost.md writes the arithmetic out.`,
      pricesReadOn: PRICES_READ_ON,
      region: PRICE_REGION,
      prices: PRICES,
      targetUsd: COST_TARGET_USD,
      targetEndpoints: COST_TARGET_ENDPOINTS,
      cases,
      target1000Usd: COST_TARGET_1000_USD,
      pass: targetCase.totalUsd <= COST_TARGET_USD && target1000.totalUsd <= COST_TARGET_1000_USD,
    },
    scale,
  };
}

/** Which Node a measurement ran on, for the methods' texts. */
function onNode(n: NodeUsed): string {
  return n.lambdaRuntime
    ? `Node ${n.version} (OpenSSL ${n.openssl}), the Node of the Lambda runtime ${RUNTIME.name}, in a process of its own (lib/bench/lambda-node.ts), on this machine's ${n.arch} CPU (Lambda's arm64 is a Graviton)`
    : `Node ${n.version} (OpenSSL ${n.openssl}), this process's: the Node of the Lambda runtime ${RUNTIME.name} is not installed for ${n.arch} here (tools/lambda-node), and Lambda's arm64 is a Graviton`;
}

/** The memory of the step functions, from the synthesized template (all steps share one size today). */
function stepMemoryMb(template: Record<string, any>, functionArns: string[]): number {
  const sizes = functionArns.map((arn) => {
    const logicalId = arn.split(':function:drill-')[1];
    return Number(template.Resources[logicalId]?.Properties?.MemorySize ?? 128);
  });
  return Math.max(...sizes);
}

function esbuildVersion(): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('esbuild') as { version: string }).version;
}

// ------------------------------------------------------------------------------------------------
// The table
// ------------------------------------------------------------------------------------------------

const verdict = (pass: boolean) => (pass ? 'PASS' : 'SHORT');

/** The report as a person reads it: one row per figure, PASS or SHORT against its target, then the methods. */
export function formatBench(r: BenchReport): string {
  const rows: Array<[string, string, string, string]> = [];
  for (const d of r.detectionSeconds.settings) {
    rows.push([
      `detection, ${d.name} (${d.intervalSeconds} s x ${d.failureThreshold})`,
      d.medianSeconds === null
        ? 'none detected'
        : `median ${d.medianSeconds.toFixed(1)} s, min ${d.minSeconds!.toFixed(1)} s, worst ${d.worstSeconds!.toFixed(1)} s (${d.samplesSeconds.filter((s) => s !== null).length}/${d.outages} detected)`,
      `median <= ${d.targetMedianSeconds} s`,
      verdict(d.pass),
    ]);
  }
  rows.push(['controller overhead per failover', `median ${r.controllerOverheadMs.medianMs} ms (${r.controllerOverheadMs.samplesMs.join(', ')})`, '-', '-']);
  const a = r.addedLatencySeconds;
  rows.push(['added latency (RTO - AWS - detection)', `${a.valueSeconds} s (RTO from outage ${a.breakdown.rtoFromOutageSeconds} s)`, `<= ${a.targetSeconds} s`, verdict(a.pass)]);
  const t = r.stateTransitionsPerFailover;
  rows.push(['state transitions per failover', `${t.value} (${t.lambdaInvocations} Lambda invocations)`, '-', '-']);
  for (const f of r.lambdas.functions) {
    rows.push([`lambda ${f.name}`, `${(f.bytes / 1e6).toFixed(3)} MB, cold load ${f.coldLoadMs} ms`, `<= 1.5 MB, <= ${r.lambdas.targetColdLoadMs} ms`, verdict(f.pass)]);
  }
  for (const p of r.probeRound.cases) {
    rows.push([
      `probe round, ${p.endpoints} ${p.protocol.toUpperCase()} endpoints${p.hangingShare ? ' (10 % hanging)' : ''}`,
      `${p.invocations} invocation(s) of <= ${p.shardProbes}: wall ${p.wallMs} ms, CPU ${p.cpuMs} ms (${Math.round(p.cpuShareOfMemory * 100)} % of ${r.probeRound.budget.memoryMb} MB's), peak +${p.peakRssDeltaMb} MB; ${p.ok} ok, ${p.timedOut} timed out, ${p.healthyFailed} healthy failed`,
      'no healthy one fails',
      verdict(p.pass),
    ]);
  }
  const b = r.breakGlassStart;
  rows.push(['break-glass start-up, prepared workflow', `first AWS call ${b.prepared.medianFirstCallMs} ms, workflow's first ${b.prepared.medianWorkflowFirstCallMs} ms`, '-', '-']);
  if (b.synthesized) {
    rows.push(['break-glass start-up, synthesizing', `first AWS call ${b.synthesized.medianFirstCallMs} ms, workflow's first ${b.synthesized.medianWorkflowFirstCallMs} ms`, '-', '-']);
  }
  for (const c of r.monthlyCostUsd.cases) {
    const target = c.endpoints === r.monthlyCostUsd.targetEndpoints ? r.monthlyCostUsd.targetUsd : c.endpoints === 1000 ? r.monthlyCostUsd.target1000Usd : undefined;
    rows.push([
      `monthly cost, ${c.endpoints} ${c.protocol.toUpperCase()} endpoint(s) at 10 s`,
      `$${c.totalUsd.toFixed(2)} (Route 53 checks $${c.route53HealthChecksUsd.toFixed(2)}, ARC $${c.arcClusterUsd.toFixed(2)})`,
      target !== undefined ? `<= $${target}` : '-',
      target !== undefined ? verdict(c.totalUsd <= target) : '-',
    ]);
  }
  rows.push(scaleRow(r.scale, verdict));
  const header: [string, string, string, string] = ['figure', 'measured', 'target', ''];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  const out = [
    `failover-controller bench (${r.mode}, seed ${r.seed}) on ${r.machine.platform}/${r.machine.arch}, ${r.machine.cpus} CPUs, Node ${r.machine.node} (the probe function and the bundles on ${r.machine.lambdaNode.version}${r.machine.lambdaNode.lambdaRuntime ? `, ${RUNTIME.name}'s` : ''}); ${r.wallSeconds} s`,
    '',
    line(header),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map(line),
  ];

  const short = rows.filter((row) => row[3] === 'SHORT').map((row) => row[0]);
  out.push('', short.length === 0 ? 'Every figure with a target reaches it.' : `SHORT of target: ${short.join('; ')}.`);

  out.push('', `Monthly cost, line by line (${r.monthlyCostUsd.region}, prices read ${r.monthlyCostUsd.pricesReadOn}):`);
  for (const c of r.monthlyCostUsd.cases) {
    out.push(`  ${c.endpoints} ${c.protocol.toUpperCase()} endpoint(s), ${c.groups} group(s), ${c.shards} shard(s), ${trimNumber(c.invocation.invocations * c.shards)} probe invocation(s) a minute: $${c.totalUsd.toFixed(2)} a month`);
    for (const l of c.lines) out.push(`    ${l.item}: ${l.arithmetic}`);
    out.push(`    compare: Route 53 health checks ${c.route53Arithmetic}; ARC cluster ${c.arcArithmetic}`);
  }

  out.push('', 'How each figure was measured:');
  const methods: Array<[string, string]> = [
    ['detectionSeconds', r.detectionSeconds.method],
    ['controllerOverheadMs', r.controllerOverheadMs.method],
    ['addedLatencySeconds', r.addedLatencySeconds.method],
    ['stateTransitionsPerFailover', r.stateTransitionsPerFailover.method],
    ['lambdas', r.lambdas.method],
    ['probeRound', r.probeRound.method],
    ['breakGlassStart', r.breakGlassStart.method],
    ['monthlyCostUsd', r.monthlyCostUsd.method],
    ['scale', r.scale.method],
  ];
  for (const [name, method] of methods) out.push(`  ${name}: ${method}`);
  return out.join('\n');
}


/** A count that may be an average, without trailing zeros. */
function trimNumber(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toFixed(2).replace(/0+$/, '');
}
