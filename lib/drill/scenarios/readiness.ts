/**
 * Readiness: the drift that dooms a failover long before the outage, found by the scheduled readiness
 * evaluation (lambdas/readiness) against the simulated account. Each scenario shapes the seeded account
 * the way drift would, lets the probe function run for two minutes as deployed, then runs the
 * readiness function once; no execution runs and nothing is changed.
 */
import { DEAD_EXECUTION, untouched, type Scenario } from './kit';
import type { Drill } from '../drill';
import { DRILL_REGION } from '../../runner/synth';

/** The probe function watches for two minutes, as it would have before any evaluation. */
const probesRun = (drill: Drill) => drill.watch(2);

const noExecution = () => ({ outcomes: [], ...untouched });

export const READINESS_SCENARIOS: Scenario[] = [
  {
    name: 'ready',
    summary: 'Readiness of the example group as seeded: every check passes, so the group is ready and nobody is notified.',
    readiness: { ready: true, problems: [] },
    run: async (drill) => {
      await probesRun(drill);
    },
    expect: noExecution,
  },
  {
    name: 'not-ready-wrong-region',
    summary: 'Readiness when the primary instance id exists only in another region (us-east-2): the primary check names the region and the id.',
    readiness: {
      ready: false,
      problems: [{ check: 'primary', resource: 'i-0a1b2c3d4e5f60718 (us-east-1)', reason: ['does not exist in us-east-1', 'InvalidInstanceID.NotFound', 'primary.region', 'FENCE_FAILED'] }],
    },
    run: async (drill, group) => {
      const seeded = drill.account.instance(group.primary.instanceId)!;
      // The same id, now known to EC2 only in us-east-2.
      drill.account.addInstance({ instanceId: seeded.instanceId, region: 'us-east-2', state: 'running', privateIpAddress: seeded.privateIpAddress, vpcId: seeded.vpcId });
      await probesRun(drill);
    },
    expect: noExecution,
  },
  {
    name: 'not-ready-ttl',
    summary: 'Readiness when someone raised the database record\'s live TTL to 3600 s: the DNS check gives the seconds it adds to the recovery clients see.',
    readiness: {
      ready: false,
      problems: [{ check: 'dns', resource: 'CNAME db.orders.example.com', reason: ['live TTL is 3600 s', 'configured 30 s', 'adds up to 3570 s'] }],
    },
    run: async (drill, group) => {
      const record = drill.account.record(group.dns.hostedZoneId, 'db.orders.example.com', 'CNAME')!;
      drill.account.putRecord(group.dns.hostedZoneId, { ...record, ttl: 3600 });
      await probesRun(drill);
    },
    expect: noExecution,
  },
  {
    name: 'not-ready-replication',
    summary: 'Readiness when the replica\'s replication state is error: the replica check says it receives nothing (before the lag datapoints show it).',
    readiness: {
      ready: false,
      problems: [{ check: 'replica', resource: 'orders-replica (us-west-2)', reason: ['read replication status of orders-replica is error', 'not receiving'] }],
    },
    run: async (drill, group) => {
      drill.account.rds.setReplicationState(group.replica.dbInstanceIdentifier, 'error');
      await probesRun(drill);
    },
    expect: noExecution,
  },
  {
    name: 'not-ready-alias',
    summary: 'Readiness when a configured record was turned into an alias (to a load balancer): the DNS check says it is no simple record.',
    readiness: {
      ready: false,
      problems: [{ check: 'dns', resource: 'A api.orders.example.com', reason: ['is an alias to orders-alb-1234567890.us-east-1.elb.amazonaws.com, not a simple record', 'simple records only'] }],
    },
    run: async (drill, group) => {
      drill.account.putRecord(group.dns.hostedZoneId, {
        name: 'api.orders.example.com', type: 'A', ttl: 0, values: [],
        alias: { dnsName: 'orders-alb-1234567890.us-east-1.elb.amazonaws.com', hostedZoneId: 'Z35SXDOTRQ7X7K', evaluateTargetHealth: true },
      });
      drill.topology.get(group.name)!.recordsBefore.set('api.orders.example.com A', []);
      await probesRun(drill);
    },
    expect: noExecution,
  },
  {
    name: 'not-ready-asg',
    summary: 'Readiness when the primary belongs to an Auto Scaling group: ready, with a note that the fence suspends the group\'s replacing processes first (the writers issue\'s fence plan).',
    readiness: {
      ready: true,
      problems: [],
      notes: [{ check: 'primary', note: ['Auto Scaling group orders-asg', 'HealthCheck, ReplaceUnhealthy, Launch, AZRebalance'] }],
    },
    run: async (drill, group) => {
      drill.account.autoscaling.addGroup({ name: 'orders-asg', region: group.primary.region, instanceIds: [group.primary.instanceId] });
      await probesRun(drill);
    },
    expect: noExecution,
  },
  {
    name: 'not-ready-fence-denied',
    summary: 'Readiness when a policy change (a service control policy, say) denies StopInstances on the primary: the DryRun is refused, the fence check says a failover would end FENCE_FAILED.',
    readiness: {
      ready: false,
      problems: [{ check: 'fence', resource: 'i-0a1b2c3d4e5f60718 (us-east-1)', reason: ['UnauthorizedOperation', 'FENCE_FAILED'] }],
    },
    run: async (drill) => {
      drill.account.inject({
        service: 'ec2', operation: 'StopInstances', error: 'UnauthorizedOperation', times: Infinity,
        message: 'You are not authorized to perform this operation. User: arn:aws:sts::123456789012:assumed-role/fence/fn is not authorized to perform: ec2:StopInstances with an explicit deny in a service control policy',
      });
      await probesRun(drill);
    },
    expect: noExecution,
  },
  {
    name: 'not-ready-aurora',
    summary: 'Readiness when the configured replica is an Aurora PostgreSQL instance: the replica check says clearly that Aurora is not supported.',
    readiness: {
      ready: false,
      problems: [{ check: 'replica', resource: 'orders-replica (us-west-2)', reason: ['aurora-postgresql', 'Aurora is not supported'] }],
    },
    run: async (drill, group) => {
      const source = drill.topology.get(group.name)!;
      drill.account.addDbInstance({
        id: group.replica.dbInstanceIdentifier, region: group.replica.region, engine: 'aurora-postgresql', engineVersion: '16.4',
        replicaOf: `arn:aws:rds:${source.sourceRegion}:${drill.account.accountId}:db:${source.sourceDbId}`,
      });
      await probesRun(drill);
    },
    expect: noExecution,
  },
  {
    name: 'not-ready-alarm-missing',
    summary: 'Readiness when the alarm a group listens to was renamed away: the alarms check says the rule would never start a failover.',
    readiness: {
      ready: false,
      problems: [{ check: 'alarms', resource: 'orders-primary-status-check-failed', reason: [`exists in ${DRILL_REGION}`, 'never start a failover'] }],
    },
    run: async (drill, group) => {
      drill.account.cloudwatch.removeAlarm(group.alarms[0], DRILL_REGION);
      await probesRun(drill);
    },
    expect: noExecution,
  },
  {
    name: 'not-ready-probes-failing',
    summary: 'Readiness while the primary\'s endpoints fail: a group that is down is not ready (it is failing over, or should be).',
    readiness: {
      ready: false,
      problems: [{ check: 'probes', resource: 'orders', reason: ['the probes fail now', 'failed round(s) in a row'] }],
    },
    run: async (drill) => {
      // Down for two rounds only, under the failure threshold of three: no failover starts.
      drill.scheduleEndpoints({ at: drill.account.clock.now() + 95_000, mode: 'down' });
      await probesRun(drill);
    },
    expect: noExecution,
  },
  {
    name: 'not-ready-paused',
    summary: 'Readiness of a PAUSED group whose lock a dead execution still holds: the state check names both.',
    readiness: {
      ready: false,
      problems: [
        { check: 'state', resource: 'orders', reason: ['PAUSED', 'failoverctl resume orders'] },
        { check: 'state', resource: 'lock of orders', reason: [DEAD_EXECUTION, 'SKIPPED', 'failoverctl unlock'] },
      ],
    },
    run: async (drill, group) => {
      const now = drill.account.clock.now();
      await drill.store.putGroupState({ group: group.name, status: 'PAUSED', reason: 'database maintenance', updatedAt: new Date(now).toISOString() });
      await drill.store.acquireLock(group.name, DEAD_EXECUTION, now, 3600);
      await probesRun(drill);
    },
    expect: noExecution,
  },
  {
    name: 'not-ready-flipped',
    summary: 'Readiness when the database record already points at the replica (changed by hand): the DNS check says it is flipped already.',
    readiness: {
      ready: false,
      problems: [{ check: 'dns', resource: 'CNAME db.orders.example.com', reason: ['already points at orders-replica.c0abcdefghij.us-west-2.rds.amazonaws.com'] }],
    },
    run: async (drill, group) => {
      const replica = drill.account.dbInstance(group.replica.dbInstanceIdentifier)!;
      drill.account.putRecord(group.dns.hostedZoneId, { name: 'db.orders.example.com', type: 'CNAME', ttl: 30, values: [replica.endpointAddress] });
      drill.topology.get(group.name)!.recordsBefore.set('db.orders.example.com CNAME', [replica.endpointAddress]);
      await probesRun(drill);
    },
    expect: noExecution,
  },
  {
    name: 'not-ready-source-vpc',
    summary: 'Readiness when the old database is in another VPC than replica.sourceVpcId: the database fence\'s security group would be refused.',
    readiness: {
      ready: false,
      problems: [{ check: 'database', resource: 'orders-primary-db (us-east-1)', reason: ['vpc-0b0b0b0b0b0b0b0b0', 'not replica.sourceVpcId vpc-0a1b2c3d4e5f60718'] }],
    },
    run: async (drill, group) => {
      const t = drill.topology.get(group.name)!;
      drill.account.addDbInstance({ id: t.sourceDbId, region: t.sourceRegion, vpcId: 'vpc-0b0b0b0b0b0b0b0b0' });
      await probesRun(drill);
    },
    expect: noExecution,
  },
];
