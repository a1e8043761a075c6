/**
 * Never two writers, judged on data. Every scenario here has the group's clients writing through its
 * DNS name (the application on the primary, a pooled worker), and the invariant checker fails any run
 * in which the old database accepted a write once the replica's promotion had begun.
 */
import type { Drill } from '../drill';
import { clientWritesOf, writersOf } from '../truth';
import { failedOver, manual, nothingChanged, outage, runStarted, untouched, type Scenario } from './kit';

/** Every writer is fenced as the account holds it, and the old database took nothing after the promotion began. */
function everyWriterFenced(drill: Drill): string[] {
  const group = drill.config.groups[0].name;
  const late = clientWritesOf(drill, group).acceptedByOldAfterPromotionStarted;
  return [
    ...writersOf(drill, group).filter((w) => !w.fenced).map((w) => `${w.kind} ${w.id} can still take or make writes (${w.state})`),
    ...(late > 0 ? [`the old database accepted ${late} write(s) after the promotion began`] : []),
  ];
}

/** Writes the old database accepted from `client` after `from` (simulated ms). */
function oldWritesFrom(drill: Drill, client: RegExp, from: number): number {
  const topology = drill.topology.get(drill.config.groups[0].name)!;
  return drill.account.rds.writesOf(topology.sourceDbId, topology.sourceRegion).filter((w) => client.test(w.client) && w.at >= from).length;
}

export const WRITER_SCENARIOS: Scenario[] = [
  {
    name: 'writer-db-reachable',
    summary: 'The primary instance dies; its database stays up and a cron host and a worker keep writing to it. The database is fenced before the replica is promoted.',
    run: async (drill, group) => {
      drill.account.clients.add({ name: `${group.name}-cron`, zoneId: group.dns.hostedZoneId, dnsName: drill.topology.get(group.name)!.dbName!, intervalMs: 5_000 });
      await runStarted(drill, await outage(drill, 'down'));
      // Long enough for the clients' cached answer (the old record's TTL) to expire.
      await drill.advanceTo(drill.account.clock.now() + 6 * 60_000);
    },
    expect: () => ({
      outcomes: ['SUCCEEDED'],
      ...failedOver,
      check: (drill) => [
        ...everyWriterFenced(drill),
        ...(clientWritesOf(drill, drill.config.groups[0].name).acceptedByNew > 0 ? [] : ['no client reached the promoted database once its cached answer expired']),
        // The other writers really were writing to the old database after the primary died.
        ...(oldWritesFrom(drill, /cron|worker/, drill.outageStartedAt!) > 10 ? [] : ['no other client wrote to the old database after the outage began']),
      ],
    }),
  },
  {
    name: 'pooled-connections',
    summary: 'Clients hold pooled connections to the old database across the fence and the DNS flip: a security-group change alone would leave them writing; the fence closes them.',
    run: async (drill, group, options) => {
      for (const n of [1, 2, 3]) drill.account.clients.add({ name: `${group.name}-pool-${n}`, zoneId: group.dns.hostedZoneId, dnsName: drill.topology.get(group.name)!.dbName! });
      await drill.run(manual(group, options));
    },
    expect: () => ({
      outcomes: ['SUCCEEDED'],
      ...failedOver,
      check: (drill) => {
        const modify = drill.account.apiCalls.find((c) => c.operation === 'ModifyDBInstance' && !c.error);
        return [
          ...everyWriterFenced(drill),
          // Connection tracking: the pools went on writing after the old database's security groups changed.
          ...(modify && oldWritesFrom(drill, /pool/, modify.at + drill.account.latencies.rdsModifySeconds * 1000) > 0
            ? [] : ['the pooled connections did not outlive the security-group change (the simulator would be kinder than AWS)']),
        ];
      },
    }),
  },
  {
    name: 'wrong-region',
    summary: 'The configured instance id does not exist in the configured region (it runs in us-east-2): the dry run and the real run both end FENCE_FAILED, nothing promoted, DNS unchanged.',
    run: async (drill, group, options) => {
      // The instance runs, but in us-east-2: in the configured region EC2 answers InvalidInstanceID.NotFound.
      const seeded = drill.account.instance(group.primary.instanceId)!;
      drill.account.addInstance({ instanceId: seeded.instanceId, region: 'us-east-2', state: 'running', privateIpAddress: seeded.privateIpAddress, vpcId: seeded.vpcId });
      await drill.run({ ...manual(group, options, { dryRun: true }), name: 'dry-run' });
      await drill.run(manual(group, options));
    },
    expect: () => ({
      outcomes: ['FENCE_FAILED', 'FENCE_FAILED'],
      ...untouched,
      check: (drill, history) => [
        ...nothingChanged(drill),
        ...(history.every((h) => /not exist|not found/i.test(JSON.stringify(h.fence ?? h.summary))) ? [] : [`the records do not say the instance was not found: ${history.map((h) => h.summary).join(' | ')}`]),
      ],
    }),
  },
  {
    name: 'primary-restarted',
    summary: 'Someone starts the primary again right after the fence confirmed it stopped, before the promotion: it is stopped again and confirmed, or nothing is promoted; never two writers.',
    run: async (drill, group, options) => {
      const id = group.primary.instanceId;
      drill.account.whenever(() => drill.account.instance(id)?.state === 'stopped', (at) => {
        drill.account.ec2.setState(id, 'pending', at + 5_000);
        drill.account.ec2.setState(id, 'running', at + 15_000);
      });
      await drill.run(manual(group, options));
    },
    expect: () => ({
      outcomes: ['SUCCEEDED'],
      ...failedOver,
      check: (drill) => {
        const id = drill.config.groups[0].primary.instanceId;
        const restarted = drill.account.events.some((e) => e.resource === id && e.to === 'running');
        const stops = drill.account.apiCalls.filter((c) => c.operation === 'StopInstances' && !c.error && !c.dryRun).length;
        const promote = drill.account.apiCalls.find((c) => c.operation === 'PromoteReadReplica');
        const runningAtPromote = promote && drill.account.events.filter((e) => e.resource === id && e.at <= promote.at).at(-1)?.to === 'running';
        return [
          ...(restarted ? [] : ['the primary was never started again']),
          ...(stops >= 2 ? [] : [`StopInstances was sent ${stops} time(s): the restarted primary was not fenced again`]),
          ...(runningAtPromote ? ['the replica was promoted while the primary ran again'] : []),
          ...everyWriterFenced(drill),
        ];
      },
    }),
  },
  {
    name: 'asg-replaces-primary',
    summary: 'The primary belongs to an Auto Scaling group that would replace it once stopped: the group is kept from launching a replacement, so none serves writes while the replica is promoted.',
    run: async (drill, group, options) => {
      const topology = drill.topology.get(group.name)!;
      drill.account.autoscaling.addGroup({ name: `${group.name}-app`, region: group.primary.region, instanceIds: [group.primary.instanceId] });
      // A replacement runs the same application: it writes through the database's name once it runs.
      drill.account.autoscaling.onLaunch = (instanceId) => drill.account.clients.add({
        name: `${group.name}-app@${instanceId}`, zoneId: group.dns.hostedZoneId, dnsName: topology.dbName!,
        active: () => drill.account.instance(instanceId)?.state === 'running',
      });
      await drill.run(manual(group, options));
      // Long after the failover: a group left to itself would have replaced the stopped primary by now.
      await drill.advanceTo(drill.account.clock.now() + 10 * 60_000);
    },
    expect: () => ({
      outcomes: ['SUCCEEDED'],
      ...failedOver,
      check: (drill) => {
        const group = drill.config.groups[0];
        const launched = drill.account.autoscaling.replacements(`${group.name}-app`);
        const suspended = drill.account.apiCalls.some((c) => c.operation === 'SuspendProcesses' && !c.error);
        return [
          ...(suspended ? [] : ['the Auto Scaling group\'s processes were never suspended']),
          ...(launched.length ? [`the Auto Scaling group launched ${launched.join(', ')}`] : []),
          ...everyWriterFenced(drill),
        ];
      },
    }),
  },
  {
    name: 'source-region-down',
    summary: 'The primary region\'s EC2 and RDS APIs time out: nothing can be fenced or confirmed, so FENCE_FAILED and nothing promoted.',
    run: async (drill, group, options) => {
      drill.account.setRegionReachable(group.primary.region, false);
      await drill.run(manual(group, options));
    },
    expect: () => ({
      outcomes: ['FENCE_FAILED'],
      ...untouched,
      check: (drill) => (drill.account.apiCalls.some((c) => c.operation === 'PromoteReadReplica') ? ['PromoteReadReplica was called'] : []),
    }),
  },
  {
    name: 'source-region-down-attested',
    summary: 'The primary region is dark (its APIs time out, its instance and database are down), and the operator attests it: SUCCEEDED, and the record names who attested what, and why.',
    run: async (drill, group, options) => {
      const topology = drill.topology.get(group.name)!;
      await drill.primaryEndpoints.setMode('down');
      drill.account.rds.fail(topology.sourceDbId);
      drill.account.setRegionReachable(group.primary.region, false);
      await drill.run(manual(group, options, {
        attestation: { by: 'ops-oncall@example.com', reason: 'us-east-1 is dark (AWS Health event 1234); the instance and its database are unreachable' },
      }));
    },
    expect: () => ({
      outcomes: ['SUCCEEDED'],
      ...failedOver,
      // The instance is in the dark region: the account still holds it as it was.
      primaryState: 'running',
      check: (drill, history) => {
        const record = JSON.stringify(history[0] ?? {});
        return [
          ...(record.includes('ops-oncall@example.com') && record.includes('AWS Health event 1234') ? [] : ['the record does not name the attestation and its reason']),
          ...(drill.account.published.some((m) => m.message.includes('ops-oncall@example.com')) ? [] : ['no notification names the attestation']),
        ];
      },
    }),
  },
  {
    name: 'switchover-under-load',
    summary: 'A planned switchover while every client keeps writing: the writers are stopped first, then the replica catches up, then it is promoted: every write the old database acknowledged is on the promoted one.',
    run: async (drill, group, options) => {
      drill.account.setReplicationDelay(group.replica.dbInstanceIdentifier, 3);
      await drill.run(manual(group, options, { mode: 'switchover', reason: 'drill: planned maintenance under load' }));
    },
    expect: () => ({
      outcomes: ['SUCCEEDED'],
      ...failedOver,
      check: (drill, history) => {
        const group = drill.config.groups[0];
        const topology = drill.topology.get(group.name)!;
        const replica = drill.account.dbInstance(group.replica.dbInstanceIdentifier, group.replica.region)!;
        const position = drill.account.rds.appliedPosition(replica.id, replica.promotionStartedAt ?? Infinity, replica.region) ?? -Infinity;
        const lost = drill.account.rds.writesOf(topology.sourceDbId, topology.sourceRegion).filter((w) => w.at > position);
        return [
          ...(lost.length === 0 ? [] : [`${lost.length} write(s) the old database acknowledged are not on the promoted replica (the first at t+${drill.secondsSinceStart(lost[0].at)} s)`]),
          ...(history[0]?.dataLossSeconds === 0 ? [] : [`the record says data loss ${history[0]?.dataLossSeconds}`]),
          ...(drill.account.apiCalls.some((c) => c.operation === 'StopInstances' && (c.input as { Force?: boolean }).Force) ? ['a switchover force-stopped the primary'] : []),
          ...everyWriterFenced(drill),
        ];
      },
    }),
  },
];
