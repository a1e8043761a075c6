/**
 * Step 6, flip-dns: `prepare` reads each record's current value, `apply` sends one UPSERT batch with the
 * configured TTLs, `check` polls GetChange until INSYNC. Every name, type, TTL and value comes from the
 * deployed group, and the promoted replica's address from RDS: nothing in the event can point a name
 * anywhere else.
 */
import 'aws-sdk-client-mock-vitest/extend';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mockClient } from 'aws-sdk-client-mock';
import {
  ChangeResourceRecordSetsCommand,
  GetChangeCommand,
  InvalidChangeBatch,
  ListResourceRecordSetsCommand,
  PriorRequestNotComplete,
  Route53Client,
  ThrottlingException,
  type ResourceRecordSet,
} from '@aws-sdk/client-route-53';
import { DescribeDBInstancesCommand, RDSClient, type DBInstance } from '@aws-sdk/client-rds';
import { applyDns, checkDns, prepareDns, run } from '../../lambdas/steps/flip-dns';
import type { DnsResult, WorkflowState } from '../../lambdas/core/workflow-state';
import { parseConfig, type GroupConfig } from '../../lambdas/core/config';
import { CHANGE_ID, OLD_PRIMARY, PROMOTED, REPLICA, SOURCE_ARN, T0, ZONE, ordersGroup, ordersInput, planFor, failure } from '../support/fixtures';

const group = ordersGroup({
  dns: {
    records: [
      // Default TTL (30) and a name given with a trailing dot and capitals: both normalized by the config.
      { name: 'DB.orders.example.com.', type: 'CNAME', target: 'replicaEndpoint' },
      { name: 'api.orders.example.com', type: 'A', ttl: 60, values: ['198.51.100.20', '198.51.100.21'] },
    ],
  },
});

/** The group the step finds deployed (its deps' groups): `group` unless a test deploys another. */
let deployedGroup: GroupConfig = group;

/** Plan started 60 s and triggered 90 s before T0; assess, fence and promote went through. */
function state(options: { dryRun?: boolean; promotedEndpoint?: string | null; dns?: DnsResult } = {}): WorkflowState {
  const plan = planFor(group, { dryRun: options.dryRun ?? false, startedAt: T0 - 60_000, triggeredAt: T0 - 90_000 });
  const promoted = options.promotedEndpoint === undefined ? PROMOTED : options.promotedEndpoint;
  return {
    plan,
    assess: {
      startedAt: T0 - 50_000,
      endedAt: T0 - 49_000,
      decision: 'proceed',
      reason: 'ok',
      lagSeconds: 1,
      // What assess saw before the promotion; the promoted endpoint is the one to use.
      replica: { id: 'orders-replica', region: 'us-west-2', status: 'available', isReplica: true, endpointAddress: 'stale.us-west-2.rds.amazonaws.com' },
    },
    promote: {
      dbInstanceIdentifier: 'orders-replica',
      dryRun: false,
      polls: 3,
      alreadyPromoted: false,
      startedAt: T0 - 40_000,
      endedAt: T0 - 1_000,
      confirmed: true,
      status: 'available',
      ...(promoted ? { endpointAddress: promoted } : {}),
      reason: 'promoted',
    },
    ...(options.dns ? { dns: options.dns } : {}),
  };
}

const rrset = (name: string, type: 'A' | 'CNAME', ttl: number, values: string[]): ResourceRecordSet => ({
  Name: name,
  Type: type,
  TTL: ttl,
  ResourceRecords: values.map((Value) => ({ Value })),
});

/** The replica as RDS describes it: promoted (standalone) unless `replicaOf` is given. */
const described = (id: string, address: string | undefined, replicaOf?: string): { DBInstances: DBInstance[] } => ({
  DBInstances: [{ DBInstanceIdentifier: id, DBInstanceStatus: 'available', ...(address ? { Endpoint: { Address: address, Port: 5432 } } : {}), ...(replicaOf ? { ReadReplicaSourceDBInstanceIdentifier: replicaOf } : {}) }],
});

describe('flip-dns', () => {
  const route53 = mockClient(Route53Client);
  const rds = mockClient(RDSClient);
  const clock = { ms: T0 };
  const regions: string[] = [];
  const deps = {
    groups: () => ({ [deployedGroup.name]: deployedGroup }),
    now: () => clock.ms,
    route53: () => new Route53Client({ region: 'us-east-1' }),
    rds: (region: string) => (regions.push(region), new RDSClient({ region })),
  };

  // The promoted replica, as RDS reports it.
  beforeEach(() => {
    rds.on(DescribeDBInstancesCommand, { DBInstanceIdentifier: REPLICA }).resolves(described(REPLICA, PROMOTED));
  });

  afterEach(() => {
    route53.reset();
    rds.reset();
    clock.ms = T0;
    regions.length = 0;
    deployedGroup = group;
  });

  /** Route 53 as it is before the failover: the CNAME exists; the A record does not (the next name is listed). */
  function zoneBeforeFailover() {
    route53
      .on(ListResourceRecordSetsCommand, { StartRecordName: 'db.orders.example.com' })
      .resolves({ ResourceRecordSets: [rrset('db.orders.example.com.', 'CNAME', 300, [OLD_PRIMARY])], IsTruncated: true, MaxItems: 1 });
    route53
      .on(ListResourceRecordSetsCommand, { StartRecordName: 'api.orders.example.com' })
      .resolves({ ResourceRecordSets: [rrset('app.orders.example.com.', 'A', 60, ['198.51.100.99'])], IsTruncated: true, MaxItems: 1 });
  }

  describe('prepareDns', () => {
    it('reads each record before the change; a different next record means it did not exist', async () => {
      // Arrange
      zoneBeforeFailover();

      // Act
      const result = await prepareDns(state(), deps);

      // Assert
      expect(route53).toHaveReceivedCommandTimes(ListResourceRecordSetsCommand, 2);
      expect(route53).toHaveReceivedNthCommandWith(ListResourceRecordSetsCommand, 1, {
        HostedZoneId: ZONE,
        StartRecordName: 'db.orders.example.com',
        StartRecordType: 'CNAME',
        MaxItems: 1,
      });
      expect(route53).toHaveReceivedNthCommandWith(ListResourceRecordSetsCommand, 2, {
        HostedZoneId: ZONE,
        StartRecordName: 'api.orders.example.com',
        StartRecordType: 'A',
        MaxItems: 1,
      });
      expect(route53).not.toHaveReceivedCommand(ChangeResourceRecordSetsCommand);
      expect(result).toEqual({
        startedAt: T0,
        endedAt: undefined,
        changes: [
          { name: 'db.orders.example.com', type: 'CNAME', ttl: 30, before: { ttl: 300, values: [OLD_PRIMARY] }, after: [PROMOTED] },
          { name: 'api.orders.example.com', type: 'A', ttl: 60, before: null, after: ['198.51.100.20', '198.51.100.21'] },
        ],
        confirmed: false,
        dryRun: false,
        polls: 0,
        reason: `read 2 record(s) in ${ZONE} before the change`,
      });
    });

    it.each([
      ['an alias record', { AliasTarget: { HostedZoneId: 'Z2FDTNDATAQYW2', DNSName: 'd111.cloudfront.net.', EvaluateTargetHealth: false } }, 'an alias record'],
      ['a weighted record', { SetIdentifier: 'blue', Weight: 50, TTL: 60, ResourceRecords: [{ Value: OLD_PRIMARY }] }, 'a routing-policy record (set blue)'],
    ])('refuses %s, which an UPSERT of a simple record cannot replace', async (_name, extra, what) => {
      route53.on(ListResourceRecordSetsCommand).resolves({ ResourceRecordSets: [{ Name: 'db.orders.example.com.', Type: 'CNAME', ...extra }] });

      const error = await failure(prepareDns(state(), deps));

      expect(error.name).toBe('DnsChangeFailed');
      expect(error.message).toBe(`CNAME db.orders.example.com is ${what}; the controller flips simple records only`);
    });

    it('a record of the same name but another type is not the record', async () => {
      route53
        .on(ListResourceRecordSetsCommand)
        .resolves({ ResourceRecordSets: [rrset('db.orders.example.com.', 'A', 300, ['198.51.100.10'])] });

      const result = await prepareDns(state(), deps);

      expect(result.changes[0].before).toBeNull();
    });

    it('finds a wildcard record, which Route 53 lists with the * escaped as \\052', async () => {
      // Arrange
      const wildcard = ordersGroup({ dns: { records: [{ name: '*.orders.example.com', type: 'A', values: ['198.51.100.20'] }] } });
      route53
        .on(ListResourceRecordSetsCommand)
        .resolves({ ResourceRecordSets: [rrset('\\052.orders.example.com.', 'A', 300, ['198.51.100.10'])] });
      deployedGroup = wildcard;
      const s = state();

      // Act
      const result = await prepareDns({ ...s, plan: planFor(wildcard) }, deps);

      // Assert
      expect(route53).toHaveReceivedCommandWith(ListResourceRecordSetsCommand, { StartRecordName: '*.orders.example.com', StartRecordType: 'A' });
      expect(result.changes).toEqual([
        { name: '*.orders.example.com', type: 'A', ttl: 30, before: { ttl: 300, values: ['198.51.100.10'] }, after: ['198.51.100.20'] },
      ]);
    });

    it('points a replicaEndpoint record at the address RDS reports for the chosen replica, in its region: no address in the event counts', async () => {
      // Arrange: the event carries the address seen before the promotion, and a forged one as the promotion's.
      route53.on(ListResourceRecordSetsCommand).resolves({ ResourceRecordSets: [] });

      // Act
      const result = await prepareDns(state({ promotedEndpoint: 'attacker.example.net' }), deps);

      // Assert
      expect(result.changes[0].after).toEqual([PROMOTED]);
      expect(rds).toHaveReceivedCommandWith(DescribeDBInstancesCommand, { DBInstanceIdentifier: REPLICA });
      expect(regions).toEqual(['us-west-2']);
    });

    it('points at the chosen candidate: its endpoint, and its own values of a fixed record', async () => {
      // Arrange: a second candidate in us-east-2, with the app server of that region for the A record.
      const two = parseConfig({
        groups: [
          {
            ...ordersInput({
              dns: {
                records: [
                  { name: 'db.orders.example.com', type: 'CNAME', target: 'replicaEndpoint' },
                  { name: 'api.orders.example.com', type: 'A', values: ['198.51.100.20'], valuesByReplica: { 'orders-replica-east': ['203.0.113.20'] } },
                ],
              },
            }),
            additionalReplicas: [{ dbInstanceIdentifier: 'orders-replica-east', region: 'us-east-2' }],
          },
        ],
      }).groups[0];
      route53.on(ListResourceRecordSetsCommand).resolves({ ResourceRecordSets: [] });
      const base = state();
      const east = 'orders-replica-east.c9akciq32.us-east-2.rds.amazonaws.com';
      rds.on(DescribeDBInstancesCommand, { DBInstanceIdentifier: 'orders-replica-east' }).resolves(described('orders-replica-east', east));
      deployedGroup = two;
      const chosen: WorkflowState = {
        ...base,
        plan: planFor(two),
        assess: { ...base.assess!, chosen: { id: 'orders-replica-east', region: 'us-east-2' } },
        promote: { ...base.promote!, dbInstanceIdentifier: 'orders-replica-east', endpointAddress: east },
      };

      // Act
      const eastChanges = await prepareDns(chosen, deps);
      const westChanges = await prepareDns({ ...chosen, assess: { ...chosen.assess!, chosen: { id: 'orders-replica', region: 'us-west-2' } }, promote: base.promote }, deps);

      // Assert
      expect(eastChanges.changes.map((c) => [c.name, c.after])).toEqual([
        ['db.orders.example.com', [east]],
        ['api.orders.example.com', ['203.0.113.20']],
      ]);
      expect(westChanges.changes.map((c) => [c.name, c.after])).toEqual([
        ['db.orders.example.com', [PROMOTED]],
        ['api.orders.example.com', ['198.51.100.20']],
      ]);
    });

    it('fails with DnsChangeFailed when RDS reports no endpoint address', async () => {
      route53.on(ListResourceRecordSetsCommand).resolves({ ResourceRecordSets: [] });
      rds.on(DescribeDBInstancesCommand, { DBInstanceIdentifier: REPLICA }).resolves(described(REPLICA, undefined));

      const error = await failure(prepareDns(state(), deps));

      expect(error.name).toBe('DnsChangeFailed');
      expect(error.message).toBe('no endpoint address known for orders-replica; cannot point db.orders.example.com at it');
    });

    it('in a dry run, reads the records and is done', async () => {
      zoneBeforeFailover();

      const result = await prepareDns(state({ dryRun: true }), deps);

      expect(result).toMatchObject({ confirmed: true, dryRun: true, endedAt: T0, reason: `dry run: would UPSERT 2 record(s) in ${ZONE}` });
      expect(route53).not.toHaveReceivedCommand(ChangeResourceRecordSetsCommand);
    });

    it('throws TransientAwsError when Route 53 throttles the read', async () => {
      route53.on(ListResourceRecordSetsCommand).rejects(new ThrottlingException({ $metadata: { httpStatusCode: 400 }, message: 'Rate exceeded' }));

      const error = await failure(prepareDns(state(), deps));

      expect(error.name).toBe('TransientAwsError');
      expect(error.message).toBe('Route 53 ListResourceRecordSets db.orders.example.com failed: ThrottlingException: Rate exceeded');
    });
  });

  /** The state after prepare read the zone as it is before the failover. */
  async function prepared(): Promise<WorkflowState> {
    zoneBeforeFailover();
    const dns = await prepareDns(state(), deps);
    return state({ dns });
  }

  describe('applyDns', () => {

    it('sends ONE ChangeResourceRecordSets with every record as UPSERT and the configured TTLs', async () => {
      // Arrange
      const s = await prepared();
      route53.on(ChangeResourceRecordSetsCommand).resolves({ ChangeInfo: { Id: CHANGE_ID, Status: 'PENDING', SubmittedAt: new Date(T0) } });

      // Act
      const result = await applyDns(s, deps);

      // Assert
      expect(route53).toHaveReceivedCommandExactlyOnceWith(ChangeResourceRecordSetsCommand, {
        HostedZoneId: ZONE,
        ChangeBatch: {
          Comment: 'failover-controller orders-1: orders',
          Changes: [
            {
              Action: 'UPSERT',
              ResourceRecordSet: { Name: 'db.orders.example.com', Type: 'CNAME', TTL: 30, ResourceRecords: [{ Value: PROMOTED }] },
            },
            {
              Action: 'UPSERT',
              ResourceRecordSet: {
                Name: 'api.orders.example.com',
                Type: 'A',
                TTL: 60,
                ResourceRecords: [{ Value: '198.51.100.20' }, { Value: '198.51.100.21' }],
              },
            },
          ],
        },
      });
      expect(result).toMatchObject({ changeId: CHANGE_ID, status: 'PENDING', confirmed: false, reason: `UPSERT of 2 record(s) submitted as ${CHANGE_ID}` });
    });

    it('fails with DnsChangeFailed on InvalidChangeBatch', async () => {
      const s = await prepared();
      route53.on(ChangeResourceRecordSetsCommand).rejects(
        new InvalidChangeBatch({
          $metadata: { httpStatusCode: 400 },
          message: "[RRSet of type CNAME with DNS name db.orders.example.com. is not permitted because a conflicting RRSet of type A with the same DNS name already exists in zone example.com.]",
        }),
      );

      const error = await failure(applyDns(s, deps));

      expect(error.name).toBe('DnsChangeFailed');
      expect(error.message).toBe(
        `Route 53 ChangeResourceRecordSets in ${ZONE} failed: InvalidChangeBatch: [RRSet of type CNAME with DNS name db.orders.example.com. is not permitted because a conflicting RRSet of type A with the same DNS name already exists in zone example.com.]`,
      );
    });

    it.each([
      ['PriorRequestNotComplete', () => new PriorRequestNotComplete({ $metadata: { httpStatusCode: 400 }, message: 'The request was rejected because Route 53 was still processing a prior request.' })],
      ['ThrottlingException', () => new ThrottlingException({ $metadata: { httpStatusCode: 400 }, message: 'Rate exceeded' })],
    ])('throws TransientAwsError on %s', async (name, fault) => {
      const s = await prepared();
      route53.on(ChangeResourceRecordSetsCommand).rejects(fault());

      const error = await failure(applyDns(s, deps));

      expect(error.name).toBe('TransientAwsError');
      expect(error.message).toContain(`Route 53 ChangeResourceRecordSets in ${ZONE} failed: ${name}:`);
    });

    it('retried twice, keeps the before-values read by prepare', async () => {
      // Arrange: the first two attempts fail; by then Route 53 may already hold the new values, so
      // reading again would record the new value as the old one.
      const s = await prepared();
      route53
        .on(ListResourceRecordSetsCommand)
        .resolves({ ResourceRecordSets: [rrset('db.orders.example.com.', 'CNAME', 30, [PROMOTED])] });
      route53
        .on(ChangeResourceRecordSetsCommand)
        .rejectsOnce(new PriorRequestNotComplete({ $metadata: { httpStatusCode: 400 }, message: 'still processing' }))
        .rejectsOnce(new ThrottlingException({ $metadata: { httpStatusCode: 400 }, message: 'Rate exceeded' }))
        .resolves({ ChangeInfo: { Id: CHANGE_ID, Status: 'PENDING', SubmittedAt: new Date(T0) } });

      // Act: the state machine retries apply with the same input.
      await failure(applyDns(s, deps));
      await failure(applyDns(s, deps));
      const result = await applyDns(s, deps);

      // Assert
      expect(route53).toHaveReceivedCommandTimes(ChangeResourceRecordSetsCommand, 3);
      expect(route53).toHaveReceivedCommandTimes(ListResourceRecordSetsCommand, 2);
      expect(result.changes.map((c) => [c.name, c.before])).toEqual([
        ['db.orders.example.com', { ttl: 300, values: [OLD_PRIMARY] }],
        ['api.orders.example.com', null],
      ]);
      expect(result.changeId).toBe(CHANGE_ID);
    });
  });

  describe('applyDns against a forged state: the deployed names, TTLs and values, and the address RDS reports', () => {
    const ok = () => route53.on(ChangeResourceRecordSetsCommand).resolves({ ChangeInfo: { Id: CHANGE_ID, Status: 'PENDING', SubmittedAt: new Date(T0) } });
    const sentValues = () =>
      route53.commandCalls(ChangeResourceRecordSetsCommand).flatMap((c) => c.args[0].input.ChangeBatch!.Changes!.map((ch) => `${ch.ResourceRecordSet!.Type} ${ch.ResourceRecordSet!.Name} ${ch.ResourceRecordSet!.TTL} ${ch.ResourceRecordSet!.ResourceRecords!.map((r) => r.Value).join(',')}`));

    it('writes the address RDS reports, not the values or the promoted address the event carries', async () => {
      // Arrange: what the issue reproduced: the DNS step invoked with its own changes and endpoint.
      ok();
      const forged: WorkflowState = {
        ...state({ promotedEndpoint: 'attacker.example.net' }),
        dns: {
          startedAt: T0, confirmed: false, dryRun: false, polls: 0, reason: 'forged',
          changes: [
            { name: 'db.orders.example.com', type: 'CNAME', ttl: 5, before: { ttl: 300, values: [OLD_PRIMARY] }, after: ['attacker.example.net'] },
            { name: 'api.orders.example.com', type: 'A', ttl: 5, before: null, after: ['203.0.113.66'] },
          ],
        },
      };

      // Act
      const result = await applyDns(forged, deps);

      // Assert
      expect(sentValues()).toEqual([`CNAME db.orders.example.com 30 ${PROMOTED}`, 'A api.orders.example.com 60 198.51.100.20,198.51.100.21']);
      // The record keeps what prepare read before the change.
      expect(result.changes.map((c) => [c.name, c.after, c.before])).toEqual([
        ['db.orders.example.com', [PROMOTED], { ttl: 300, values: [OLD_PRIMARY] }],
        ['api.orders.example.com', ['198.51.100.20', '198.51.100.21'], null],
      ]);
    });

    it("takes the zone, names and TTLs from the deployed group, whatever config the event's plan carries", async () => {
      // Arrange: a plan as older versions carried it (the whole config, no digest), forged to another zone and name.
      ok();
      const s = state({ dns: { startedAt: T0, confirmed: false, dryRun: false, polls: 0, reason: 'read', changes: [] } });
      const other = { ...group, dns: { ...group.dns, hostedZoneId: 'ZATTACKER0000000000', records: [{ name: 'www.example.com', type: 'CNAME', ttl: 5, target: 'replicaEndpoint' }] } };
      const forged = { ...s, plan: { ...s.plan, group: other } } as unknown as WorkflowState;

      // Act
      await applyDns(forged, deps);

      // Assert
      expect(route53).toHaveReceivedCommandWith(ChangeResourceRecordSetsCommand, { HostedZoneId: ZONE });
      expect(sentValues()).toEqual([`CNAME db.orders.example.com 30 ${PROMOTED}`, 'A api.orders.example.com 60 198.51.100.20,198.51.100.21']);
    });

    it('refuses to point DNS at a replica RDS still reports as a read replica (not promoted): nothing changed', async () => {
      rds.on(DescribeDBInstancesCommand, { DBInstanceIdentifier: REPLICA }).resolves(described(REPLICA, PROMOTED, SOURCE_ARN));
      ok();

      const error = await failure(applyDns(await prepared(), deps));

      expect(error).toMatchObject({
        name: 'DnsChangeFailed',
        message: `${REPLICA} (us-west-2) is still a read replica of ${SOURCE_ARN}: not pointing DNS at a database that has not been promoted`,
      });
      expect(route53).not.toHaveReceivedCommand(ChangeResourceRecordSetsCommand);
    });

    it.each([
      ['a replica the group does not name', { id: 'attacker-db', region: 'us-west-2' }],
      ["the group's replica in another region", { id: REPLICA, region: 'eu-west-1' }],
    ])('refuses a chosen replica that is no candidate (%s) with InvalidInput: nothing read, nothing changed', async (_, chosen) => {
      ok();
      const s = await prepared();
      rds.resetHistory();

      const error = await failure(applyDns({ ...s, assess: { ...s.assess!, chosen } }, deps));

      expect(error.name).toBe('InvalidInput');
      expect(error.message).toBe(`assess.chosen: "${chosen.id}" in "${chosen.region}" is not a candidate replica of orders (${REPLICA} in us-west-2); not acting on it`);
      expect(route53).not.toHaveReceivedCommand(ChangeResourceRecordSetsCommand);
      expect(rds).not.toHaveReceivedAnyCommand();
    });

    it('refuses a change whose records were never read (no prepare): InvalidInput', async () => {
      ok();

      const error = await failure(applyDns(state(), deps));

      expect(error).toMatchObject({ name: 'InvalidInput', message: 'dns: the records were not read (ReadDnsRecords) before the change; not changing them' });
      expect(route53).not.toHaveReceivedCommand(ChangeResourceRecordSetsCommand);
    });
  });

  describe('checkDns', () => {
    const submitted: DnsResult = {
      startedAt: T0,
      changes: [{ name: 'db.orders.example.com', type: 'CNAME', ttl: 30, before: null, after: [PROMOTED] }],
      changeId: CHANGE_ID,
      status: 'PENDING',
      confirmed: false,
      dryRun: false,
      polls: 0,
      reason: `UPSERT of 1 record(s) submitted as ${CHANGE_ID}`,
    };

    it('polls GetChange: PENDING, then INSYNC confirms', async () => {
      // Arrange
      route53
        .on(GetChangeCommand)
        .resolvesOnce({ ChangeInfo: { Id: CHANGE_ID, Status: 'PENDING', SubmittedAt: new Date(T0) } })
        .resolves({ ChangeInfo: { Id: CHANGE_ID, Status: 'INSYNC', SubmittedAt: new Date(T0) } });

      // Act
      clock.ms = T0 + 5_000;
      const first = await checkDns(state({ dns: submitted }), deps);
      clock.ms = T0 + 10_000;
      const second = await checkDns(state({ dns: first }), deps);

      // Assert
      expect(route53).toHaveReceivedCommandTimes(GetChangeCommand, 2);
      expect(route53).toHaveReceivedCommandWith(GetChangeCommand, { Id: CHANGE_ID });
      expect(first).toMatchObject({ polls: 1, status: 'PENDING', confirmed: false, reason: `change ${CHANGE_ID} is PENDING` });
      expect(first.endedAt).toBeUndefined();
      expect(second).toMatchObject({ polls: 2, status: 'INSYNC', confirmed: true, endedAt: T0 + 10_000, reason: '1 record(s) INSYNC' });
    });

    it('fails with DnsChangeFailed once dns.syncTimeoutSeconds have passed', async () => {
      route53.on(GetChangeCommand).resolves({ ChangeInfo: { Id: CHANGE_ID, Status: 'PENDING', SubmittedAt: new Date(T0) } });
      clock.ms = T0 + 300_000;

      const error = await failure(checkDns(state({ dns: submitted }), deps));

      expect(error.name).toBe('DnsChangeFailed');
      expect(error.message).toBe(`change ${CHANGE_ID} still PENDING 300 s after it was submitted (timeout 300 s)`);
    });

    it('throws TransientAwsError when GetChange is throttled', async () => {
      route53.on(GetChangeCommand).rejects(new ThrottlingException({ $metadata: { httpStatusCode: 400 }, message: 'Rate exceeded' }));

      const error = await failure(checkDns(state({ dns: submitted }), deps));

      expect(error.name).toBe('TransientAwsError');
    });
  });

  it('run dispatches prepare, apply and check', async () => {
    zoneBeforeFailover();
    route53.on(ChangeResourceRecordSetsCommand).resolves({ ChangeInfo: { Id: CHANGE_ID, Status: 'PENDING', SubmittedAt: new Date(T0) } });
    route53.on(GetChangeCommand).resolves({ ChangeInfo: { Id: CHANGE_ID, Status: 'INSYNC', SubmittedAt: new Date(T0) } });

    const prepared = await run({ action: 'prepare', state: state() }, deps);
    const applied = await run({ action: 'apply', state: state({ dns: prepared }) }, deps);
    const checked = await run({ action: 'check', state: state({ dns: applied }) }, deps);

    expect(route53).toHaveReceivedCommandOnce(ChangeResourceRecordSetsCommand);
    expect(checked).toMatchObject({ confirmed: true, status: 'INSYNC', changeId: CHANGE_ID });
  });
});
