/**
 * Replica lag as RDS reports it, and several candidate replicas. The simulated replica really is
 * behind by its replication delay; what the controller sees is AWS/RDS ReplicaLag as each engine
 * computes it, one datapoint a minute, arriving late. The report puts the controller's data-loss
 * estimate next to the real loss, from the writes the old database acknowledged and the replica had.
 */
import type { Drill } from '../drill';
import { actualLossSeconds } from '../truth';
import { failedOver, manual, nothingChanged, outage, runStarted, untouched, type Scenario, type ScenarioOptions } from './kit';

const MINUTE = 60_000;

/** The estimate in the record against the real loss: never smaller, and (where asked) not far above. */
function honestEstimate(drill: Drill, history: Array<{ dataLossSeconds: number | null }>, within?: number): string[] {
  const estimate = history.find((h) => h.dataLossSeconds !== undefined)?.dataLossSeconds ?? null;
  const actual = actualLoss(drill);
  if (actual === null) return ['nothing was promoted'];
  if (estimate === null) return [`the record has no estimate (the real loss was ${actual} s)`];
  return [
    ...(estimate >= actual ? [] : [`the estimate ${estimate} s is smaller than the real loss ${actual} s`]),
    ...(within !== undefined && estimate - actual > within ? [`the estimate ${estimate} s is more than ${within} s above the real loss ${actual} s`] : []),
  ];
}

const actualLoss = (drill: Drill) => actualLossSeconds(drill, drill.config.groups[0].name);

/** Re-seed the group's databases as MySQL (the drill seeds PostgreSQL), keeping what they hold. */
function asMysql(drill: Drill): void {
  const group = drill.config.groups[0];
  const topology = drill.topology.get(group.name)!;
  const source = drill.account.dbInstance(topology.sourceDbId, topology.sourceRegion)!;
  drill.account.addDbInstance({ id: source.id, region: source.region, engine: 'mysql', endpointAddress: source.endpointAddress });
  for (const c of drill.candidates(group.name)) {
    const r = drill.account.dbInstance(c.dbInstanceIdentifier, c.region)!;
    drill.account.addDbInstance({ id: r.id, region: r.region, engine: 'mysql', replicaOf: r.replicaOf, endpointAddress: r.endpointAddress });
  }
}

const forced = (options: ScenarioOptions) => options.force === true;

export const LAG_SCENARIOS: Scenario[] = [
  {
    name: 'pg-source-dies',
    summary: 'PostgreSQL: the primary and its database die together; the replica was ~1 s behind and its ReplicaLag now grows one second per second, as RDS reports it. The failover goes ahead automatically; the estimate covers the real loss and is within 60 s of it.',
    run: async (drill, group) => {
      const topology = drill.topology.get(group.name)!;
      drill.account.rds.fail(topology.sourceDbId, drill.account.clock.now() + 23_000);
      await runStarted(drill, await outage(drill, 'down'));
    },
    expect: () => ({
      outcomes: ['SUCCEEDED'],
      ...failedOver,
      check: (drill, history) => [
        ...(history[0]?.trigger.type === 'probe' ? [] : ['the failover was not automatic']),
        ...honestEstimate(drill, history, 60),
        ...((actualLoss(drill) ?? 0) > 0 ? [] : ['the source died with nothing in flight: the scenario proves nothing']),
      ],
    }),
  },
  {
    name: 'mysql-replication-broken',
    summary: 'MySQL: replication on the replica stopped with an error 10 minutes ago (ReplicaLag -1, StatusInfos error): ABORTED before anything is fenced.',
    run: async (drill, group, options) => {
      asMysql(drill);
      drill.account.rds.setReplicationState(group.replica.dbInstanceIdentifier, 'error', drill.account.clock.now() - 10 * MINUTE);
      await drill.run(manual(group, options));
    },
    expect: () => ({
      outcomes: ['ABORTED'],
      ...untouched,
      check: (drill, history) => [
        ...nothingChanged(drill),
        ...(/-1|not running|error|stopped/i.test(history[0]?.summary ?? '') ? [] : [`the record does not say replication is broken: ${history[0]?.summary}`]),
      ],
    }),
  },
  {
    name: 'replica-fell-behind',
    summary: 'The replica has been falling further behind for 10 minutes (12 s to over 500 s): ABORTED naming the trend; with --force, SUCCEEDED and the estimate covers the real loss.',
    run: async (drill, group, options) => {
      const since = drill.account.clock.now() - 10 * MINUTE;
      drill.account.setReplicationDelay(group.replica.dbInstanceIdentifier, (t) => (t < since ? 12 : 12 + ((t - since) / 1000) * 0.88));
      await drill.run(manual(group, options));
    },
    expect: (options) =>
      forced(options)
        ? { outcomes: ['SUCCEEDED'], ...failedOver, check: (drill, history) => honestEstimate(drill, history) }
        : {
            outcomes: ['ABORTED'],
            ...untouched,
            check: (drill, history) => [
              ...nothingChanged(drill),
              ...(/climb|grow|ris|trend|behind/i.test(history[0]?.summary ?? '') ? [] : [`the record does not name the trend: ${history[0]?.summary}`]),
            ],
          },
  },
  {
    name: 'idle-source',
    summary: 'PostgreSQL: nothing has written to the source for 10 minutes, so ReplicaLag saw-tooths up to ~300 s between RDS\'s WAL switches although the replica has everything: SUCCEEDED, no data lost, the estimate honest.',
    run: async (drill, group) => {
      for (const name of [`${group.name}-app@${group.primary.instanceId}`, `${group.name}-worker`]) drill.account.clients.stop(name);
      await drill.advanceTo(drill.account.clock.now() + 10 * MINUTE);
      await runStarted(drill, await outage(drill, 'down'));
    },
    expect: () => ({
      outcomes: ['SUCCEEDED'],
      ...failedOver,
      check: (drill, history) => [...honestEstimate(drill, history), ...(actualLoss(drill) === 0 ? [] : [`data was lost: ${actualLoss(drill)} s`])],
    }),
  },
  {
    name: 'lag-metric-delayed',
    summary: 'ReplicaLag datapoints reach CloudWatch 3 minutes late: the decision uses what was observed before the outage, with no false abort.',
    run: async (drill) => {
      drill.account.cloudwatch.setPublishDelay(180);
      await runStarted(drill, await outage(drill, 'down'));
    },
    expect: () => ({ outcomes: ['SUCCEEDED'], ...failedOver, check: (drill, history) => honestEstimate(drill, history) }),
  },
  {
    name: 'lag-metric-missing',
    summary: 'No ReplicaLag (nor slot lag) datapoint exists at all: ABORTED naming the missing metric; with --force, SUCCEEDED and the loss recorded as unknown.',
    run: async (drill, group, options) => {
      const topology = drill.topology.get(group.name)!;
      drill.account.cloudwatch.suppress('ReplicaLag', group.replica.dbInstanceIdentifier);
      drill.account.cloudwatch.suppress('OldestReplicationSlotLag', topology.sourceDbId);
      await drill.run(manual(group, options));
    },
    expect: (options) =>
      forced(options)
        ? {
            outcomes: ['SUCCEEDED'],
            ...failedOver,
            check: (_drill, history) => (history[0]?.dataLossSeconds === null ? [] : [`the record says data loss ${history[0]?.dataLossSeconds}, not unknown`]),
          }
        : {
            outcomes: ['ABORTED'],
            ...untouched,
            check: (drill, history) => [
              ...nothingChanged(drill),
              ...(/ReplicaLag/.test(history[0]?.summary ?? '') ? [] : [`the record does not name the missing metric: ${history[0]?.summary}`]),
            ],
          },
  },
  {
    name: 'two-replicas',
    summary: 'Two candidate replicas, one 40 s behind and one 1 s behind: the 1 s one is promoted and DNS points at it; the other is left alone and named in the record.',
    config: (config) => ({
      ...config,
      groups: config.groups.map((g, i) => (i > 0 ? g : {
        ...g,
        additionalReplicas: [{ dbInstanceIdentifier: 'orders-replica-east', region: 'us-east-2' }],
        dns: {
          ...g.dns,
          records: g.dns.records.map((r) => (r.type === 'A' ? { ...r, valuesByReplica: { 'orders-replica-east': ['198.51.100.30'] } } : r)),
        },
      })),
    }),
    run: async (drill, group, options) => {
      drill.account.setReplicationDelay(group.replica.dbInstanceIdentifier, 40);
      drill.account.setReplicationDelay('orders-replica-east', 1);
      await drill.run(manual(group, options));
    },
    expect: () => ({
      outcomes: ['SUCCEEDED'],
      primaryState: 'stopped',
      // "promoted" and "dnsFlipped" speak of the chosen replica.
      promoted: true,
      dnsFlipped: true,
      check: (drill, history) => {
        const group = drill.config.groups[0];
        const east = drill.account.dbInstance('orders-replica-east', 'us-east-2')!;
        const west = drill.account.dbInstance(group.replica.dbInstanceIdentifier, group.replica.region)!;
        const a = drill.account.record(group.dns.hostedZoneId, 'api.orders.example.com', 'A');
        const cname = drill.account.record(group.dns.hostedZoneId, 'db.orders.example.com', 'CNAME');
        return [
          ...(east.promotedAt !== undefined && !east.replicaOf ? [] : ['orders-replica-east was not promoted']),
          ...(west.promotionStartedAt === undefined && west.replicaOf ? [] : [`${west.id} was touched`]),
          ...(cname?.values[0] === east.endpointAddress ? [] : [`db.orders points at ${cname?.values[0]}`]),
          ...(a?.values.join() === '198.51.100.30' ? [] : [`api.orders points at ${a?.values.join()}`]),
          ...(JSON.stringify(history[0] ?? {}).includes(west.id) ? [] : [`the record does not name ${west.id}`]),
          ...honestEstimate(drill, history),
        ];
      },
    }),
  },
];
