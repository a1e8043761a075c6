/**
 * What every drill scenario is made of: its shape (setup, run, what the controller must have done),
 * and the moves scenarios share (an outage the probes watch, a manual trigger, what changed).
 */
import type { FailoverConfig, GroupConfig } from '../../../lambdas/core/config';
import type { HistoryItem } from '../../../lambdas/core/history';
import type { Outcome } from '../../../lambdas/core/workflow-state';
import type { ReadinessCheck } from '../../../lambdas/readiness/evaluate';
import type { Drill } from '../drill';
import type { EndpointMode } from '../endpoints';

export interface ScenarioOptions {
  /** Pass `force` in the execution input (the RPO gate is overridden). */
  force?: boolean;
}

export interface Expectation {
  /** Per execution, in start order: its outcome (from its history item), or its error when it has none. */
  outcomes: Array<Outcome | 'InvalidInput' | 'RecordNotStored'>;
  primaryState: string;
  promoted: boolean;
  dnsFlipped: boolean;
  /** Further checks: one sentence per failure. */
  check?: (drill: Drill, history: HistoryItem[]) => string[] | Promise<string[]>;
}

/** What a readiness scenario must find: exactly these problems (each by its check and words of its resource and reason). */
export interface ReadinessExpectation {
  ready: boolean;
  problems: Array<{ check: ReadinessCheck; resource?: string; reason: string[] }>;
  /** Notes that must be there too (others may be). */
  notes?: Array<{ check: ReadinessCheck; note: string[] }>;
}

export interface Scenario {
  name: string;
  summary: string;
  /**
   * A readiness scenario: `run` shapes the account, then the scheduled readiness evaluation runs once
   * and must find what this says; no execution runs and nothing changes.
   */
  readiness?: ReadinessExpectation;
  /** The scenario's own settings, applied to the drilled config. */
  config?: (config: FailoverConfig) => FailoverConfig;
  run(drill: Drill, group: GroupConfig, options: ScenarioOptions): Promise<void>;
  expect(options: ScenarioOptions): Expectation;
}

export const manual = (group: GroupConfig, options: ScenarioOptions, extra: Record<string, unknown> = {}) => ({
  input: {
    group: group.name,
    reason: 'drill: the primary stopped answering',
    trigger: { type: 'manual', by: 'failoverctl drill' },
    ...(options.force ? { force: true } : {}),
    ...extra,
  },
});

/**
 * The primary's endpoints go `mode` 23 s into the drill (between two rounds), and the probe function
 * watches as deployed, once a minute, until it starts a failover (or `minutes` pass).
 */
export async function outage(drill: Drill, mode: Exclude<EndpointMode, 'up'>, minutes = 5) {
  drill.scheduleEndpoints({ at: drill.account.clock.now() + 23_000, mode });
  return drill.watch(minutes);
}

/** Run what the probes started, as Step Functions would. */
export async function runStarted(drill: Drill, started: Awaited<ReturnType<Drill['watch']>>, ...others: Array<{ input: unknown; name?: string }>) {
  await drill.run(...started.map((e) => ({ input: e.input, name: e.name })), ...others);
}

export const DEAD_EXECUTION = 'arn:aws:states:us-west-2:123456789012:execution:drill-StateMachine:died-long-ago';
export const LIVE_EXECUTION = 'arn:aws:states:us-west-2:123456789012:execution:drill-StateMachine:still-running';

export function fencedAs(history: HistoryItem[], state: string): string[] {
  const fence = history[0]?.fence;
  return fence?.confirmed && fence.finalState === state ? [] : [`the fence is recorded as ${JSON.stringify(fence)}, not confirmed ${state}`];
}

export function nothingChanged(drill: Drill): string[] {
  const changes = drill.account.apiCalls.filter((c) => c.mutating && !['sns', 'sqs'].includes(c.service));
  return changes.length === 0 ? [] : [`changing calls: ${changes.map((c) => c.operation).join(', ')}`];
}

export const failedOver: Omit<Expectation, 'outcomes'> = { primaryState: 'stopped', promoted: true, dnsFlipped: true };
export const untouched: Omit<Expectation, 'outcomes'> = { primaryState: 'running', promoted: false, dnsFlipped: false };

