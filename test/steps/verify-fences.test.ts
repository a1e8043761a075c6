/**
 * Step 4c, verify-fences: every fence is read again from AWS immediately before the promotion and again
 * before the DNS change. An instance running again is stopped again and must be confirmed; a database
 * whose groups were put back fails; isolation alone passes only after the database's reboot.
 */
import 'aws-sdk-client-mock-vitest/extend';
import { afterEach, describe, expect, it } from 'vitest';
import { mockClient } from 'aws-sdk-client-mock';
import { DescribeInstancesCommand, EC2Client, StopInstancesCommand, type InstanceStateName } from '@aws-sdk/client-ec2';
import { DescribeDBInstancesCommand, RDSClient } from '@aws-sdk/client-rds';
import { run, verifyFences } from '../../lambdas/steps/verify-fences';
import type { Attestation, DatabaseFenceResult, FenceResult, InstanceFence, WorkflowState } from '../../lambdas/core/workflow-state';
import { INSTANCE, SOURCE_DB, T0, deployed, failure, ordersGroup, planFor } from '../support/fixtures';

const FENCE_SG = 'sg-0dbfence00000000a';
const ISOLATION = 'sg-0isolation000000';
const ATTESTATION: Attestation = { by: 'alice', reason: 'region dark', at: '2026-03-01T11:59:00.000Z' };

const instance = (over: Partial<InstanceFence> = {}): InstanceFence => ({ id: INSTANCE, state: 'stopped', fenced: true, method: 'force-stop', seen: true, stops: 1, reason: 'confirmed stopped', ...over });
const databaseFence = (over: Partial<DatabaseFenceResult> = {}): DatabaseFenceResult => ({
  id: SOURCE_DB,
  region: 'us-east-1',
  engine: 'postgres',
  status: 'available',
  phase: 'confirmed',
  method: 'sg+reboot',
  confirmed: true,
  fenceSecurityGroupId: FENCE_SG,
  rebootRequestedAt: T0 - 60_000,
  confirmedAt: T0 - 5_000,
  dryRun: false,
  polls: 4,
  startedAt: T0 - 90_000,
  reason: 'fenced',
  ...over,
});

function state(options: { instances?: InstanceFence[]; database?: DatabaseFenceResult; attestation?: Attestation; dryRun?: boolean } = {}): WorkflowState {
  const instances = options.instances ?? [instance()];
  const plan = planFor(ordersGroup(), { dryRun: options.dryRun ?? false, ...(options.attestation ? { attestation: options.attestation, trigger: { type: 'manual' } } : {}) });
  const fence: FenceResult = { instanceId: INSTANCE, confirmed: true, state: instances[0].state, method: 'force-stop', dryRun: false, reason: 'ok', polls: 2, startedAt: T0 - 120_000, endedAt: T0 - 100_000, instances };
  return { plan, fence, databaseFence: options.database ?? databaseFence() };
}

const described = (name: InstanceStateName, groups?: string[]) => ({
  Reservations: [{ Instances: [{ InstanceId: INSTANCE, State: { Name: name }, NetworkInterfaces: groups ? [{ NetworkInterfaceId: 'eni-0', Groups: groups.map((GroupId) => ({ GroupId })) }] : [] }] }],
});
const db = (groups: string[], status = 'available') => ({
  DBInstances: [{ DBInstanceIdentifier: SOURCE_DB, Engine: 'postgres', DBInstanceStatus: status, VpcSecurityGroups: groups.map((VpcSecurityGroupId) => ({ VpcSecurityGroupId, Status: 'active' })) }],
});
const timeout = () => Object.assign(new Error('Connection timed out after 3000 ms'), { name: 'TimeoutError', $metadata: {} });

describe('verify-fences', () => {
  const ec2 = mockClient(EC2Client);
  const rds = mockClient(RDSClient);
  const clock = { ms: T0 };
  const regions: string[] = [];
  const deps = {
    ...deployed(ordersGroup()),
    now: () => clock.ms,
    ec2: (region: string) => (regions.push(region), new EC2Client({ region })),
    rds: (region: string) => (regions.push(region), new RDSClient({ region })),
  };

  afterEach(() => {
    ec2.reset();
    rds.reset();
    clock.ms = T0;
    regions.length = 0;
  });

  it('re-checks the deployed writers only: a forged entry for another instance is InvalidInput, and nothing is stopped', async () => {
    // Arrange: the event adds a running instance the group does not name.
    ec2.on(DescribeInstancesCommand).resolves(described('running'));
    rds.on(DescribeDBInstancesCommand).resolves(db([FENCE_SG]));
    const forged = state({ instances: [instance(), instance({ id: 'i-0ffffffffffffffff', state: 'running', fenced: false })] });

    // Act
    const error = await failure(verifyFences('promotion', forged, deps));

    // Assert
    expect(error).toMatchObject({ name: 'InvalidInput', message: `fence.instances: "i-0ffffffffffffffff" is no writer of orders (its writers: ${INSTANCE}); not acting on them` });
    expect(ec2).not.toHaveReceivedCommand(StopInstancesCommand);
  });

  it("reads the deployed group's source database, in its region, not one a forged database fence names", async () => {
    ec2.on(DescribeInstancesCommand).resolves(described('stopped'));
    rds.on(DescribeDBInstancesCommand).resolves(db([FENCE_SG]));

    const error = await failure(verifyFences('promotion', state({ database: databaseFence({ id: 'payments-primary', region: 'eu-west-1' }) }), deps));

    expect(error.name).toBe('InvalidInput');
    expect(rds).not.toHaveReceivedAnyCommand();
    expect(regions).not.toContain('eu-west-1');
  });

  it('confirms when every instance is still stopped and the database still behind only the deny-all group', async () => {
    // Arrange
    ec2.on(DescribeInstancesCommand).resolves(described('stopped'));
    rds.on(DescribeDBInstancesCommand).resolves(db([FENCE_SG]));

    // Act
    const result = await verifyFences('promotion', state(), deps);

    // Assert
    expect(ec2).toHaveReceivedCommandWith(DescribeInstancesCommand, { InstanceIds: [INSTANCE] });
    expect(rds).toHaveReceivedCommandWith(DescribeDBInstancesCommand, { DBInstanceIdentifier: SOURCE_DB });
    expect(ec2).toHaveReceivedCommandTimes(StopInstancesCommand, 0);
    expect(result).toEqual({
      stage: 'promotion',
      startedAt: T0,
      endedAt: T0,
      polls: 0,
      confirmed: true,
      restopped: [],
      writers: [
        { kind: 'ec2', id: INSTANCE, region: 'us-east-1', state: 'stopped', fenced: true, method: 'force-stop' },
        { kind: 'rds', id: SOURCE_DB, region: 'us-east-1', state: 'available', fenced: true, method: 'sg+reboot' },
      ],
      reason: `every fence holds before the promotion: ${INSTANCE} stopped, ${SOURCE_DB} available`,
    });
  });

  it('force-stops an instance found running again, does not confirm, and confirms once it is stopped', async () => {
    ec2.on(DescribeInstancesCommand).resolvesOnce(described('running')).resolves(described('stopped'));
    ec2.on(StopInstancesCommand).resolves({ StoppingInstances: [{ InstanceId: INSTANCE, CurrentState: { Name: 'stopping' } }] });
    rds.on(DescribeDBInstancesCommand).resolves(db([FENCE_SG]));

    const first = await verifyFences('promotion', state(), deps);
    clock.ms = T0 + 5_000;
    const second = await verifyFences('promotion', { ...state(), verify: first }, deps);

    expect(ec2).toHaveReceivedCommandExactlyOnceWith(StopInstancesCommand, { InstanceIds: [INSTANCE], Force: true, SkipOsShutdown: true, DryRun: false });
    expect(first).toMatchObject({ confirmed: false, restopped: [INSTANCE], reason: `found unfenced, stopped again, waiting: ${INSTANCE} stopping` });
    expect(second).toMatchObject({ confirmed: true, startedAt: T0, endedAt: T0 + 5_000, polls: 1 });
    expect(second.reason).toBe(`every fence holds before the promotion: ${INSTANCE} stopped, ${SOURCE_DB} available; stopped again: ${INSTANCE}`);
  });

  it('fails FenceNotConfirmed when the restarted instance is not stopped within fence.timeoutSeconds', async () => {
    ec2.on(DescribeInstancesCommand).resolves(described('running'));
    ec2.on(StopInstancesCommand).resolves({ StoppingInstances: [{ InstanceId: INSTANCE, CurrentState: { Name: 'running' } }] });
    rds.on(DescribeDBInstancesCommand).resolves(db([FENCE_SG]));

    const first = await verifyFences('dns', state(), deps);
    clock.ms = T0 + 120_000;
    const error = await failure(verifyFences('dns', { ...state(), verify: first }, deps));

    expect(error.name).toBe('FenceNotConfirmed');
    expect(error.message).toBe(`${INSTANCE} running: found unfenced before the DNS change and not confirmed stopped within 120 s of stopping it again; not changing DNS`);
  });

  it('fails at once when the old database has other security groups again', async () => {
    rds.on(DescribeDBInstancesCommand).resolves(db(['sg-0app0000000000000']));

    const error = await failure(verifyFences('promotion', state(), deps));

    expect(error.name).toBe('FenceNotConfirmed');
    expect(error.message).toBe(`${SOURCE_DB} is no longer fenced: it is available with security groups other than only the deny-all group ${FENCE_SG}; not promoting`);
  });

  it('passes an isolated instance only because the database was rebooted after the isolation', async () => {
    const isolated = instance({ state: 'stopping', fenced: false, method: 'isolate', isolatedAt: T0 - 30_000, isolation: { securityGroupId: ISOLATION, networkInterfaces: ['eni-0'] } });
    ec2.on(DescribeInstancesCommand).resolves(described('stopping', [ISOLATION]));
    rds.on(DescribeDBInstancesCommand).resolves(db([FENCE_SG]));

    const ok = await verifyFences('promotion', state({ instances: [isolated] }), deps);
    const error = await failure(verifyFences('promotion', state({ instances: [isolated], database: databaseFence({ confirmedAt: T0 - 60_000 }) }), deps));

    expect(ok).toMatchObject({ confirmed: true });
    expect(ok.writers[0]).toEqual({ kind: 'ec2', id: INSTANCE, region: 'us-east-1', state: 'stopping', fenced: false, method: 'isolate' });
    expect(error.message).toBe(
      `${INSTANCE} is only isolated (stopping), and the old database was not rebooted after the isolation, so its established connections may remain; not promoting`,
    );
  });

  it('fails RegionUnreachable when the region does not answer, and passes on an attestation', async () => {
    rds.on(DescribeDBInstancesCommand).rejects(timeout());
    ec2.on(DescribeInstancesCommand).rejects(timeout());

    const error = await failure(verifyFences('promotion', state(), deps));
    const attested = await verifyFences('promotion', state({ attestation: ATTESTATION }), deps);

    expect(error.name).toBe('RegionUnreachable');
    expect(attested.confirmed).toBe(true);
    expect(attested.reason).toBe(`before the promotion: NOT confirmed, passed on the attestation of alice: ${INSTANCE} (unreachable), ${SOURCE_DB} (unreachable)`);
    expect(attested.writers.map((w) => [w.id, w.fenced, w.method])).toEqual([
      [INSTANCE, false, 'attested'],
      [SOURCE_DB, false, 'attested'],
    ]);
  });

  it('keeps the earlier stage in `previous` when the DNS check follows the promotion check', async () => {
    ec2.on(DescribeInstancesCommand).resolves(described('stopped'));
    rds.on(DescribeDBInstancesCommand).resolves(db([FENCE_SG]));

    const before = await verifyFences('promotion', state(), deps);
    clock.ms = T0 + 60_000;
    const dns = await run({ action: 'dns', state: { ...state(), verify: before } }, deps);

    expect(dns).toMatchObject({ stage: 'dns', startedAt: T0 + 60_000, confirmed: true, previous: [{ stage: 'promotion', confirmed: true, startedAt: T0, endedAt: T0 }] });
  });

  it('in a dry run changes nothing and reports the writers', async () => {
    const result = await verifyFences('promotion', state({ dryRun: true }), deps);

    expect(ec2).toHaveReceivedCommandTimes(DescribeInstancesCommand, 0);
    expect(result).toMatchObject({ confirmed: true, reason: 'dry run: would re-check 2 writer(s) before the promotion' });
  });
});
