import { describe, expect, it } from 'vitest';
import {
  DescribeInstancesCommand, EC2Client, EC2ServiceException, StartInstancesCommand, StopInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import {
  DBInstanceNotFoundFault, DescribeDBInstancesCommand, InvalidDBInstanceStateFault, ModifyDBInstanceCommand, PromoteReadReplicaCommand,
  RDSClient, RDSServiceException, RebootDBInstanceCommand, StopDBInstanceCommand,
} from '@aws-sdk/client-rds';
import { AutoScalingClient, DescribeAutoScalingInstancesCommand, SuspendProcessesCommand } from '@aws-sdk/client-auto-scaling';
import {
  ChangeResourceRecordSetsCommand, GetChangeCommand, GetHostedZoneCommand, InvalidChangeBatch,
  ListResourceRecordSetsCommand, NoSuchChange, NoSuchHostedZone, Route53Client, Route53ServiceException,
  type Change,
} from '@aws-sdk/client-route-53';
import { CloudWatchClient, CloudWatchServiceException, GetMetricStatisticsCommand } from '@aws-sdk/client-cloudwatch';
import { NotFoundException, PublishCommand, SNSClient, SNSServiceException, ThrottledException } from '@aws-sdk/client-sns';
import { SimClock, SimulatedAccount } from '../../lib/drill/sim/account';

const EAST = 'us-east-1';
const WEST = 'us-west-2';
const ZONE = 'Z0123456789ABCDEFGHIJ';
const TOPIC = `arn:aws:sns:${EAST}:123456789012:failover-events`;

/** A small failover estate: EC2 primary, RDS primary + replica, a zone with the app record, a topic. */
function estate() {
  const account = new SimulatedAccount();
  account.addInstance({ instanceId: 'i-0primary', region: EAST, privateIpAddress: '10.0.1.10', vpcId: 'vpc-0aaa' });
  account.addDbInstance({ id: 'db-primary', region: EAST });
  account.addDbInstance({ id: 'db-replica', region: EAST, replicaOf: 'db-primary' });
  account.addHostedZone({ id: ZONE, name: 'example.com' });
  account.putRecord(ZONE, { name: 'app.example.com', type: 'A', ttl: 60, values: ['10.0.1.10'] });
  account.addTopic(TOPIC);
  return {
    account,
    ec2: account.client(EC2Client, EAST),
    rds: account.client(RDSClient, EAST),
    r53: account.client(Route53Client, EAST),
    cw: account.client(CloudWatchClient, EAST),
    sns: account.client(SNSClient, EAST),
  };
}

/** The rejection of a promise, for asserting on the error object itself. */
async function failure(p: Promise<unknown>): Promise<any> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected the call to fail');
}

const upsertA = (name: string, value: string): Change => ({
  Action: 'UPSERT', ResourceRecordSet: { Name: name, Type: 'A', TTL: 60, ResourceRecords: [{ Value: value }] },
});

describe('SimClock', () => {
  it('starts at 2026-01-01, advances, and every API call costs apiCallMs', async () => {
    const clock = new SimClock();
    expect(clock.now()).toBe(Date.parse('2026-01-01T00:00:00.000Z'));
    clock.advance(1500);
    expect(clock.elapsedSeconds()).toBe(1.5);
    expect(() => clock.advance(-1)).toThrow();

    const account = new SimulatedAccount({ clock, latencies: { apiCallMs: 250 } });
    account.addInstance({ instanceId: 'i-1', region: EAST });
    await account.client(EC2Client, EAST).send(new DescribeInstancesCommand({ InstanceIds: ['i-1'] }));
    expect(clock.elapsedSeconds()).toBe(1.75);
    expect(account.apiCalls[0]).toMatchObject({ service: 'ec2', operation: 'DescribeInstances', region: EAST, at: clock.now() });
  });
});

describe('EC2', () => {
  it('force stop: running -> stopping now -> stopped 15 s later on the clock', async () => {
    const { account, ec2 } = estate();
    const out = await ec2.send(new StopInstancesCommand({ InstanceIds: ['i-0primary'], Force: true }));
    expect(out.StoppingInstances).toEqual([{
      InstanceId: 'i-0primary', PreviousState: { Code: 16, Name: 'running' }, CurrentState: { Code: 64, Name: 'stopping' },
    }]);
    expect(out.$metadata.httpStatusCode).toBe(200);
    account.clock.advance(14_900);
    expect(account.instance('i-0primary')?.state).toBe('stopping');
    account.clock.advance(100);
    const described = await ec2.send(new DescribeInstancesCommand({ InstanceIds: ['i-0primary'] }));
    expect(described.Reservations?.[0].Instances?.[0]).toMatchObject({
      InstanceId: 'i-0primary', State: { Code: 80, Name: 'stopped' }, PrivateIpAddress: '10.0.1.10', VpcId: 'vpc-0aaa',
    });
  });

  it('graceful stop takes 60 s, and a later forced stop hurries it', async () => {
    const { account, ec2 } = estate();
    await ec2.send(new StopInstancesCommand({ InstanceIds: ['i-0primary'] }));
    account.clock.advance(20_000);
    expect(account.instance('i-0primary')?.state).toBe('stopping');
    await ec2.send(new StopInstancesCommand({ InstanceIds: ['i-0primary'], Force: true }));
    account.clock.advance(15_000);
    expect(account.instance('i-0primary')?.state).toBe('stopped');
    expect(account.clock.elapsedSeconds()).toBeLessThan(60);
  });

  it('DryRun fails with DryRunOperation (412) and changes nothing', async () => {
    const { account, ec2 } = estate();
    const err = await failure(ec2.send(new StopInstancesCommand({ InstanceIds: ['i-0primary'], Force: true, DryRun: true })));
    expect(err).toBeInstanceOf(EC2ServiceException);
    expect(err).toMatchObject({
      name: 'DryRunOperation', $fault: 'client', $metadata: { httpStatusCode: 412 },
      message: 'Request would have succeeded, but DryRun flag is set.',
    });
    expect(account.instance('i-0primary')?.state).toBe('running');
    expect(account.apiCalls.at(-1)).toMatchObject({ dryRun: true, mutating: true, error: 'DryRunOperation' });
  });

  it('stopping an already stopping or stopped instance succeeds and changes nothing', async () => {
    const { account, ec2 } = estate();
    account.addInstance({ instanceId: 'i-stopped', region: EAST, state: 'stopped' });
    const out = await ec2.send(new StopInstancesCommand({ InstanceIds: ['i-stopped'], Force: true }));
    expect(out.StoppingInstances?.[0]).toMatchObject({ PreviousState: { Name: 'stopped' }, CurrentState: { Name: 'stopped' } });
    expect(account.events).toEqual([]);
  });

  it('stopping a terminated instance fails with IncorrectInstanceState', async () => {
    const { account, ec2 } = estate();
    account.addInstance({ instanceId: 'i-gone', region: EAST, state: 'terminated' });
    const err = await failure(ec2.send(new StopInstancesCommand({ InstanceIds: ['i-gone'], Force: true })));
    expect(err).toBeInstanceOf(EC2ServiceException);
    expect(err).toMatchObject({ name: 'IncorrectInstanceState', $fault: 'client', $metadata: { httpStatusCode: 400 } });
    expect(err.message).toContain('i-gone');
  });

  it('an unknown instance, or one in another region, is InvalidInstanceID.NotFound', async () => {
    const { account, ec2 } = estate();
    account.addInstance({ instanceId: 'i-west', region: WEST });
    for (const id of ['i-nope', 'i-west']) {
      const err = await failure(ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] })));
      expect(err).toMatchObject({ name: 'InvalidInstanceID.NotFound', message: `The instance ID '${id}' does not exist` });
    }
    const west = account.client(EC2Client, WEST);
    const out = await west.send(new DescribeInstancesCommand({}));
    expect(out.Reservations?.flatMap((r) => r.Instances?.map((i) => i.InstanceId))).toEqual(['i-west']);
  });

  it('with stopNeverCompletes the instance stays stopping, even when forced', async () => {
    const { account, ec2 } = estate();
    account.setBehavior('i-0primary', { stopNeverCompletes: true });
    await ec2.send(new StopInstancesCommand({ InstanceIds: ['i-0primary'], Force: true }));
    account.clock.advance(3_600_000);
    await ec2.send(new StopInstancesCommand({ InstanceIds: ['i-0primary'], Force: true }));
    account.clock.advance(3_600_000);
    expect(account.instance('i-0primary')?.state).toBe('stopping');
  });

  it('StartInstances: stopped -> pending -> running after 10 s', async () => {
    const { account, ec2 } = estate();
    account.addInstance({ instanceId: 'i-cold', region: EAST, state: 'stopped' });
    const out = await ec2.send(new StartInstancesCommand({ InstanceIds: ['i-cold'] }));
    expect(out.StartingInstances?.[0].CurrentState).toEqual({ Code: 0, Name: 'pending' });
    account.clock.advance(10_000);
    expect(account.instance('i-cold')?.state).toBe('running');
  });
});

describe('RDS', () => {
  it('describes a replica and its source like RDS does', async () => {
    const { rds } = estate();
    const replica = (await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: 'db-replica' }))).DBInstances?.[0];
    expect(replica).toMatchObject({
      DBInstanceIdentifier: 'db-replica', DBInstanceArn: 'arn:aws:rds:us-east-1:123456789012:db:db-replica',
      DBInstanceStatus: 'available', Engine: 'postgres', ReadReplicaSourceDBInstanceIdentifier: 'db-primary',
      Endpoint: { Address: 'db-replica.c0abcdefghij.us-east-1.rds.amazonaws.com', Port: 5432 },
    });
    const source = (await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: 'db-primary' }))).DBInstances?.[0];
    expect(source?.ReadReplicaDBInstanceIdentifiers).toEqual(['db-replica']);
  });

  it('promotion: modifying 60 s, rebooting 120 s, then available and no longer a replica', async () => {
    const { account, rds } = estate();
    const status = async (id: string) => (await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: id }))).DBInstances![0];
    const out = await rds.send(new PromoteReadReplicaCommand({ DBInstanceIdentifier: 'db-replica' }));
    expect(out.DBInstance?.DBInstanceStatus).toBe('modifying');
    account.clock.advance(59_000);
    expect((await status('db-replica')).DBInstanceStatus).toBe('modifying');
    account.clock.advance(1_000);
    expect((await status('db-replica')).DBInstanceStatus).toBe('rebooting');
    expect((await status('db-replica')).ReadReplicaSourceDBInstanceIdentifier).toBe('db-primary');
    account.clock.advance(120_000);
    const done = await status('db-replica');
    expect(done.DBInstanceStatus).toBe('available');
    expect(done.ReadReplicaSourceDBInstanceIdentifier).toBeUndefined();
    expect((await status('db-primary')).ReadReplicaDBInstanceIdentifiers).toEqual([]);
    expect(account.dbInstance('db-replica')).toMatchObject({ status: 'available', replicaOf: undefined });
    expect(account.events.filter((e) => e.resource === 'db-replica').map((e) => e.to)).toEqual(['modifying', 'rebooting', 'available']);
  });

  it('promoting a standalone instance fails with InvalidDBInstanceStateFault', async () => {
    const { rds } = estate();
    const err = await failure(rds.send(new PromoteReadReplicaCommand({ DBInstanceIdentifier: 'db-primary' })));
    expect(err).toBeInstanceOf(InvalidDBInstanceStateFault);
    expect(err).toBeInstanceOf(RDSServiceException);
    expect(err).toMatchObject({
      name: 'InvalidDBInstanceStateFault', $fault: 'client', $metadata: { httpStatusCode: 400 },
      message: 'DB Instance is not a read replica.',
    });
  });

  it('promoting while a promotion is in progress fails with InvalidDBInstanceStateFault', async () => {
    const { account, rds } = estate();
    await rds.send(new PromoteReadReplicaCommand({ DBInstanceIdentifier: 'db-replica' }));
    const err = await failure(rds.send(new PromoteReadReplicaCommand({ DBInstanceIdentifier: 'db-replica' })));
    expect(err.name).toBe('InvalidDBInstanceStateFault');
    expect(account.events.filter((e) => e.to === 'modifying')).toHaveLength(1);
  });

  it('an unknown DB, or one in another region, is DBInstanceNotFoundFault (404)', async () => {
    const { account, rds } = estate();
    account.addDbInstance({ id: 'db-west', region: WEST });
    for (const id of ['db-nope', 'db-west', 'arn:aws:rds:us-west-2:123456789012:db:db-west']) {
      const err = await failure(rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: id })));
      expect(err).toBeInstanceOf(DBInstanceNotFoundFault);
      expect(err).toMatchObject({ name: 'DBInstanceNotFoundFault', $fault: 'client', $metadata: { httpStatusCode: 404 } });
    }
    const err = await failure(rds.send(new PromoteReadReplicaCommand({ DBInstanceIdentifier: 'db-nope' })));
    expect(err.message).toBe('DBInstance db-nope not found.');
  });

  it('a cross-region replica names its source by ARN; promotionFails ends in failed, still a replica', async () => {
    const { account } = estate();
    account.addDbInstance({ id: 'db-dr', region: WEST, replicaOf: 'arn:aws:rds:us-east-1:123456789012:db:db-primary' });
    account.setBehavior('db-dr', { promotionFails: true });
    const west = account.client(RDSClient, WEST);
    await west.send(new PromoteReadReplicaCommand({ DBInstanceIdentifier: 'db-dr' }));
    account.clock.advance(3_600_000);
    const dr = (await west.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: 'db-dr' }))).DBInstances![0];
    expect(dr.DBInstanceStatus).toBe('failed');
    expect(dr.ReadReplicaSourceDBInstanceIdentifier).toBe('arn:aws:rds:us-east-1:123456789012:db:db-primary');
    const source = (await account.client(RDSClient, EAST).send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: 'db-primary' }))).DBInstances![0];
    expect(source.ReadReplicaDBInstanceIdentifiers).toEqual(['db-replica', 'arn:aws:rds:us-west-2:123456789012:db:db-dr']);
  });
});

describe('Route 53', () => {
  it('lists records in Route 53 order with trailing dots, from a start name, in pages', async () => {
    const { account, r53 } = estate();
    account.putRecord(ZONE, { name: 'api.example.com.', type: 'A', ttl: 300, values: ['10.0.2.20'] });
    const all = await r53.send(new ListResourceRecordSetsCommand({ HostedZoneId: `/hostedzone/${ZONE}` }));
    expect(all.ResourceRecordSets?.map((r) => `${r.Name} ${r.Type}`)).toEqual([
      'example.com. NS', 'example.com. SOA', 'api.example.com. A', 'app.example.com. A',
    ]);
    const page = await r53.send(new ListResourceRecordSetsCommand({
      HostedZoneId: ZONE, StartRecordName: 'api.example.com', StartRecordType: 'A', MaxItems: 1,
    }));
    expect(page).toMatchObject({
      ResourceRecordSets: [{ Name: 'api.example.com.', Type: 'A', TTL: 300, ResourceRecords: [{ Value: '10.0.2.20' }] }],
      IsTruncated: true, NextRecordName: 'app.example.com.', NextRecordType: 'A',
    });
  });

  it('a change applies at once and is PENDING for 45 s, then INSYNC', async () => {
    const { account, r53 } = estate();
    const out = await r53.send(new ChangeResourceRecordSetsCommand({
      HostedZoneId: ZONE, ChangeBatch: { Changes: [upsertA('APP.example.com.', '10.0.9.9')] },
    }));
    expect(out.ChangeInfo).toMatchObject({ Status: 'PENDING', SubmittedAt: new Date(account.clock.now()) });
    expect(out.ChangeInfo?.Id).toMatch(/^\/change\/C[0-9A-Z]+$/);
    expect(account.record(ZONE, 'app.example.com', 'A')?.values).toEqual(['10.0.9.9']);
    const id = out.ChangeInfo!.Id!;
    expect((await r53.send(new GetChangeCommand({ Id: id }))).ChangeInfo?.Status).toBe('PENDING');
    account.clock.advance(45_000);
    expect((await r53.send(new GetChangeCommand({ Id: id.replace('/change/', '') }))).ChangeInfo?.Status).toBe('INSYNC');
    expect(account.events.at(-1)).toMatchObject({ resource: id, from: 'PENDING', to: 'INSYNC' });
  });

  it('rejects the whole batch when one record is bad: nothing changes', async () => {
    const { account, r53 } = estate();
    const before = account.records(ZONE);
    const err = await failure(r53.send(new ChangeResourceRecordSetsCommand({
      HostedZoneId: ZONE,
      ChangeBatch: { Changes: [upsertA('app.example.com', '10.0.9.9'), upsertA('db.example.com', 'not-an-ip')] },
    })));
    expect(err).toBeInstanceOf(InvalidChangeBatch);
    expect(err).toBeInstanceOf(Route53ServiceException);
    expect(err).toMatchObject({ name: 'InvalidChangeBatch', $fault: 'client', $metadata: { httpStatusCode: 400 } });
    expect(err.message).toContain('ARRDATAIllegalIPv4Address');
    expect(err.messages).toHaveLength(1);
    expect(account.records(ZONE)).toEqual(before);
  });

  it.each<[string, Change, string]>([
    ['a name outside the zone', upsertA('app.example.org', '10.0.0.1'), 'RRSet with DNS name app.example.org. is not permitted in zone example.com.'],
    ['a CNAME at the apex', { Action: 'UPSERT', ResourceRecordSet: { Name: 'example.com', Type: 'CNAME', TTL: 60, ResourceRecords: [{ Value: 'x.example.net' }] } },
      'RRSet of type CNAME with DNS name example.com. is not permitted at apex in zone example.com.'],
    ['CREATE of an existing record', { ...upsertA('app.example.com', '10.0.0.1'), Action: 'CREATE' },
      "Tried to create resource record set [name='app.example.com.', type='A'] but it already exists"],
    ['DELETE of a missing record', { ...upsertA('old.example.com', '10.0.0.1'), Action: 'DELETE' },
      "Tried to delete resource record set [name='old.example.com.', type='A'] but it was not found"],
  ])('rejects %s with InvalidChangeBatch', async (_label, change, message) => {
    const { r53 } = estate();
    const err = await failure(r53.send(new ChangeResourceRecordSetsCommand({ HostedZoneId: ZONE, ChangeBatch: { Changes: [change] } })));
    expect(err.name).toBe('InvalidChangeBatch');
    expect(err.message).toBe(`[${message}]`);
  });

  it('applies a batch in order, so DELETE then CREATE of the same record is valid', async () => {
    const { account, r53 } = estate();
    await r53.send(new ChangeResourceRecordSetsCommand({
      HostedZoneId: ZONE,
      ChangeBatch: { Changes: [{ ...upsertA('app.example.com', '10.0.1.10'), Action: 'DELETE' }, { ...upsertA('app.example.com', '10.0.7.7'), Action: 'CREATE' }] },
    }));
    expect(account.record(ZONE, 'app.example.com.', 'A')).toEqual({ name: 'app.example.com', type: 'A', ttl: 60, values: ['10.0.7.7'] });
  });

  it('unknown zone is NoSuchHostedZone (404), unknown change is NoSuchChange (404); GetHostedZone works', async () => {
    const { r53 } = estate();
    const zoneErr = await failure(r53.send(new ListResourceRecordSetsCommand({ HostedZoneId: 'ZNOPE' })));
    expect(zoneErr).toBeInstanceOf(NoSuchHostedZone);
    expect(zoneErr).toMatchObject({ name: 'NoSuchHostedZone', $fault: 'client', $metadata: { httpStatusCode: 404 } });
    const changeErr = await failure(r53.send(new GetChangeCommand({ Id: '/change/CNOPE' })));
    expect(changeErr).toBeInstanceOf(NoSuchChange);
    expect(changeErr.$metadata.httpStatusCode).toBe(404);
    const zone = await r53.send(new GetHostedZoneCommand({ Id: ZONE }));
    expect(zone.HostedZone).toMatchObject({ Id: `/hostedzone/${ZONE}`, Name: 'example.com.', ResourceRecordSetCount: 3 });
  });
});

describe('CloudWatch: RDS metrics as RDS reports them', () => {
  const query = (cw: CloudWatchClient, metric: string, id: string, from: number, to: number) => cw.send(new GetMetricStatisticsCommand({
    Namespace: 'AWS/RDS', MetricName: metric, Dimensions: [{ Name: 'DBInstanceIdentifier', Value: id }],
    StartTime: new Date(from), EndTime: new Date(to), Period: 60, Statistics: ['Maximum'],
  }));
  const byMinute = (out: { Datapoints?: Array<{ Timestamp?: Date; Maximum?: number }> }, start: number) =>
    Object.fromEntries((out.Datapoints ?? []).map((d) => [(d.Timestamp!.getTime() - start) / 60_000, d.Maximum]));

  /** A source written to every second by a client through db.example.com, and its replica. */
  function writtenEstate(engine = 'postgres') {
    const e = estate();
    e.account.addDbInstance({ id: 'db-primary', region: EAST, engine });
    e.account.addDbInstance({ id: 'db-replica', region: EAST, replicaOf: 'db-primary', engine });
    e.account.putRecord(ZONE, { name: 'db.example.com', type: 'CNAME', ttl: 30, values: [e.account.dbInstance('db-primary')!.endpointAddress] });
    e.account.clients.add({ name: 'worker', zoneId: ZONE, dnsName: 'db.example.com' });
    return e;
  }

  it('datapoints are one a minute, stamped at the minute, and arrive 60 to 180 s after it ends', async () => {
    const { account, cw } = writtenEstate();
    const start = account.clock.now();
    account.setReplicationDelay('db-replica', 2);
    account.clock.advance(10 * 60_000);
    const out = await query(cw, 'ReplicaLag', 'db-replica', start, account.clock.now());
    const minutes = Object.keys(byMinute(out, start)).map(Number);
    // Minute 9 ended at t+10 min: never there yet; minute 0..6 always (at most 180 s late).
    expect(minutes).not.toContain(9);
    for (const m of [0, 1, 2, 3, 4, 5, 6]) expect(minutes).toContain(m);
    expect(out.Datapoints?.every((d) => d.Timestamp!.getTime() % 60_000 === 0)).toBe(true);
    // Writes every second, replayed 2 s late: PostgreSQL reports 2 s behind (minute 0 precedes the first write).
    expect(Object.entries(byMinute(out, start)).filter(([m]) => m !== '0').every(([, v]) => v === 2)).toBe(true);
  });

  it('PostgreSQL: once the source fails, ReplicaLag grows one second per second; the source reports no slot lag', async () => {
    const { account, cw } = writtenEstate();
    account.cloudwatch.setPublishDelay(60);
    const start = account.clock.now();
    account.setReplicationDelay('db-replica', 1);
    account.clock.advance(3 * 60_000 + 30_000);
    account.rds.fail('db-primary');
    account.clock.advance(5 * 60_000);
    const lag = byMinute(await query(cw, 'ReplicaLag', 'db-replica', start, account.clock.now()), start);
    expect(lag[2]).toBe(1);
    expect(lag[3]).toBe(1);
    // The source failed at 3:30 with the 3:30 write committed: the replica, 1 s behind, had up to 3:29.
    expect(lag[4]).toBe(31);
    expect(lag[5]).toBe(91);
    expect(lag[6]).toBe(151);
    expect(account.dbInstance('db-primary')?.status).toBe('failed');
  });

  it('PostgreSQL: on an idle source the lag saw-tooths up to ~300 s (the 5-minute WAL switch), while the slot lag stays 0', async () => {
    const { account, cw } = estate();
    account.cloudwatch.setPublishDelay(60);
    account.addDbInstance({ id: 'db-replica', region: EAST, replicaOf: 'db-primary' });
    const start = account.clock.now();
    account.clock.advance(13 * 60_000);
    const lag = Object.values(byMinute(await query(cw, 'ReplicaLag', 'db-replica', start, account.clock.now()), start)) as number[];
    expect(Math.max(...lag)).toBeGreaterThanOrEqual(240);
    expect(Math.max(...lag)).toBeLessThanOrEqual(301);
    expect(lag.some((v, i) => i > 0 && v < lag[i - 1])).toBe(true);
    const slot = Object.values(byMinute(await query(cw, 'OldestReplicationSlotLag', 'db-primary', start, account.clock.now()), start));
    expect(slot.length).toBeGreaterThan(5);
    expect(slot.every((v) => v === 0)).toBe(true);
  });

  it('MySQL: ReplicaLag is Seconds_Behind_Master while writes flow, and -1 once replication stops; StatusInfos says so', async () => {
    const { account, cw, rds } = writtenEstate('mysql');
    account.cloudwatch.setPublishDelay(60);
    const start = account.clock.now();
    account.clock.advance(3 * 60_000 + 1000);
    account.rds.setReplicationState('db-replica', 'error');
    account.clock.advance(4 * 60_000);
    const lag = byMinute(await query(cw, 'ReplicaLag', 'db-replica', start, account.clock.now()), start);
    expect([lag[1], lag[2], lag[3]]).toEqual([1, 1, 1]);
    expect([lag[4], lag[5]]).toEqual([-1, -1]);
    const out = await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: 'db-replica' }));
    expect(out.DBInstances?.[0].StatusInfos).toEqual([{ StatusType: 'read replication', Normal: false, Status: 'error', Message: 'Replication has stopped because of an error.' }]);
  });

  it('a suppressed metric has no datapoints; a source has no ReplicaLag', async () => {
    const { account, cw } = writtenEstate();
    account.cloudwatch.suppress('ReplicaLag', 'db-replica');
    const start = account.clock.now();
    account.clock.advance(10 * 60_000);
    expect((await query(cw, 'ReplicaLag', 'db-replica', start, account.clock.now())).Datapoints).toEqual([]);
    expect((await query(cw, 'ReplicaLag', 'db-primary', start, account.clock.now())).Datapoints).toEqual([]);
  });
});

describe('RDS: fencing the old database, and what its clients see', () => {
  function withClients() {
    const e = estate();
    e.account.addDbInstance({ id: 'db-primary', region: EAST, vpcId: 'vpc-0db' });
    e.account.addSecurityGroup({ id: 'sg-0fence', name: 'fence', region: EAST, vpcId: 'vpc-0db', denyAll: true });
    e.account.putRecord(ZONE, { name: 'db.example.com', type: 'CNAME', ttl: 30, values: [e.account.dbInstance('db-primary')!.endpointAddress] });
    e.account.clients.add({ name: 'pooled', zoneId: ZONE, dnsName: 'db.example.com' });
    return e;
  }
  const accepted = (account: SimulatedAccount, db: string) => account.rds.writesOf(db).length;

  it('StopDBInstance refuses a source that has read replicas, and a replica', async () => {
    const { rds } = estate();
    await expect(rds.send(new StopDBInstanceCommand({ DBInstanceIdentifier: 'db-primary' }))).rejects.toBeInstanceOf(InvalidDBInstanceStateFault);
    await expect(rds.send(new StopDBInstanceCommand({ DBInstanceIdentifier: 'db-replica' }))).rejects.toThrow('Cannot stop or start a Read-Replica instance');
  });

  it('a deny-all security group stops new connections but not the established one; a reboot closes it', async () => {
    const { account, rds } = withClients();
    account.clock.advance(5_000);
    const before = accepted(account, 'db-primary');
    expect(before).toBe(5);
    await rds.send(new ModifyDBInstanceCommand({ DBInstanceIdentifier: 'db-primary', VpcSecurityGroupIds: ['sg-0fence'], ApplyImmediately: true }));
    account.clock.advance(60_000);
    expect(account.dbInstance('db-primary')).toMatchObject({ status: 'available', securityGroupIds: ['sg-0fence'] });
    // The pooled connection is tracked: it goes on writing through the change.
    expect(accepted(account, 'db-primary')).toBeGreaterThan(before + 55);
    await rds.send(new RebootDBInstanceCommand({ DBInstanceIdentifier: 'db-primary' }));
    const atReboot = accepted(account, 'db-primary');
    account.clock.advance(5 * 60_000);
    expect(account.dbInstance('db-primary')?.status).toBe('available');
    expect(accepted(account, 'db-primary')).toBe(atReboot);
    expect(account.clients.attempts.at(-1)).toMatchObject({ accepted: false, error: 'connection refused or timed out' });
  });

  it('ModifyDBInstance refuses a security group of another VPC with InvalidParameterValue', async () => {
    const { account, rds } = estate();
    account.addSecurityGroup({ id: 'sg-0elsewhere', name: 'x', region: EAST, vpcId: 'vpc-0other', denyAll: true });
    await expect(rds.send(new ModifyDBInstanceCommand({ DBInstanceIdentifier: 'db-primary', VpcSecurityGroupIds: ['sg-0elsewhere'] })))
      .rejects.toMatchObject({ name: 'InvalidParameterValue' });
  });

  it('a client keeps its cached answer for the TTL in force, and its pooled connection across a flip', async () => {
    const { account, r53 } = withClients();
    account.clock.advance(3_000);
    const replicaEndpoint = account.dbInstance('db-replica')!.endpointAddress;
    await r53.send(new ChangeResourceRecordSetsCommand({
      HostedZoneId: ZONE,
      ChangeBatch: { Changes: [{ Action: 'UPSERT', ResourceRecordSet: { Name: 'db.example.com', Type: 'CNAME', TTL: 5, ResourceRecords: [{ Value: replicaEndpoint }] } }] },
    }));
    account.clock.advance(60_000);
    // Still connected to the old database: nothing closed the connection.
    expect(account.clients.attempts.filter((a) => a.at > account.clock.now() - 50_000).every((a) => a.db?.id === 'db-primary' && a.accepted)).toBe(true);
  });
});

describe('Auto Scaling', () => {
  it('replaces a stopped instance of its group, unless ReplaceUnhealthy is suspended', async () => {
    const { account, ec2 } = estate();
    account.autoscaling.addGroup({ name: 'app', region: EAST, instanceIds: ['i-0primary'] });
    const asg = account.client(AutoScalingClient, EAST);
    const owned = await asg.send(new DescribeAutoScalingInstancesCommand({ InstanceIds: ['i-0primary', 'i-0nothere'] }));
    expect(owned.AutoScalingInstances?.map((i) => [i.InstanceId, i.AutoScalingGroupName])).toEqual([['i-0primary', 'app']]);
    await ec2.send(new StopInstancesCommand({ InstanceIds: ['i-0primary'], Force: true }));
    account.clock.advance(3 * 60_000);
    expect(account.instance('i-0primary')?.state).toBe('terminated');
    const [replacement] = account.autoscaling.replacements('app');
    expect(account.instance(replacement)?.state).toBe('running');

    const second = estate();
    second.account.autoscaling.addGroup({ name: 'app', region: EAST, instanceIds: ['i-0primary'] });
    await second.account.client(AutoScalingClient, EAST).send(new SuspendProcessesCommand({ AutoScalingGroupName: 'app', ScalingProcesses: ['ReplaceUnhealthy', 'HealthCheck', 'Launch'] }));
    await second.ec2.send(new StopInstancesCommand({ InstanceIds: ['i-0primary'], Force: true }));
    second.account.clock.advance(3 * 60_000);
    expect(second.account.instance('i-0primary')?.state).toBe('stopped');
    expect(second.account.autoscaling.replacements('app')).toEqual([]);
  });
});

describe('a region whose API does not answer', () => {
  it('every EC2 and RDS call there fails with the HTTP handler\'s TimeoutError after the client\'s timeout; other regions answer', async () => {
    const { account, ec2, rds } = estate();
    account.setRegionReachable(EAST, false);
    const before = account.clock.now();
    await expect(ec2.send(new DescribeInstancesCommand({ InstanceIds: ['i-0primary'] }))).rejects.toMatchObject({ name: 'TimeoutError', code: 'ETIMEDOUT' });
    await expect(rds.send(new DescribeDBInstancesCommand({}))).rejects.toMatchObject({ name: 'TimeoutError' });
    expect(account.clock.now() - before).toBeGreaterThanOrEqual(10_000);
    await expect(account.client(RDSClient, WEST).send(new DescribeDBInstancesCommand({}))).resolves.toBeDefined();
    account.setRegionReachable(EAST, true);
    await expect(ec2.send(new DescribeInstancesCommand({ InstanceIds: ['i-0primary'] }))).resolves.toBeDefined();
  });
});

describe('SNS', () => {
  it('records a publish and rejects an unknown topic, or one in another region, with NotFoundException', async () => {
    const { account, sns } = estate();
    const out = await sns.send(new PublishCommand({
      TopicArn: TOPIC, Subject: 'Failover', Message: '{"ok":true}',
      MessageAttributes: { phase: { DataType: 'String', StringValue: 'done' } },
    }));
    expect(out.MessageId).toBeTruthy();
    expect(account.published).toEqual([{
      at: account.clock.now(), topicArn: TOPIC, subject: 'Failover', message: '{"ok":true}',
      attributes: { phase: { DataType: 'String', StringValue: 'done' } },
    }]);
    for (const [client, arn] of [[sns, `${TOPIC}-nope`], [account.client(SNSClient, WEST), TOPIC]] as const) {
      const err = await failure(client.send(new PublishCommand({ TopicArn: arn, Message: 'x' })));
      expect(err).toBeInstanceOf(NotFoundException);
      expect(err).toBeInstanceOf(SNSServiceException);
      expect(err).toMatchObject({ name: 'NotFoundException', message: 'Topic does not exist', $fault: 'client', $metadata: { httpStatusCode: 404 } });
    }
    expect(account.published).toHaveLength(1);
  });
});

describe('faults', () => {
  it('inject times=1: the first call fails and changes nothing, the next succeeds', async () => {
    const { account, ec2 } = estate();
    account.inject({ service: 'ec2', operation: 'StopInstances', error: 'UnauthorizedOperation', message: 'You are not authorized to perform this operation.' });
    const err = await failure(ec2.send(new StopInstancesCommand({ InstanceIds: ['i-0primary'], Force: true })));
    expect(err).toMatchObject({ name: 'UnauthorizedOperation', $fault: 'client', $metadata: { httpStatusCode: 403 } });
    expect(account.instance('i-0primary')?.state).toBe('running');
    await ec2.send(new StopInstancesCommand({ InstanceIds: ['i-0primary'], Force: true }));
    expect(account.instance('i-0primary')?.state).toBe('stopping');
    expect(account.apiCalls.map((c) => c.error)).toEqual(['UnauthorizedOperation', undefined]);
  });

  it('inject with operation *, a predicate, and times Infinity; server errors are $fault server', async () => {
    const { account, rds } = estate();
    account.inject({
      service: 'rds', operation: '*', error: 'InternalFailure', times: Infinity,
      when: (input) => input.DBInstanceIdentifier === 'db-replica',
    });
    for (let n = 0; n < 3; n++) {
      const err = await failure(rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: 'db-replica' })));
      expect(err).toBeInstanceOf(RDSServiceException);
      expect(err).toMatchObject({ name: 'InternalFailure', $fault: 'server', $metadata: { httpStatusCode: 500 } });
    }
    await expect(rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: 'db-primary' }))).resolves.toBeDefined();
  });

  it('injecting a query-protocol wire code yields the SDK class (SNS Throttled -> ThrottledException)', async () => {
    const { account, sns } = estate();
    account.inject({ service: 'sns', operation: 'Publish', error: 'Throttled' });
    const err = await failure(sns.send(new PublishCommand({ TopicArn: TOPIC, Message: 'x' })));
    expect(err).toBeInstanceOf(ThrottledException);
    expect(err).toMatchObject({ name: 'ThrottledException', $metadata: { httpStatusCode: 429 } });
  });

  it('throttleFirstCallOfEachOperation: each service throttles with its real error name, then succeeds', async () => {
    const { account, ec2, rds, r53, cw, sns } = estate();
    account.throttleFirstCallOfEachOperation();
    const calls = [
      { send: () => ec2.send(new DescribeInstancesCommand({ InstanceIds: ['i-0primary'] })), base: EC2ServiceException, name: 'RequestLimitExceeded', status: 503 },
      { send: () => rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: 'db-replica' })), base: RDSServiceException, name: 'Throttling', status: 400 },
      { send: () => r53.send(new GetHostedZoneCommand({ Id: ZONE })), base: Route53ServiceException, name: 'Throttling', status: 400 },
      {
        send: () => cw.send(new GetMetricStatisticsCommand({ Namespace: 'AWS/RDS', MetricName: 'ReplicaLag', StartTime: new Date(0), EndTime: new Date(1), Period: 60 })),
        base: CloudWatchServiceException, name: 'Throttling', status: 400,
      },
      { send: () => sns.send(new PublishCommand({ TopicArn: TOPIC, Message: 'x' })), base: SNSServiceException, name: 'ThrottledException', status: 429 },
    ];
    for (const c of calls) {
      const err = await failure(c.send());
      expect(err).toBeInstanceOf(c.base);
      expect(err).toMatchObject({ name: c.name, $metadata: { httpStatusCode: c.status }, $fault: c.status >= 500 ? 'server' : 'client' });
      await expect(c.send()).resolves.toMatchObject({ $metadata: { httpStatusCode: 200 } });
    }
  });

  it('an operation outside the simulation throws an error naming it', async () => {
    const { ec2 } = estate();
    await expect(ec2.send(new TerminateInstancesCommand({ InstanceIds: ['i-0primary'] }))).rejects.toThrow(/TerminateInstances/);
  });
});

describe('observation', () => {
  it('records every call with mutating/dryRun flags and every transition in time order', async () => {
    const { account, ec2, rds, r53 } = estate();
    await rds.send(new PromoteReadReplicaCommand({ DBInstanceIdentifier: 'db-replica' }));
    await ec2.send(new StopInstancesCommand({ InstanceIds: ['i-0primary'], Force: true }));
    await r53.send(new ChangeResourceRecordSetsCommand({ HostedZoneId: ZONE, ChangeBatch: { Changes: [upsertA('app.example.com', '10.0.2.2')] } }));
    await ec2.send(new DescribeInstancesCommand({ InstanceIds: ['i-0primary'] }));
    expect(account.apiCalls.map((c) => [c.operation, c.mutating])).toEqual([
      ['PromoteReadReplica', true], ['StopInstances', true], ['ChangeResourceRecordSets', true], ['DescribeInstances', false],
    ]);
    account.clock.advance(600_000);
    const events = account.events;
    expect(events.map((e) => `${e.resource}:${e.to}`)).toEqual([
      'db-replica:modifying', 'i-0primary:stopping', 'i-0primary:stopped', expect.stringMatching(/INSYNC$/),
      'db-replica:rebooting', 'db-replica:available',
    ]);
    expect(events.map((e) => e.at)).toEqual([...events.map((e) => e.at)].sort((a, b) => a - b));
    expect(account.dbInstance('db-replica')?.promotedAt).toBe(events.at(-1)?.at);
  });
});
