/**
 * The drill scenarios: each sets up the simulated account, starts the real workflow, and states what
 * the controller must have done, checked against the resources' final state and the history.
 */
import type { GroupConfig } from '../config';
import type { HistoryItem } from '../../lambdas/shared/history';
import type { Outcome } from '../../lambdas/shared/workflow-state';
import type { Drill } from './drill';
import type { EndpointMode } from './endpoints';

export interface ScenarioOptions {
  /** Pass `force` in the execution input (the RPO gate is overridden). */
  force?: boolean;
}

export interface Expectation {
  /** Per execution, in start order: its outcome (from its history item), or its error when it has none. */
  outcomes: Array<Outcome | 'InvalidInput'>;
  primaryState: string;
  promoted: boolean;
  dnsFlipped: boolean;
  /** Further checks: one sentence per failure. */
  check?: (drill: Drill, history: HistoryItem[]) => string[];
}

export interface Scenario {
  name: string;
  summary: string;
  run(drill: Drill, group: GroupConfig, options: ScenarioOptions): Promise<void>;
  expect(options: ScenarioOptions): Expectation;
}

const manual = (group: GroupConfig, options: ScenarioOptions, extra: Record<string, unknown> = {}) => ({
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
async function outage(drill: Drill, mode: Exclude<EndpointMode, 'up'>, minutes = 5) {
  drill.scheduleEndpoints({ at: drill.account.clock.now() + 23_000, mode });
  return drill.watch(minutes);
}

/** Run what the probes started, as Step Functions would. */
async function runStarted(drill: Drill, started: Awaited<ReturnType<Drill['watch']>>, ...others: Array<{ input: unknown; name?: string }>) {
  await drill.run(...started.map((e) => ({ input: e.input, name: e.name })), ...others);
}

const failedOver: Omit<Expectation, 'outcomes'> = { primaryState: 'stopped', promoted: true, dnsFlipped: true };
const untouched: Omit<Expectation, 'outcomes'> = { primaryState: 'running', promoted: false, dnsFlipped: false };

export const SCENARIOS: Scenario[] = [
  {
    name: 'primary-down',
    summary: 'The primary stops answering; the probes declare it down and start the workflow, which fences it, promotes the replica and flips DNS.',
    run: async (drill) => runStarted(drill, await outage(drill, 'down')),
    expect: () => ({
      outcomes: ['SUCCEEDED'],
      ...failedOver,
      check: (drill, history) => [
        ...(history[0]?.trigger.type === 'probe' ? [] : [`the failover was triggered by ${history[0]?.trigger.type}, not the probes`]),
        ...(history[0]?.steps.some((s) => s.step === 'confirm' && s.result.startsWith('outage confirmed')) ? [] : ['the outage was not confirmed before fencing']),
        ...(drill.account.startedExecutions.length === 1 ? [] : [`${drill.account.startedExecutions.length} executions started`]),
      ],
    }),
  },
  {
    name: 'flapping',
    summary: 'The endpoint fails and answers in turn, never failureThreshold rounds in a row: no failover.',
    run: async (drill, group) => {
      const t0 = drill.account.clock.now();
      const interval = group.detection.intervalSeconds * 1000;
      for (let k = 0; k < 24; k++) drill.scheduleEndpoints({ at: t0 + 5_000 + k * interval, mode: k % 2 === 0 ? 'down' : 'up' });
      await drill.watch(4);
    },
    expect: () => ({
      outcomes: [],
      ...untouched,
      check: (drill) => {
        const failedRounds = drill.logs.filter((l) => l.message === 'probe round' && String(l.round).startsWith('round failed')).length;
        return failedRounds >= 10 ? [] : [`only ${failedRounds} failed rounds: the endpoint did not flap`];
      },
    }),
  },
  {
    name: 'slow-endpoint',
    summary: 'The primary accepts connections but answers only after the probe timeout: counted as failed, one failover.',
    run: async (drill) => runStarted(drill, await outage(drill, 'slow')),
    expect: () => ({ outcomes: ['SUCCEEDED'], ...failedOver }),
  },
  {
    name: 'primary-recovers',
    summary: 'Down long enough to trigger, healthy again when the workflow confirms: ABORTED as a false alarm, nothing changed.',
    run: async (drill) => {
      const started = await outage(drill, 'down');
      await drill.primaryEndpoints.setMode('up');
      await runStarted(drill, started);
    },
    expect: () => ({
      outcomes: ['ABORTED'],
      ...untouched,
      check: (drill, history) => [
        ...(history[0]?.summary.startsWith('false alarm') ? [] : [`the record says ${history[0]?.summary}, not a false alarm`]),
        ...(drill.account.apiCalls.some((c) => c.mutating && c.service !== 'sns' && c.service !== 'sfn') ? ['a false alarm changed something'] : []),
      ],
    }),
  },
  {
    name: 'duplicate-triggers',
    summary: 'The probes, a CloudWatch alarm and an operator all trigger for the same outage at once: exactly one failover, the others SKIPPED.',
    run: async (drill, group, options) => {
      const started = await outage(drill, 'down');
      const alarm = drill.alarmExecutionInput(group.name, group.alarms[0]);
      await runStarted(drill, started, { input: alarm, name: 'alarm-1' }, { ...manual(group, options), name: 'manual-1' });
    },
    expect: () => ({
      outcomes: ['SKIPPED', 'SKIPPED', 'SUCCEEDED'],
      ...failedOver,
      check: (_drill, history) => {
        const triggers = history.map((h) => h.trigger.type).sort();
        return triggers.join() === 'alarm,manual,probe' ? [] : [`history triggers ${triggers.join()}, expected one each of alarm, manual, probe`];
      },
    }),
  },
  {
    name: 'paused',
    summary: 'The group is PAUSED for maintenance: the outage is detected and reported, no automatic failover.',
    run: async (drill, group) => {
      await drill.store.putGroupState({ group: group.name, status: 'PAUSED', reason: 'maintenance window (drill)', updatedAt: new Date(drill.account.clock.now()).toISOString() });
      await outage(drill, 'down', 3);
    },
    expect: () => ({
      outcomes: [],
      ...untouched,
      primaryState: 'running',
      check: (drill) => [
        ...(drill.account.startedExecutions.length === 0 ? [] : ['an execution was started for a PAUSED group']),
        ...(drill.account.published.filter((m) => m.subject?.includes('primary down, not failing over')).length === 1 ? [] : ['the outage was not reported exactly once']),
      ],
    }),
  },
  {
    name: 'dry-run',
    summary: 'Every step runs without side effects; the record lists what a real run would do.',
    run: async (drill, group, options) => void (await drill.run(manual(group, options, { dryRun: true }))),
    expect: () => ({
      outcomes: ['DRY_RUN'],
      ...untouched,
      check: (drill, history) => [
        ...(drill.account.apiCalls.some((c) => c.mutating && c.service !== 'sns' && !c.dryRun) ? ['a dry run made a changing AWS call'] : []),
        ...(drill.account.apiCalls.some((c) => c.operation === 'StopInstances' && c.dryRun && c.error === 'DryRunOperation')
          ? []
          : ['the dry run did not check the StopInstances permission with DryRun=true']),
        ...(history[0]?.plannedActions.length ? [] : ['the dry-run record lists no planned actions']),
      ],
    }),
  },
  {
    name: 'switchover',
    summary: 'A planned switchover: wait for replica lag 0, stop the primary gracefully, promote, flip: no data loss.',
    run: async (drill, group, options) => {
      // Lag drains from 4 s to 0 over the first minute, as it does once writes are quiesced.
      const start = drill.account.clock.now();
      drill.account.setReplicaLag(group.replica.dbInstanceIdentifier, (now) => Math.max(0, 4 - Math.floor((now - start) / 15_000)));
      await drill.run(manual(group, options, { mode: 'switchover', reason: 'drill: planned maintenance of the primary' }));
    },
    expect: () => ({
      outcomes: ['SUCCEEDED'],
      ...failedOver,
      check: (drill, history) => {
        const stop = drill.account.apiCalls.find((c) => c.operation === 'StopInstances');
        return [
          ...((stop?.input as any)?.Force ? ['a switchover force-stopped the primary'] : []),
          ...(history[0]?.dataLossSeconds === 0 ? [] : [`a switchover recorded data loss ${history[0]?.dataLossSeconds}`]),
        ];
      },
    }),
  },
  {
    name: 'throttled',
    summary: 'The first call of every AWS operation is throttled; retries with backoff still fail over.',
    run: async (drill, group, options) => {
      drill.account.throttleFirstCallOfEachOperation();
      await drill.run(manual(group, options));
    },
    expect: () => ({
      outcomes: ['SUCCEEDED'],
      ...failedOver,
      check: (drill) => (drill.account.apiCalls.some((c) => c.error && /thrott|limit/i.test(c.error)) ? [] : ['no call was throttled']),
    }),
  },
  {
    name: 'fence-stuck',
    summary: 'The primary never finishes stopping: FENCE_FAILED, the replica is never promoted, DNS unchanged.',
    run: async (drill, group, options) => {
      drill.account.setBehavior(group.primary.instanceId, { stopNeverCompletes: true });
      await drill.run(manual(group, options));
    },
    expect: () => ({
      outcomes: ['FENCE_FAILED'],
      primaryState: 'stopping',
      promoted: false,
      dnsFlipped: false,
      check: (drill) => (drill.account.apiCalls.some((c) => c.operation === 'PromoteReadReplica') ? ['PromoteReadReplica was called'] : []),
    }),
  },
  {
    name: 'promote-fails',
    summary: 'The promotion fails part-way: PROMOTION_FAILED, DNS unchanged.',
    run: async (drill, group, options) => {
      drill.account.setBehavior(group.replica.dbInstanceIdentifier, { promotionFails: true });
      await drill.run(manual(group, options));
    },
    expect: () => ({ outcomes: ['PROMOTION_FAILED'], primaryState: 'stopped', promoted: false, dnsFlipped: false }),
  },
  {
    name: 'dns-rejected',
    summary: 'Route 53 rejects the change batch: DNS_FAILED, recorded and notified.',
    run: async (drill, group, options) => {
      drill.account.inject({ service: 'route53', operation: 'ChangeResourceRecordSets', error: 'InvalidChangeBatch', message: 'RRSet of type CNAME with DNS name is not permitted (drill)', times: Infinity });
      await drill.run(manual(group, options));
    },
    expect: () => ({
      outcomes: ['DNS_FAILED'],
      primaryState: 'stopped',
      promoted: true,
      dnsFlipped: false,
      check: (drill) => (drill.account.published.some((m) => m.subject?.includes('DNS_FAILED')) ? [] : ['no DNS_FAILED notification was published']),
    }),
  },
  {
    name: 'replica-lagging',
    summary: 'The replica lags 120 s (maxLagSeconds 30): ABORTED without --force; with --force, SUCCEEDED and the data loss recorded.',
    run: async (drill, group, options) => {
      drill.account.setReplicaLag(group.replica.dbInstanceIdentifier, 120);
      await drill.run(manual(group, options));
    },
    expect: (options) =>
      options.force
        ? {
            outcomes: ['SUCCEEDED'],
            ...failedOver,
            check: (_drill, history) => (history[0]?.dataLossSeconds === 120 ? [] : [`data loss recorded as ${history[0]?.dataLossSeconds}, not 120`]),
          }
        : {
            outcomes: ['ABORTED'],
            ...untouched,
            check: (drill) => (drill.account.apiCalls.some((c) => c.mutating && c.service !== 'sns') ? ['an ABORTED run changed something'] : []),
          },
  },
];

export function findScenario(name: string): Scenario {
  const scenario = SCENARIOS.find((s) => s.name === name);
  if (!scenario) {
    throw new Error(`unknown scenario ${JSON.stringify(name)}; known scenarios: ${SCENARIOS.map((s) => s.name).join(', ')}`);
  }
  return scenario;
}
