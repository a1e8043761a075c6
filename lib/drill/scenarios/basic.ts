/**
 * The first round's scenarios: detection, triggers, locks, the fence of the EC2 primary, promotion and
 * DNS faults, the store and the topic failing.
 */
import {
  DEAD_EXECUTION, LIVE_EXECUTION, failedOver, fencedAs, manual, nothingChanged, outage, runStarted, untouched, type Scenario,
} from './kit';
import { actualLossSeconds } from '../truth';

export const BASIC_SCENARIOS: Scenario[] = [
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
        ...(drill.account.apiCalls.some((c) => c.mutating && !['sns', 'sfn', 'sqs'].includes(c.service)) ? ['a false alarm changed something'] : []),
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
        ...(drill.account.apiCalls.some((c) => c.mutating && !['sns', 'sqs'].includes(c.service) && !c.dryRun) ? ['a dry run made a changing AWS call'] : []),
        ...(drill.account.apiCalls.some((c) => c.operation === 'StopInstances' && c.dryRun && c.error === 'DryRunOperation')
          ? []
          : ['the dry run did not check the StopInstances permission with DryRun=true']),
        ...(history[0]?.plannedActions.length ? [] : ['the dry-run record lists no planned actions']),
      ],
    }),
  },
  {
    name: 'switchover',
    summary: 'A planned switchover: stop the writers (the primary gracefully, then the old database\'s fence), wait until the replica has every write, promote, flip: no data loss.',
    run: async (drill, group, options) => {
      // Lag drains from 4 s to 0 over the first minute, as it does once writes are quiesced.
      const start = drill.account.clock.now();
      drill.account.setReplicationDelay(group.replica.dbInstanceIdentifier, (now: number) => (now < start ? 4 : Math.max(0, 4 - Math.floor((now - start) / 15_000))));
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
    name: 'fence-stuck-isolate',
    summary: 'The primary never finishes stopping, and the group fences by isolation: its interfaces go into the deny-all security group, then SUCCEEDED.',
    config: (config) => ({
      ...config,
      groups: config.groups.map((g, i) =>
        i === 0 ? { ...g, primary: { ...g.primary, vpcId: 'vpc-0a1b2c3d4e5f60718' }, fence: { ...g.fence, onUnconfirmed: 'isolate' as const } } : g,
      ),
    }),
    run: async (drill, group, options) => {
      drill.account.setBehavior(group.primary.instanceId, { stopNeverCompletes: true });
      await drill.run(manual(group, options));
    },
    expect: () => ({
      outcomes: ['SUCCEEDED'],
      ...failedOver,
      primaryState: 'stopping',
      check: (drill, history) => {
        const fence = history[0]?.fence;
        const interfaces = drill.account.networkInterfacesOf(drill.config.groups[0].primary.instanceId);
        return [
          ...(fence?.method === 'isolate' && fence.confirmed ? [] : [`the record says the fence was ${JSON.stringify(fence)}`]),
          ...(interfaces.every((n) => n.groups.length === 1 && drill.isolationGroupIds.has(n.groups[0])) ? [] : ['an interface of the primary is not isolated']),
        ];
      },
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
    summary: 'The replica lags 120 s (maxLagSeconds 30): ABORTED without --force; with --force, SUCCEEDED and a data-loss estimate no smaller than the real loss.',
    run: async (drill, group, options) => {
      drill.account.setReplicationDelay(group.replica.dbInstanceIdentifier, 120);
      await drill.run(manual(group, options));
    },
    expect: (options) =>
      options.force
        ? {
            outcomes: ['SUCCEEDED'],
            ...failedOver,
            check: (drill, history) => {
              const actual = actualLossSeconds(drill, drill.config.groups[0].name);
              const estimate = history[0]?.dataLossSeconds ?? null;
              return estimate !== null && actual !== null && estimate >= actual ? [] : [`data loss recorded as ${estimate}, the real loss ${actual}`];
            },
          }
        : {
            outcomes: ['ABORTED'],
            ...untouched,
            check: (drill) => (drill.account.apiCalls.some((c) => c.mutating && !['sns', 'sqs'].includes(c.service)) ? ['an ABORTED run changed something'] : []),
          },
  },
  {
    name: 'crash-after-stop',
    summary: "The fence step's function dies right after StopInstances succeeded; the retry neither fails nor misreports.",
    run: async (drill, group, options) => {
      drill.injectTaskFaults([{ state: 'FencePrimary', when: 'after', times: 1, error: 'Lambda.Unknown' }]);
      await drill.run(manual(group, options));
    },
    expect: () => ({
      outcomes: ['SUCCEEDED'],
      ...failedOver,
      check: (drill, history) => {
        const stops = drill.account.apiCalls.filter((c) => c.operation === 'StopInstances');
        return [
          ...(stops.length >= 2 && stops.every((c) => !c.error) ? [] : [`StopInstances calls: ${stops.map((c) => c.error ?? 'ok').join(', ')}; expected the retried stop to succeed again`]),
          ...(history[0]?.fence?.finalState === 'stopped' && history[0].fence.confirmed ? [] : ['the fence is not recorded as confirmed stopped']),
        ];
      },
    }),
  },
  {
    name: 'stale-lock',
    summary: 'A lock left by an execution that died; after its expiry the next execution takes it over.',
    run: async (drill, group, options) => {
      const now = drill.account.clock.now();
      await drill.store.acquireLock(group.name, DEAD_EXECUTION, now - 2 * 3600_000, 3600);
      await drill.run(manual(group, options));
    },
    expect: () => ({
      outcomes: ['SUCCEEDED'],
      ...failedOver,
      check: (_drill, history) =>
        history[0]?.steps[0]?.result.includes(`taking over the expired lock of ${DEAD_EXECUTION}`) ? [] : [`the lock step says: ${history[0]?.steps[0]?.result}`],
    }),
  },
  {
    name: 'lock-held',
    summary: 'A live execution holds the lock; this one ends SKIPPED without touching anything.',
    run: async (drill, group, options) => {
      await drill.store.acquireLock(group.name, LIVE_EXECUTION, drill.account.clock.now(), 3600);
      await drill.run(manual(group, options));
    },
    expect: () => ({
      outcomes: ['SKIPPED'],
      ...untouched,
      check: async (drill) => [
        ...(drill.account.apiCalls.length === 0 ? [] : [`a SKIPPED run made ${drill.account.apiCalls.length} AWS calls`]),
        ...((await drill.store.getLock(drill.config.groups[0].name))?.holder === LIVE_EXECUTION ? [] : ['the live execution lost its lock']),
      ],
    }),
  },
  {
    name: 'instance-already-stopped',
    summary: 'The primary is already stopped: it counts as fenced, and the failover proceeds.',
    run: async (drill, group, options) => {
      drill.account.addInstance({ instanceId: group.primary.instanceId, region: group.primary.region, state: 'stopped' });
      await drill.run(manual(group, options));
    },
    expect: () => ({ outcomes: ['SUCCEEDED'], ...failedOver, check: (_drill, history) => fencedAs(history, 'stopped') }),
  },
  {
    name: 'instance-terminated',
    summary: 'The primary is terminated: the fence sees it so before sending anything, which counts as fenced.',
    run: async (drill, group, options) => {
      drill.account.addInstance({ instanceId: group.primary.instanceId, region: group.primary.region, state: 'terminated' });
      await drill.run(manual(group, options));
    },
    expect: () => ({
      outcomes: ['SUCCEEDED'],
      ...failedOver,
      primaryState: 'terminated',
      check: (drill, history) => [
        ...fencedAs(history, 'terminated'),
        // Nothing to stop: a stop would meet IncorrectInstanceState.
        ...(drill.account.apiCalls.some((c) => c.operation === 'StopInstances' && !c.dryRun) ? ['StopInstances was sent to a terminated instance'] : []),
      ],
    }),
  },
  {
    name: 'replica-not-replica',
    summary: 'The "replica" is already a standalone instance: ABORTED before fencing, nothing changed.',
    run: async (drill, group, options) => {
      drill.account.addDbInstance({ id: group.replica.dbInstanceIdentifier, region: group.replica.region });
      await drill.run(manual(group, options));
    },
    expect: () => ({
      outcomes: ['ABORTED'],
      ...untouched,
      // Standalone from the start: "promoted" in the report only says it is not a replica.
      promoted: true,
      check: (drill, history) => [
        ...nothingChanged(drill),
        ...(history[0]?.summary === 'not promoting: orders-replica is not a read replica (already standalone?)' ? [] : [`the record says: ${history[0]?.summary}`]),
      ],
    }),
  },
  {
    name: 'replica-unavailable',
    summary: 'The replica is storage-full: ABORTED before fencing, nothing changed.',
    run: async (drill, group, options) => {
      const replica = drill.account.dbInstance(group.replica.dbInstanceIdentifier)!;
      drill.account.addDbInstance({ id: replica.id, region: replica.region, replicaOf: replica.replicaOf, status: 'storage-full' });
      await drill.run(manual(group, options));
    },
    expect: () => ({
      outcomes: ['ABORTED'],
      ...untouched,
      check: (drill, history) => [
        ...nothingChanged(drill),
        ...(history[0]?.summary === 'not promoting: replica orders-replica is storage-full, not available' ? [] : [`the record says: ${history[0]?.summary}`]),
      ],
    }),
  },
  {
    name: 'store-unavailable',
    summary: 'DynamoDB fails every write of the history item: retried, then the execution fails loudly and the complete record goes out in a notification and the log.',
    run: async (drill, group, options) => {
      drill.injectStoreFault({ operation: 'PutItem', error: 'InternalServerError', when: (input) => String(input.Item?.sk).startsWith('EXEC#') });
      await drill.run(manual(group, options));
    },
    expect: () => ({
      outcomes: ['RecordNotStored'],
      ...failedOver,
      check: (drill) => {
        const lost = drill.account.published.find((m) => m.message.includes('THE HISTORY ITEM COULD NOT BE STORED'));
        const logged = drill.logs.find((l) => l.message === 'history item not stored');
        return [
          ...(lost && /"outcome":"SUCCEEDED"/.test(lost.message) ? [] : ['no notification carries the complete record']),
          ...(logged ? [] : ['the record was not logged']),
        ];
      },
    }),
  },
  {
    name: 'notify-fails',
    summary: 'SNS refuses to publish: the failover is neither undone nor reported as failed; the record says the notification failed.',
    run: async (drill, group, options) => {
      drill.account.inject({ service: 'sns', operation: 'Publish', error: 'AuthorizationErrorException', message: 'not authorized to publish (drill)', times: Infinity });
      await drill.run(manual(group, options));
    },
    expect: () => ({
      outcomes: ['SUCCEEDED'],
      ...failedOver,
      check: (_drill, history) =>
        history[0]?.notification?.notified === false && /AuthorizationError/.test(history[0].notification.error ?? '')
          ? []
          : [`the record's notification: ${JSON.stringify(history[0]?.notification)}`],
    }),
  },
];

