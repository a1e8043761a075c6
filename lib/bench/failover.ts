/**
 * What one failover costs in time and in state transitions, from the drill's primary-down scenario (the
 * probes detect the outage, the real workflow fences, promotes and flips DNS against the simulated
 * account): the controller's own wall time, the latency that polling and the workflow add to the
 * outage, and the Step Functions state transitions the execution enters.
 */
import type { FailoverConfig } from '../../lambdas/core/config';
import { Drill } from '../drill/drill';
import { checkInvariants } from '../drill/invariants';
import { findScenario } from '../drill/scenarios';
import { countTransitions, withStateEvents } from './state-events';
import { median, round } from './stats';

/** The workflow's waiting steps: each ends only when a poll sees AWS finish. */
export const WAITING_STEPS = ['fence', 'fence-db', 'promote', 'dns'] as const;

export interface FailoverRun {
  /** Wall time of the execution on the local runner: step code, state transitions, store calls. */
  overheadMs: number;
  detectionSeconds: number;
  /** From the outage's start to the poll that saw the DNS change INSYNC. */
  rtoFromOutageSeconds: number;
  /** The simulated account's service times for this failover: force-stop, promotion, DNS sync. */
  serviceSeconds: { stop: number; fenceDatabase: number; promote: number; dns: number };
  addedLatencySeconds: number;
  transitions: ReturnType<typeof countTransitions>;
  /** Lambda invocations of the execution (one per Task state entered, retries included). */
  lambdaInvocations: number;
  /** Bytes of the execution's state events (entered/exited with their data): a floor for its execution log. */
  executionLogBytes: number;
  /** Bytes of the log lines the steps wrote. */
  stepLogBytes: number;
}

export interface FailoverResult {
  warmup: FailoverRun;
  runs: FailoverRun[];
  pollIntervalSeconds: number;
  addedLatencyTargetSeconds: number;
}

/** One warm-up run (not counted), then `runs` measured runs of the primary-down scenario. */
export async function measureFailovers(config: FailoverConfig, runs: number): Promise<FailoverResult> {
  const warmup = await failoverOnce(config);
  const measured: FailoverRun[] = [];
  for (let i = 0; i < runs; i++) measured.push(await failoverOnce(config));
  const pollIntervalSeconds = config.workflow.pollIntervalSeconds;
  return { warmup, runs: measured, pollIntervalSeconds, addedLatencyTargetSeconds: addedLatencyTarget(pollIntervalSeconds) };
}

/**
 * The target for the added latency, read as: one poll interval (a poll may just miss AWS finishing)
 * plus 1 s per waiting step (the step's own calls and transitions).
 */
export function addedLatencyTarget(pollIntervalSeconds: number): number {
  return pollIntervalSeconds + 1 * WAITING_STEPS.length;
}

async function failoverOnce(config: FailoverConfig): Promise<FailoverRun> {
  const scenario = findScenario('primary-down');
  const group = config.groups[0];
  const drill = await Drill.create(config);
  try {
    const { executions: eventLogs } = await withStateEvents(() => scenario.run(drill, group, {}));
    if (drill.executions.length !== 1 || eventLogs.length !== 1) {
      throw new Error(`primary-down ran ${drill.executions.length} execution(s), expected exactly one`);
    }
    const execution = drill.executions[0];
    const history = await drill.store.listHistory({ group: group.name, limit: 10 });
    const item = history.find((h) => h.executionArn === execution.executionArn);
    const violations = await checkInvariants(drill);
    if (execution.status !== 'SUCCEEDED' || item?.outcome !== 'SUCCEEDED' || violations.length > 0) {
      throw new Error(`primary-down did not fail over cleanly: ${execution.status}, ${item?.outcome ?? 'no record'}${violations.length ? `; ${violations.join('; ')}` : ''}`);
    }
    const dnsEnded = item.steps.find((s) => s.step === 'dns')?.endedAt;
    const outageAt = drill.outageStartedAt;
    const startedAt = drill.account.startedExecutions[0]?.at;
    if (!dnsEnded || outageAt === undefined || startedAt === undefined) throw new Error('primary-down left no outage start, StartExecution or DNS INSYNC time');

    const latencies = drill.account.latencies;
    const serviceSeconds = {
      stop: latencies.ec2ForceStopSeconds,
      // The old database's fence: its security-group change, then its reboot.
      fenceDatabase: latencies.rdsModifySeconds + latencies.rdsRebootSeconds,
      promote: latencies.rdsPromoteModifyingSeconds + latencies.rdsPromoteRebootingSeconds,
      dns: latencies.route53SyncSeconds,
    };
    const detectionSeconds = (startedAt - outageAt) / 1000;
    const rtoFromOutageSeconds = (Date.parse(dnsEnded) - outageAt) / 1000;
    const events = eventLogs[0];
    return {
      overheadMs: execution.wallMs,
      detectionSeconds: round(detectionSeconds, 3),
      rtoFromOutageSeconds: round(rtoFromOutageSeconds, 3),
      serviceSeconds,
      addedLatencySeconds: round(rtoFromOutageSeconds - serviceSeconds.stop - serviceSeconds.fenceDatabase - serviceSeconds.promote - serviceSeconds.dns - detectionSeconds, 3),
      transitions: countTransitions(events),
      lambdaInvocations: execution.tasks.length,
      executionLogBytes: events
        .filter((e) => e.type !== 'StateRetried')
        .reduce((sum, e) => sum + Buffer.byteLength(JSON.stringify(e)) + 1, 0),
      // The probe function's lines (metrics, rounds) are counted with detection, not here.
      stepLogBytes: drill.logs
        .filter((l) => !('_aws' in l) && l.message !== 'probe round')
        .reduce((sum, l) => sum + Buffer.byteLength(JSON.stringify(l)) + 1, 0),
    };
  } finally {
    await drill.close();
  }
}

export function summarizeFailovers(result: FailoverResult) {
  const overhead = result.runs.map((r) => r.overheadMs);
  const added = result.runs.map((r) => r.addedLatencySeconds);
  return { medianOverheadMs: round(median(overhead), 1), medianAddedLatencySeconds: round(median(added), 2), worstAddedLatencySeconds: Math.max(...added) };
}
