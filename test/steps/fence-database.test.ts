/**
 * Step 4b, fence-database: the replica's source (the old database) is discovered from the replica,
 * checked against replica.source, put behind the deny-all security group, and rebooted once only that
 * group is listed; confirmed when it is available again behind it. RDS and EC2 are mocked.
 */
import 'aws-sdk-client-mock-vitest/extend';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mockClient } from 'aws-sdk-client-mock';
import { DescribeDBInstancesCommand, DBInstanceNotFoundFault, InvalidDBInstanceStateFault, ModifyDBInstanceCommand, RDSClient, RebootDBInstanceCommand, type DBInstance } from '@aws-sdk/client-rds';
import { DescribeSecurityGroupsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { checkDatabaseFence, databaseStillFenced, run, startDatabaseFence } from '../../lambdas/steps/fence-database';
import type { GroupConfig } from '../../lambdas/core/config';
import type { Attestation, DatabaseFenceResult, WorkflowState } from '../../lambdas/core/workflow-state';
import { REPLICA, SOURCE_ARN, SOURCE_DB, SOURCE_VPC, T0, failure, ordersGroup, planFor } from '../support/fixtures';

const FENCE_SG = 'sg-0dbfence00000000a';
const APP_SG = 'sg-0app0000000000000';
const ATTESTATION: Attestation = { by: 'alice', reason: 'the source was deleted by hand', at: '2026-03-01T11:59:00.000Z' };

/** The group the step finds deployed (its deps' groups): the one the last state was built for. */
let deployedGroup: GroupConfig = ordersGroup();

/** A plan that deploys the group it is built for (with `source` as replica.source, if given). */
function state(options: { dryRun?: boolean; attestation?: Attestation; source?: string } = {}): WorkflowState {
  const group = ordersGroup(options.source ? { replica: { source: options.source } } : {});
  deployedGroup = group;
  const plan = planFor(group, { dryRun: options.dryRun ?? false, ...(options.attestation ? { attestation: options.attestation, trigger: { type: 'manual' } } : {}) });
  return { plan };
}

const replica = (source = SOURCE_ARN) => ({ DBInstances: [{ DBInstanceIdentifier: REPLICA, DBInstanceStatus: 'available', ReadReplicaSourceDBInstanceIdentifier: source }] });
const source = (over: Partial<DBInstance> & { groups?: string[] } = {}) => {
  const { groups = [APP_SG], ...rest } = over;
  return {
    DBInstances: [
      {
        DBInstanceIdentifier: SOURCE_DB,
        Engine: 'postgres',
        DBInstanceStatus: 'available',
        VpcSecurityGroups: groups.map((VpcSecurityGroupId) => ({ VpcSecurityGroupId, Status: 'active' })),
        DBSubnetGroup: { VpcId: SOURCE_VPC },
        ReadReplicaDBInstanceIdentifiers: [`arn:aws:rds:us-west-2:123456789012:db:${REPLICA}`],
        ...rest,
      },
    ],
  };
};
const timeout = () => Object.assign(new Error('Connection timed out after 3000 ms'), { name: 'TimeoutError', $metadata: {} });
const notAvailable = () => new InvalidDBInstanceStateFault({ message: 'Instance is not in available state', $metadata: { httpStatusCode: 400 } });

describe('fence-database', () => {
  const rds = mockClient(RDSClient);
  const ec2 = mockClient(EC2Client);
  const clock = { ms: T0 };
  const regions: string[] = [];
  const deps = {
    groups: () => ({ [deployedGroup.name]: deployedGroup }),
    now: () => clock.ms,
    rds: (region: string) => (regions.push(`rds:${region}`), new RDSClient({ region })),
    ec2: (region: string) => (regions.push(`ec2:${region}`), new EC2Client({ region })),
  };

  afterEach(() => {
    rds.reset();
    ec2.reset();
    clock.ms = T0;
    regions.length = 0;
    deployedGroup = ordersGroup();
  });

  /** The replica names the source; the source is a healthy postgres in its VPC; the deny-all group exists. */
  const healthy = (over: Parameters<typeof source>[0] = {}) => {
    rds.on(DescribeDBInstancesCommand, { DBInstanceIdentifier: REPLICA }).resolves(replica());
    rds.on(DescribeDBInstancesCommand, { DBInstanceIdentifier: SOURCE_DB }).resolves(source(over));
    ec2.on(DescribeSecurityGroupsCommand).resolves({ SecurityGroups: [{ GroupId: FENCE_SG, GroupName: 'failover-dbfence-orders', VpcId: SOURCE_VPC }] });
    rds.on(ModifyDBInstanceCommand).resolves({});
  };

  describe('startDatabaseFence', () => {
    it('discovers the source from the replica and replaces its security groups with the deny-all group', async () => {
      // Arrange
      healthy();

      // Act
      const result = await startDatabaseFence(state(), deps);

      // Assert
      expect(rds).toHaveReceivedCommandWith(DescribeDBInstancesCommand, { DBInstanceIdentifier: REPLICA });
      expect(rds).toHaveReceivedCommandWith(DescribeDBInstancesCommand, { DBInstanceIdentifier: SOURCE_DB });
      expect(ec2).toHaveReceivedCommandWith(DescribeSecurityGroupsCommand, {
        Filters: [
          { Name: 'group-name', Values: ['failover-dbfence-orders'] },
          { Name: 'vpc-id', Values: [SOURCE_VPC] },
        ],
      });
      expect(rds).toHaveReceivedCommandExactlyOnceWith(ModifyDBInstanceCommand, { DBInstanceIdentifier: SOURCE_DB, VpcSecurityGroupIds: [FENCE_SG], ApplyImmediately: true });
      expect(rds).toHaveReceivedCommandTimes(RebootDBInstanceCommand, 0);
      // The replica in its region, the source (and its group) in the source's.
      expect(new Set(regions)).toEqual(new Set(['rds:us-west-2', 'rds:us-east-1', 'ec2:us-east-1']));
      expect(result).toEqual({
        id: SOURCE_DB,
        region: 'us-east-1',
        engine: 'postgres',
        status: 'available',
        phase: 'isolating',
        method: 'sg+reboot',
        confirmed: false,
        fenceSecurityGroupId: FENCE_SG,
        originalSecurityGroupIds: [APP_SG],
        dryRun: false,
        polls: 0,
        startedAt: T0,
        reason: `ModifyDBInstance accepted: ${SOURCE_DB}'s security groups (${APP_SG}) replaced by the deny-all group ${FENCE_SG}`,
      });
    });

    it('refuses a replica that replicates from another source than replica.source', async () => {
      healthy();
      rds.on(DescribeDBInstancesCommand, { DBInstanceIdentifier: REPLICA }).resolves(replica('arn:aws:rds:us-east-1:123456789012:db:billing-db'));

      const error = await failure(startDatabaseFence(state(), deps));

      expect(error.name).toBe('FenceNotConfirmed');
      expect(error.message).toBe(`${REPLICA} replicates from arn:aws:rds:us-east-1:123456789012:db:billing-db, not the configured replica.source ${SOURCE_ARN}; not fencing or promoting`);
      expect(rds).toHaveReceivedCommandTimes(ModifyDBInstanceCommand, 0);
    });

    it('takes a same-region source by identifier', async () => {
      healthy();
      rds.on(DescribeDBInstancesCommand, { DBInstanceIdentifier: REPLICA }).resolves(replica(SOURCE_DB));

      const result = await startDatabaseFence(state({ source: SOURCE_DB }), deps);

      expect(result).toMatchObject({ id: SOURCE_DB, region: 'us-west-2' });
    });

    it('counts a failed source as fenced without touching it', async () => {
      healthy({ DBInstanceStatus: 'failed' });

      const result = await startDatabaseFence(state(), deps);

      expect(rds).toHaveReceivedCommandTimes(ModifyDBInstanceCommand, 0);
      expect(result).toMatchObject({ status: 'failed', method: 'none', phase: 'confirmed', confirmed: true, endedAt: T0 });
      expect(result.reason).toBe(`${SOURCE_DB} is failed, which RDS cannot recover (DB instance status table): it accepts no connection, fenced without action`);
    });

    it.each([
      ['aurora-postgresql', `${SOURCE_DB} is aurora-postgresql: an Aurora instance belongs to a cluster, whose writer this fence does not handle`],
      ['sqlserver-se', `${SOURCE_DB} runs sqlserver-se, which the database fence does not support (supported: postgres, mysql, mariadb); not promoting`],
    ])('fails the fence for engine %s, naming it', async (engine, message) => {
      healthy({ Engine: engine });

      const error = await failure(startDatabaseFence(state(), deps));

      expect(error.name).toBe('FenceNotConfirmed');
      expect(error.message).toContain(message);
      expect(rds).toHaveReceivedCommandTimes(ModifyDBInstanceCommand, 0);
    });

    it('fails when the source is in another VPC than replica.sourceVpcId', async () => {
      healthy({ DBSubnetGroup: { VpcId: 'vpc-0other00000000000' } });

      const error = await failure(startDatabaseFence(state(), deps));

      expect(error.message).toBe(`${SOURCE_DB} is in vpc-0other00000000000, but replica.sourceVpcId says ${SOURCE_VPC}: the deny-all security group is in the wrong VPC; not promoting`);
    });

    it('fails when the deny-all group was not deployed', async () => {
      healthy();
      ec2.on(DescribeSecurityGroupsCommand).resolves({ SecurityGroups: [] });

      const error = await failure(startDatabaseFence(state(), deps));

      expect(error.name).toBe('FenceNotConfirmed');
      expect(error.message).toBe(`the deny-all security group failover-dbfence-orders was not found in ${SOURCE_VPC} (us-east-1): deploy the stack's isolation stack; cannot fence ${SOURCE_DB}; not promoting`);
    });

    it('in a dry run, checks everything and changes nothing', async () => {
      healthy();

      const result = await startDatabaseFence(state({ dryRun: true }), deps);

      expect(rds).toHaveReceivedCommandTimes(ModifyDBInstanceCommand, 0);
      expect(result).toMatchObject({ dryRun: true, confirmed: true, endedAt: T0 });
      expect(result.reason).toBe(
        `dry run: would replace the security groups of ${SOURCE_DB} (postgres, available; ${APP_SG}) with the deny-all group ${FENCE_SG}, then reboot it to close every connection`,
      );
    });

    it('fails RegionUnreachable when RDS of the source region does not answer', async () => {
      healthy();
      rds.on(DescribeDBInstancesCommand, { DBInstanceIdentifier: SOURCE_DB }).rejects(timeout());

      const error = await failure(startDatabaseFence(state(), deps));

      expect(error.name).toBe('RegionUnreachable');
      expect(error.message).toMatch(/^RDS in us-east-1 could not be reached \(connection or request timed out after retries\): orders-primary cannot be fenced or confirmed; not promoting/);
    });

    it('with an attestation, passes the unreachable source as attested', async () => {
      healthy();
      rds.on(DescribeDBInstancesCommand, { DBInstanceIdentifier: SOURCE_DB }).rejects(timeout());

      const result = await startDatabaseFence(state({ attestation: ATTESTATION }), deps);

      expect(result).toMatchObject({ confirmed: true, method: 'attested', status: 'unreachable', phase: 'confirmed' });
      expect(result.reason).toBe(`RDS in us-east-1 could not be reached; ${SOURCE_DB} passed on the attestation of alice: the source was deleted by hand`);
    });

    it('fails when the source the replica names does not exist', async () => {
      healthy();
      rds.on(DescribeDBInstancesCommand, { DBInstanceIdentifier: SOURCE_DB }).rejects(new DBInstanceNotFoundFault({ message: 'not found', $metadata: { httpStatusCode: 404 } }));

      const error = await failure(startDatabaseFence(state(), deps));

      expect(error.name).toBe('FenceNotConfirmed');
      expect(error.message).toMatch(/does not exist in us-east-1 \(DBInstanceNotFound\)/);
    });
  });

  describe('checkDatabaseFence', () => {
    const isolating = (over: Partial<DatabaseFenceResult> = {}, from = state()): WorkflowState => ({
      ...from,
      databaseFence: {
        id: SOURCE_DB,
        region: 'us-east-1',
        engine: 'postgres',
        status: 'available',
        phase: 'isolating',
        method: 'sg+reboot',
        confirmed: false,
        fenceSecurityGroupId: FENCE_SG,
        originalSecurityGroupIds: [APP_SG],
        dryRun: false,
        polls: 0,
        startedAt: T0,
        reason: 'ModifyDBInstance accepted',
        ...over,
      },
    });

    // Each poll finds the deny-all group again by name: the event says only how far the fence got.
    beforeEach(() => {
      ec2.on(DescribeSecurityGroupsCommand).resolves({ SecurityGroups: [{ GroupId: FENCE_SG, GroupName: 'failover-dbfence-orders', VpcId: SOURCE_VPC }] });
    });

    it("puts the source behind the deny-all group found by name, not the group a forged result names", async () => {
      // Arrange: the change was refused earlier (available, old groups); the event names an open group.
      rds.on(DescribeDBInstancesCommand).resolves(source({ groups: [APP_SG] }));
      rds.on(ModifyDBInstanceCommand).resolves({});

      // Act
      const result = await checkDatabaseFence(isolating({ fenceSecurityGroupId: 'sg-0attacker00000000' }), deps);

      // Assert
      expect(rds).toHaveReceivedCommandExactlyOnceWith(ModifyDBInstanceCommand, { DBInstanceIdentifier: SOURCE_DB, VpcSecurityGroupIds: [FENCE_SG], ApplyImmediately: true });
      expect(result.fenceSecurityGroupId).toBe(FENCE_SG);
    });

    it('refuses a result that names another database (InvalidInput): nothing modified or rebooted', async () => {
      rds.on(DescribeDBInstancesCommand).resolves(source({ groups: [FENCE_SG] }));

      const error = await failure(checkDatabaseFence(isolating({ id: 'payments-primary', region: 'eu-west-1' }), deps));

      expect(error).toMatchObject({
        name: 'InvalidInput',
        message: `databaseFence: "payments-primary" in "eu-west-1" is not the source database of orders (${SOURCE_DB} in us-east-1); not acting on it`,
      });
      expect(rds).not.toHaveReceivedAnyCommand();
    });

    it('waits while the old groups are still listed, without rebooting', async () => {
      rds.on(DescribeDBInstancesCommand).resolves(source({ DBInstanceStatus: 'modifying' }));

      const result = await checkDatabaseFence(isolating(), deps);

      expect(rds).toHaveReceivedCommandTimes(RebootDBInstanceCommand, 0);
      expect(result).toMatchObject({ phase: 'isolating', confirmed: false, polls: 1, reason: `${SOURCE_DB} is modifying with security groups ${APP_SG}: waiting until only ${FENCE_SG} is listed` });
    });

    it('reboots once only the deny-all group is listed, then confirms when it is available again', async () => {
      rds
        .on(DescribeDBInstancesCommand)
        .resolvesOnce(source({ groups: [FENCE_SG] }))
        .resolvesOnce(source({ groups: [FENCE_SG], DBInstanceStatus: 'rebooting' }))
        .resolves(source({ groups: [FENCE_SG] }));
      rds.on(RebootDBInstanceCommand).resolves({ DBInstance: { DBInstanceIdentifier: SOURCE_DB, DBInstanceStatus: 'rebooting' } });

      clock.ms = T0 + 5_000;
      const rebooting = await checkDatabaseFence(isolating(), deps);
      clock.ms = T0 + 10_000;
      const still = await checkDatabaseFence({ ...isolating(), databaseFence: rebooting }, deps);
      clock.ms = T0 + 70_000;
      const confirmed = await checkDatabaseFence({ ...isolating(), databaseFence: still }, deps);

      expect(rds).toHaveReceivedCommandExactlyOnceWith(RebootDBInstanceCommand, { DBInstanceIdentifier: SOURCE_DB });
      expect(rebooting).toMatchObject({ phase: 'rebooting', rebootRequestedAt: T0 + 5_000, rebootObserved: true, confirmed: false });
      expect(still).toMatchObject({ phase: 'rebooting', confirmed: false });
      expect(confirmed).toMatchObject({ phase: 'confirmed', confirmed: true, confirmedAt: T0 + 70_000, endedAt: T0 + 70_000, polls: 3 });
      expect(confirmed.reason).toBe(`${SOURCE_DB} fenced: only the deny-all group ${FENCE_SG}, and rebooted, so no connection from before survives and no new one is accepted`);
    });

    it('waits when the reboot is refused because the source is not available yet', async () => {
      rds.on(DescribeDBInstancesCommand).resolves(source({ groups: [FENCE_SG] }));
      rds.on(RebootDBInstanceCommand).rejects(notAvailable());

      const result = await checkDatabaseFence(isolating(), deps);

      expect(result).toMatchObject({ phase: 'isolating', confirmed: false });
    });

    it('fails when the source comes back from its reboot with other groups', async () => {
      rds.on(DescribeDBInstancesCommand).resolves(source({ groups: [APP_SG] }));

      const error = await failure(checkDatabaseFence(isolating({ phase: 'rebooting', rebootObserved: true }), deps));

      expect(error.name).toBe('FenceNotConfirmed');
      expect(error.message).toMatch(/came back from its reboot with security groups sg-0app0000000000000, not only the deny-all group/);
    });

    it('fails after fence.databaseTimeoutSeconds, attestation or not: the database is seen and not fenced', async () => {
      rds.on(DescribeDBInstancesCommand).resolves(source({ DBInstanceStatus: 'modifying' }));
      clock.ms = T0 + 900_000;

      const error = await failure(checkDatabaseFence(isolating(), deps));
      const attested = await failure(checkDatabaseFence(isolating({}, state({ attestation: ATTESTATION })), deps));

      expect(attested.name).toBe('FenceNotConfirmed');
      expect(error.name).toBe('FenceNotConfirmed');
      expect(error.message).toMatch(/^the database fence of orders-primary was not confirmed in 900 s/);
    });

    it('confirms a source that failed meanwhile', async () => {
      rds.on(DescribeDBInstancesCommand).resolves(source({ DBInstanceStatus: 'failed' }));

      const result = await checkDatabaseFence(isolating(), deps);

      expect(result).toMatchObject({ confirmed: true, method: 'none', status: 'failed' });
    });
  });

  describe('databaseStillFenced', () => {
    const fence: DatabaseFenceResult = {
      id: SOURCE_DB,
      region: 'us-east-1',
      status: 'available',
      phase: 'confirmed',
      method: 'sg+reboot',
      confirmed: true,
      fenceSecurityGroupId: FENCE_SG,
      dryRun: false,
      polls: 3,
      startedAt: T0,
      reason: 'fenced',
    };

    it('holds while only the deny-all group is listed', async () => {
      rds.on(DescribeDBInstancesCommand).resolves(source({ groups: [FENCE_SG] }));

      expect(await databaseStillFenced(ordersGroup(), fence, deps)).toEqual({ kind: 'rds', id: SOURCE_DB, region: 'us-east-1', state: 'available', fenced: true, method: 'sg+reboot' });
    });

    it('does not hold once someone put other groups back', async () => {
      rds.on(DescribeDBInstancesCommand).resolves(source({ groups: [APP_SG] }));

      expect(await databaseStillFenced(ordersGroup(), fence, deps)).toMatchObject({ fenced: false });
    });
  });

  it('run dispatches on the action', async () => {
    healthy();

    const started = await run({ action: 'start', state: state() }, deps);

    expect(started.phase).toBe('isolating');
  });
});
