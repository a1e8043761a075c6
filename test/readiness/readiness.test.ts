/**
 * Readiness against the simulated account: the scheduled readiness function (runScheduled, with the
 * drill's clients and dynalite) finds the drift that would doom a failover, says what to do, notifies
 * once per change, stores its result and writes its metrics. Faults come from the account (a region
 * whose API does not answer, a policy that refuses the DryRun), not from calling the error paths.
 */
import { EC2Client } from '@aws-sdk/client-ec2';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { FailoverConfig, GroupConfig } from '../../lambdas/core/config';
import { runScheduled } from '../../lambdas/readiness/scheduled';
import type { GroupReadiness } from '../../lambdas/readiness/evaluate';
import { stopDryRun } from '../../lambdas/steps/fence-primary';
import { readinessExitCode } from '../../lib/cli/check';
import { Drill } from '../../lib/drill/drill';
import { runScenario } from '../../lib/drill/report';
import { READINESS_SCENARIOS } from '../../lib/drill/scenarios/readiness';
import { wrongExpectedStatus } from '../../lib/drill/scenarios/detection';
import { DRILL_REGION } from '../../lib/runner/synth';
import { exampleConfig, expectPassed } from '../support/drill';

const INSTANCE = 'i-0a1b2c3d4e5f60718';
const ZONE = 'Z0EXAMPLE1234567890AB';

let config: FailoverConfig;
beforeAll(() => {
  config = exampleConfig();
});

let drill: Drill | undefined;
afterEach(async () => {
  await drill?.close();
  drill = undefined;
});

/** A drill whose probe function has watched for two minutes, as a deployed one would have. */
async function watchedDrill(c: FailoverConfig = config): Promise<Drill> {
  drill = await Drill.create(c);
  await drill.watch(2);
  return drill;
}

/** One group's readiness as the scheduled function finds it, for `group` (the config's first by default). */
async function readinessOf(d: Drill, group: GroupConfig = d.config.groups[0]): Promise<GroupReadiness> {
  const { report } = await runScheduled([group], d.readinessDeps());
  return report.groups[0];
}

const problemsOf = (g: GroupReadiness) => g.problems.map((p) => `${p.check} ${p.resource}: ${p.reason}`);

describe('readiness scenarios (failoverctl drill --scenario NAME)', () => {
  it.each(READINESS_SCENARIOS.map((s) => s.name))('%s', async (name) => {
    expectPassed(await runScenario(config, name));
  });

  it('not-ready-ttl: the report carries what failoverctl check --json prints', async () => {
    const r = await runScenario(config, 'not-ready-ttl');
    expect(r.readiness).toEqual({
      // After the probe function's two minutes: its last round at 01:50.
      checkedAt: '2026-01-01T00:02:00.000Z',
      groups: [
        {
          group: 'orders',
          ready: false,
          problems: [
            {
              check: 'dns',
              resource: 'CNAME db.orders.example.com',
              reason:
                "its live TTL is 3600 s, above the configured 30 s: clients that resolved it before a flip keep the old answer for up to 3600 s, which adds up to 3570 s to the recovery time clients see. Lower the record's TTL to 30 now; the flip sets it only for answers given after it.",
            },
          ],
          notes: [],
        },
      ],
    });
    expect(r.notifications.map((n) => n.subject)).toEqual(['failover-controller: orders is NOT READY for a failover']);
  });
});

describe('the scheduled readiness function', () => {
  it('notifies once per change: not ready once, silent while it stays so, ready again once; stores each result for status', async () => {
    const d = await watchedDrill();
    const subjects = () => d.account.published.map((m) => m.subject);

    const first = await d.evaluateReadiness();
    expect(first.report.groups[0].ready).toBe(true);
    expect(subjects()).toEqual([]);
    expect(await d.store.getReadiness('orders')).toMatchObject({ ready: true, problems: [], since: first.report.checkedAt });

    d.account.putRecord(ZONE, { name: 'db.orders.example.com', type: 'CNAME', ttl: 3600, values: d.account.record(ZONE, 'db.orders.example.com', 'CNAME')!.values });
    await d.watch(15);
    const second = await d.evaluateReadiness();
    expect(second.notified).toEqual(['orders']);
    await d.watch(15);
    expect((await d.evaluateReadiness()).notified).toEqual([]);
    expect(subjects()).toEqual(['failover-controller: orders is NOT READY for a failover']);
    expect(d.account.published[0].message).toContain('- [dns] CNAME db.orders.example.com: its live TTL is 3600 s');
    expect(d.account.published[0].message).toContain('failoverctl check orders');
    const stored = await d.store.getReadiness('orders');
    // Checked again since, not ready since the change.
    expect(stored).toMatchObject({ ready: false, since: second.report.checkedAt });
    expect(Date.parse(stored!.checkedAt) - Date.parse(second.report.checkedAt)).toBeGreaterThanOrEqual(15 * 60_000);
    expect(stored?.problems.map((p) => p.resource)).toEqual(['CNAME db.orders.example.com']);

    d.account.putRecord(ZONE, { name: 'db.orders.example.com', type: 'CNAME', ttl: 30, values: d.account.record(ZONE, 'db.orders.example.com', 'CNAME')!.values });
    await d.watch(15);
    expect((await d.evaluateReadiness()).notified).toEqual(['orders']);
    expect(subjects()).toEqual(['failover-controller: orders is NOT READY for a failover', 'failover-controller: orders is ready for a failover again']);
  });

  it('writes GroupsNotReady for the deployment (the alarm\'s metric) and Ready for a group that is not ready, as EMF', async () => {
    const d = await watchedDrill();
    d.account.cloudwatch.removeAlarm('orders-primary-status-check-failed', DRILL_REGION);
    await d.evaluateReadiness();
    const emf = d.logs.filter((l) => l._aws !== undefined) as Array<Record<string, any>>;
    const ready = emf.find((l) => l.Ready !== undefined);
    const notReady = emf.find((l) => l.GroupsNotReady !== undefined);
    expect(ready).toMatchObject({ Group: 'orders', Ready: 0, _aws: { CloudWatchMetrics: [{ Namespace: 'FailoverController', Dimensions: [['Group']] }] } });
    expect(notReady).toMatchObject({ GroupsNotReady: 1, _aws: { CloudWatchMetrics: [{ Namespace: 'FailoverController', Dimensions: [[]], Metrics: [{ Name: 'GroupsNotReady', Unit: 'Count' }] }] } });
  });

  it('sends no metric at all while every group is ready: a healthy estate pays for no readiness metric (the alarm reads the function\'s AWS/Lambda metrics)', async () => {
    const d = await watchedDrill();
    const before = d.logs.length;
    const { report } = await d.evaluateReadiness();
    expect(report.groups.map((g) => g.ready)).toEqual([true]);
    // Every EMF document the run wrote (the probe function's, written before, are not counted).
    expect(d.logs.slice(before).filter((l) => l._aws !== undefined)).toEqual([]);
  });

  it('sends GroupsNotReady in every run while a group is not ready, and stops once it is ready again', async () => {
    const d = await watchedDrill();
    const zone = () => d.account.record(ZONE, 'db.orders.example.com', 'CNAME')!;
    const groupsNotReadyOf = async () => {
      const before = d.logs.length;
      await d.evaluateReadiness();
      const emf = d.logs.slice(before).filter((l) => l._aws !== undefined) as Array<Record<string, any>>;
      return emf.filter((l) => l.GroupsNotReady !== undefined).map((l) => l.GroupsNotReady);
    };
    expect(await groupsNotReadyOf()).toEqual([]);
    d.account.putRecord(ZONE, { name: 'db.orders.example.com', type: 'CNAME', ttl: 3600, values: zone().values });
    await d.watch(15);
    expect(await groupsNotReadyOf()).toEqual([1]);
    await d.watch(15);
    // Not only on the change: every run while it lasts (the alarm's period is two intervals).
    expect(await groupsNotReadyOf()).toEqual([1]);
    d.account.putRecord(ZONE, { name: 'db.orders.example.com', type: 'CNAME', ttl: 30, values: zone().values });
    await d.watch(15);
    expect(await groupsNotReadyOf()).toEqual([]);
  });

  it('changes nothing: every call reads, the fence\'s permission asked with DryRun', async () => {
    const d = await watchedDrill();
    const before = d.account.apiCalls.length;
    await d.evaluateReadiness();
    const calls = d.account.apiCalls.slice(before);
    expect(calls.filter((c) => c.mutating && c.service !== 'sqs').map((c) => [c.operation, c.dryRun])).toEqual([['StopInstances', true]]);
    expect(d.account.instance(INSTANCE)?.state).toBe('running');
  });
});

describe('what the evaluation finds', () => {
  it('a region whose RDS API does not answer: the replica could not be checked (an AWS error, exit 3), the rest is judged', async () => {
    const d = await watchedDrill();
    d.account.setRegionReachable('us-west-2', false, ['rds']);
    const { report } = await d.evaluateReadiness();
    const g = report.groups[0];
    expect(g.ready).toBe(false);
    expect(g.problems).toEqual([
      expect.objectContaining({ check: 'replica', resource: 'orders-replica (us-west-2)', awsError: 'TimeoutError', reason: expect.stringMatching(/^could not be checked: RDS DescribeDBInstances \/ CloudWatch ReplicaLag orders-replica failed with TimeoutError: /) }),
    ]);
    expect(readinessExitCode(report)).toBe(3);
  });

  it('the primary stopped, the old database missing, a wrong source VPC with no fence group there', async () => {
    const d = await watchedDrill();
    d.account.ec2.setState(INSTANCE, 'stopped');
    const group = { ...d.config.groups[0], replica: { ...d.config.groups[0].replica, source: 'arn:aws:rds:us-east-1:123456789012:db:orders-old', sourceVpcId: 'vpc-0c0c0c0c0c0c0c0c0' } };
    expect(problemsOf(await readinessOf(d, group))).toEqual([
      `primary ${INSTANCE} (us-east-1): is stopped: the primary is down, or was stopped on purpose (pause the group with failoverctl pause while it is).`,
      'database orders-old (us-east-1): the old database orders-old (replica.source) does not exist in us-east-1: check replica.source. The controller fences it before promoting, so a failover would not promote.',
      "database failover-dbfence-orders (vpc-0c0c0c0c0c0c0c0c0, us-east-1): the database fence's deny-all security group failover-dbfence-orders is missing from vpc-0c0c0c0c0c0c0c0c0 in us-east-1: deploy the stack's isolation stack for us-east-1; without it the old database cannot be fenced and nothing is promoted.",
      // The replica replicates from the real source, not the one configured now.
      expect.stringMatching(/^replica orders-replica \(us-west-2\): an automatic failover now would not promote it: orders-replica replicates from arn:aws:rds:us-east-1:\d+:db:orders-primary-db, not the configured source arn:aws:rds:us-east-1:123456789012:db:orders-old/),
    ]);
  });

  it('a hosted zone that does not exist, and one whose name is not dns.zoneName', async () => {
    const d = await watchedDrill();
    const g = d.config.groups[0];
    expect(problemsOf(await readinessOf(d, { ...g, dns: { ...g.dns, hostedZoneId: 'Z0NOSUCHZONE0000000' } }))).toEqual([
      'dns Z0NOSUCHZONE0000000: hosted zone Z0NOSUCHZONE0000000 does not exist (NoSuchHostedZone): check dns.hostedZoneId; the flip could not change any record.',
    ]);
    expect(problemsOf(await readinessOf(d, { ...g, dns: { ...g.dns, zoneName: 'example.org' } }))).toEqual([
      `dns ${ZONE}: hosted zone ${ZONE} is example.com, not dns.zoneName example.org: check dns.hostedZoneId; the flip would change records in the wrong zone or be refused.`,
    ]);
  });

  it('a record that does not exist, and one with a routing policy', async () => {
    const d = await watchedDrill();
    d.account.putRecord(ZONE, { name: 'api.orders.example.com', type: 'A', ttl: 30, values: ['192.0.2.10'], setIdentifier: 'blue', weight: 100 });
    const g = d.config.groups[0];
    const records = [...g.dns.records, { name: 'ro.orders.example.com', type: 'CNAME' as const, ttl: 30, target: 'replicaEndpoint' as const }];
    expect(problemsOf(await readinessOf(d, { ...g, dns: { ...g.dns, records } }))).toEqual([
      'dns A api.orders.example.com: is a routing-policy record (SetIdentifier "blue"), not a simple one: the controller flips simple records only, and Route 53 refuses a simple record beside routing-policy records of the same name. Make it a simple record, or leave it out of the group.',
      'dns CNAME ro.orders.example.com: does not exist in example.com: no client resolves it today, so flipping it would move nobody. Check dns.records (name and type) against the zone.',
    ]);
  });

  it('a FAILED_OVER group, and one with no probes (a note, not a problem); a composite alarm counts', async () => {
    const d = await watchedDrill();
    await d.store.putGroupState({ group: 'orders', status: 'FAILED_OVER', primary: { kind: 'rds', id: 'orders-replica' }, updatedAt: '2026-01-01T00:01:00.000Z' });
    d.account.cloudwatch.removeAlarm('orders-primary-status-check-failed', DRILL_REGION);
    d.account.cloudwatch.addAlarm({ name: 'orders-primary-status-check-failed', region: DRILL_REGION, type: 'CompositeAlarm' });
    const g = await readinessOf(d, { ...d.config.groups[0], probes: [] });
    expect(problemsOf(g)).toEqual([
      'state orders: the group is FAILED_OVER (it runs on orders-replica): the config still describes the old primary. Fail back, then rearm it with failoverctl rearm orders.',
    ]);
    expect(g.notes).toEqual([{ check: 'probes', resource: 'orders', note: 'no probes: only its alarms can start an automatic failover' }]);
  });

  it('probes that never ran: nothing watches the primary', async () => {
    drill = await Drill.create(config);
    expect(problemsOf(await readinessOf(drill))).toEqual([
      'probes orders: no probe round has been counted yet: is the probe function deployed and running? Nothing watches the primary.',
    ]);
  });

  it('probes that have never passed (a wrong expected status deployed): not ready, and the outage they report was only told', async () => {
    const d = await watchedDrill(wrongExpectedStatus(config));

    expect(d.primaryEndpoints.mode).toBe('up');
    expect(d.account.startedExecutions).toEqual([]);
    expect(d.account.published.map((m) => m.subject)).toEqual(['failover orders: primary down, not failing over']);
    expect(problemsOf(await readinessOf(d)).filter((p) => p.startsWith('probes'))).toEqual([
      "probes orders: its probes have never passed: this controller has never seen the primary healthy, so an outage they report is told to the topic, not failed over automatically. Check the probes (URL, port, expected status, and the probe's ca for an HTTPS endpoint whose certificate a private CA issued) and the probe function's network path to the primary.",
      expect.stringMatching(/^probes orders: the probes fail now \(\d+ failed round\(s\) in a row: round failed: 2 of 3 probes failed.* The probe function's action on it: reported, not started: its probes have never passed: /),
    ]);
  });

  it('an alarm in another region than the controller\'s is missing where the rule listens', async () => {
    const d = await watchedDrill();
    d.account.cloudwatch.removeAlarm('orders-primary-status-check-failed', DRILL_REGION);
    d.account.cloudwatch.addAlarm({ name: 'orders-primary-status-check-failed', region: 'us-east-1' });
    expect(problemsOf(await readinessOf(d))).toEqual([
      'alarms orders-primary-status-check-failed: no alarm named "orders-primary-status-check-failed" exists in us-west-2, the controller\'s region, where the stack\'s rule listens: it would never start a failover. Check alarms[] (alarms are regional, and a renamed alarm is a new one).',
    ]);
  });

  it('no ReplicaLag datapoint: the gate would refuse the replica, so it is not ready', async () => {
    const d = await watchedDrill();
    d.account.cloudwatch.suppress('ReplicaLag', 'orders-replica');
    const g = await readinessOf(d);
    expect(g.problems.map((p) => [p.check, p.resource])).toEqual([['replica', 'orders-replica (us-west-2)']]);
    expect(g.problems[0].reason).toMatch(/^an automatic failover now would not promote it: .*ReplicaLag/);
  });

  it('several candidates: a broken one is a problem, and a note says which would be promoted', async () => {
    const two = { ...config, groups: [{ ...config.groups[0], additionalReplicas: [{ dbInstanceIdentifier: 'orders-replica-2', region: 'us-east-2' }] }] };
    const d = await watchedDrill(two);
    d.account.rds.setReplicationState('orders-replica-2', 'stopped');
    const g = await readinessOf(d);
    expect(g.problems.map((p) => [p.check, p.resource])).toEqual([['replica', 'orders-replica-2 (us-east-2)']]);
    expect(g.notes).toEqual([{ check: 'replica', resource: 'orders-replica', note: 'a failover now would promote one of: orders-replica' }]);
  });
});

describe('a group that fences by isolation', () => {
  const isolating = () => ({ ...config, groups: [{ ...config.groups[0], primary: { ...config.groups[0].primary, vpcId: 'vpc-0a1b2c3d4e5f60718' }, fence: { ...config.groups[0].fence, onUnconfirmed: 'isolate' as const } }] });

  it('ready when the fence may also move the interfaces into the isolation group (ModifyNetworkInterfaceAttribute with DryRun)', async () => {
    const d = await watchedDrill(isolating());
    const before = d.account.apiCalls.length;
    expect(problemsOf(await readinessOf(d))).toEqual([]);
    expect(d.account.apiCalls.slice(before).filter((c) => c.operation === 'ModifyNetworkInterfaceAttribute').map((c) => c.dryRun)).toEqual([true]);
  });

  it('not ready when a policy refuses the isolation (the isolation group\'s tag no longer matches, say)', async () => {
    const d = await watchedDrill(isolating());
    d.account.inject({ service: 'ec2', operation: 'ModifyNetworkInterfaceAttribute', error: 'UnauthorizedOperation', message: 'You are not authorized to perform this operation.', times: Infinity });
    const g = await readinessOf(d);
    expect(g.problems.map((p) => [p.check, p.resource])).toEqual([['fence', `${INSTANCE} (us-east-1)`]]);
    expect(g.problems[0].reason).toMatch(/^ModifyNetworkInterfaceAttribute \(DryRun\) was refused with UnauthorizedOperation: eni-\w+ into sg-\w+: You are not authorized to perform this operation\.\. The fence could not isolate it/);
  });
});

describe('the fence\'s answer to the DryRun', () => {
  it('stopDryRun: allowed, or refused with the error EC2 gives; the instance is never stopped', async () => {
    drill = await Drill.create(config);
    const ec2 = drill.account.client(EC2Client, 'us-east-1');
    expect(await stopDryRun(ec2, [INSTANCE])).toEqual({ allowed: true });
    drill.account.inject({ service: 'ec2', operation: 'StopInstances', error: 'UnauthorizedOperation', message: 'You are not authorized to perform this operation.' });
    expect(await stopDryRun(ec2, [INSTANCE])).toEqual({ allowed: false, error: 'UnauthorizedOperation', message: 'You are not authorized to perform this operation.' });
    expect(drill.account.instance(INSTANCE)?.state).toBe('running');
    expect(drill.account.apiCalls.map((c) => c.dryRun)).toEqual([true, true]);
  });
});
