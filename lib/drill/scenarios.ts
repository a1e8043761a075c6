/**
 * The drill scenarios: each sets up the simulated account, starts the real workflow, and states what
 * the controller must have done, checked against the resources' final state and the history.
 */
import type { GroupConfig } from '../config';
import type { HistoryItem } from '../../lambdas/shared/history';
import type { Outcome } from '../../lambdas/shared/workflow-state';
import type { Drill } from './drill';

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

const failedOver: Omit<Expectation, 'outcomes'> = { primaryState: 'stopped', promoted: true, dnsFlipped: true };
const untouched: Omit<Expectation, 'outcomes'> = { primaryState: 'running', promoted: false, dnsFlipped: false };

export const SCENARIOS: Scenario[] = [
  {
    name: 'primary-down',
    summary: 'The primary fails; a manual trigger fences it, promotes the replica and flips DNS.',
    run: async (drill, group, options) => void (await drill.run(manual(group, options))),
    expect: () => ({ outcomes: ['SUCCEEDED'], ...failedOver }),
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
