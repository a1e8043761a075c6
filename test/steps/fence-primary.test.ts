/**
 * Step 4, fence-primary: every EC2 writer (the primary and primary.additionalInstanceIds) is looked at,
 * kept from its Auto Scaling group, force-stopped (a switchover stops gracefully) and polled until
 * stopped. NotFound is not a fence; an unreachable region is not a fence unless attested. Faults are
 * EC2's own error codes, thrown by the mocked client.
 */
import 'aws-sdk-client-mock-vitest/extend';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { mockClient } from 'aws-sdk-client-mock';
import {
  AutoScalingClient,
  DescribeAutoScalingInstancesCommand,
  SuspendProcessesCommand,
} from '@aws-sdk/client-auto-scaling';
import {
  DescribeInstancesCommand,
  DescribeNetworkInterfacesCommand,
  DescribeSecurityGroupsCommand,
  EC2Client,
  EC2ServiceException,
  ModifyNetworkInterfaceAttributeCommand,
  StopInstancesCommand,
  type InstanceStateName,
} from '@aws-sdk/client-ec2';
import { checkFence, handler, run, startFence } from '../../lambdas/steps/fence-primary';
import type { GroupConfig } from '../../lambdas/core/config';
import { groupsByName } from '../../lambdas/core/deployed-group';
import type { Attestation, FenceResult, Mode, WorkflowState } from '../../lambdas/core/workflow-state';
import { INSTANCE, T0, ordersGroup, planFor, failure } from '../support/fixtures';

const CRON = 'i-0c0c0c0c0c0c0c0c0';
const ATTESTATION: Attestation = { by: 'alice', reason: 'us-east-1 is dark; the instances were terminated from the console', at: '2026-03-01T11:59:00.000Z' };

/** The group the step finds deployed (its deps' groups): the one the last state was built for. */
let deployedGroup: GroupConfig = ordersGroup();

/**
 * Plan started 20 s and triggered 50 s before T0; assess said proceed. Deploys the group it is built for
 * (with `additional` instances, or as `group` gives it).
 */
function state(options: { mode?: Mode; dryRun?: boolean; additional?: string[]; attestation?: Attestation; group?: GroupConfig } = {}): WorkflowState {
  const group = options.group ?? ordersGroup(options.additional ? { primary: { additionalInstanceIds: options.additional } } : {});
  deployedGroup = group;
  const plan = planFor(group, {
    mode: options.mode ?? 'failover',
    dryRun: options.dryRun ?? false,
    startedAt: T0 - 20_000,
    triggeredAt: T0 - 50_000,
    ...(options.attestation ? { attestation: options.attestation, trigger: { type: 'manual' } } : {}),
  });
  return { plan, assess: { startedAt: T0 - 10_000, endedAt: T0 - 9_000, decision: 'proceed', reason: 'ok', lagSeconds: 1 } };
}

const ec2Error = (name: string, message: string, httpStatusCode = 400, fault: 'client' | 'server' = 'client') =>
  new EC2ServiceException({ name, $fault: fault, $metadata: { httpStatusCode }, message });
/** What the SDK throws when the endpoint never answers: no HTTP status. */
const timeout = () => Object.assign(new Error('Connection timed out after 3000 ms'), { name: 'TimeoutError', $metadata: {} });

const stopping = (id: string, previous: InstanceStateName, current: InstanceStateName) => ({
  StoppingInstances: [{ InstanceId: id, PreviousState: { Name: previous }, CurrentState: { Name: current } }],
});
const described = (name: InstanceStateName, id = INSTANCE) => ({ Reservations: [{ Instances: [{ InstanceId: id, State: { Name: name } }] }] });
const notFound = (id = INSTANCE) => ec2Error('InvalidInstanceID.NotFound', `The instance ID '${id}' does not exist`);

describe('fence-primary', () => {
  const ec2 = mockClient(EC2Client);
  const asg = mockClient(AutoScalingClient);
  const clock = { ms: T0 };
  const regions: string[] = [];
  const deps = {
    groups: () => ({ [deployedGroup.name]: deployedGroup }),
    now: () => clock.ms,
    ec2: (region: string) => (regions.push(region), new EC2Client({ region })),
    autoscaling: (region: string) => new AutoScalingClient({ region }),
  };

  afterEach(() => {
    ec2.reset();
    asg.reset();
    clock.ms = T0;
    regions.length = 0;
    deployedGroup = ordersGroup();
    vi.unstubAllGlobals();
  });

  /** A running primary in no Auto Scaling group, which accepts the stop. */
  const healthy = (current: InstanceStateName = 'stopping') => {
    ec2.on(DescribeInstancesCommand).resolves(described('running'));
    asg.on(DescribeAutoScalingInstancesCommand).resolves({ AutoScalingInstances: [] });
    ec2.on(StopInstancesCommand).resolves(stopping(INSTANCE, 'running', current));
  };

  describe('startFence', () => {
    it('looks at the primary, then force-stops it, skipping the OS shutdown, in a failover', async () => {
      // Arrange
      healthy();

      // Act
      const result = await startFence(state(), deps);

      // Assert
      expect(ec2).toHaveReceivedCommandWith(DescribeInstancesCommand, { InstanceIds: [INSTANCE] });
      expect(asg).toHaveReceivedCommandWith(DescribeAutoScalingInstancesCommand, { InstanceIds: [INSTANCE] });
      expect(asg).toHaveReceivedCommandTimes(SuspendProcessesCommand, 0);
      expect(ec2).toHaveReceivedCommandExactlyOnceWith(StopInstancesCommand, { InstanceIds: [INSTANCE], Force: true, SkipOsShutdown: true, DryRun: false });
      expect(new Set(regions)).toEqual(new Set(['us-east-1']));
      expect(result).toMatchObject({
        instanceId: INSTANCE,
        method: 'force-stop',
        dryRun: false,
        polls: 0,
        startedAt: T0,
        endedAt: undefined,
        confirmed: false,
        state: 'stopping',
        reason: `StopInstances accepted: ${INSTANCE} is stopping`,
        instances: [{ id: INSTANCE, state: 'stopping', fenced: false, method: 'force-stop', seen: true, stops: 1 }],
      });
    });

    it('stops the primary gracefully in a switchover', async () => {
      healthy();

      const result = await startFence(state({ mode: 'switchover' }), deps);

      expect(ec2).toHaveReceivedCommandExactlyOnceWith(StopInstancesCommand, { InstanceIds: [INSTANCE], Force: false, SkipOsShutdown: false, DryRun: false });
      expect(result).toMatchObject({ method: 'stop', confirmed: false, state: 'stopping' });
    });

    it('fences every writer: the primary and each additional instance', async () => {
      ec2.on(DescribeInstancesCommand, { InstanceIds: [INSTANCE] }).resolves(described('running'));
      ec2.on(DescribeInstancesCommand, { InstanceIds: [CRON] }).resolves(described('running', CRON));
      asg.on(DescribeAutoScalingInstancesCommand).resolves({ AutoScalingInstances: [] });
      ec2.on(StopInstancesCommand, { InstanceIds: [INSTANCE] }).resolves(stopping(INSTANCE, 'running', 'stopping'));
      ec2.on(StopInstancesCommand, { InstanceIds: [CRON] }).resolves(stopping(CRON, 'running', 'stopped'));

      const result = await startFence(state({ additional: [CRON] }), deps);

      expect(asg).toHaveReceivedCommandWith(DescribeAutoScalingInstancesCommand, { InstanceIds: [INSTANCE, CRON] });
      expect(ec2).toHaveReceivedCommandTimes(StopInstancesCommand, 2);
      expect(result.confirmed).toBe(false);
      expect(result.instances?.map((i) => [i.id, i.state, i.fenced])).toEqual([
        [INSTANCE, 'stopping', false],
        [CRON, 'stopped', true],
      ]);
      expect(result.reason).toBe(`waiting for ${INSTANCE} (stopping): StopInstances accepted: ${INSTANCE} is stopping; StopInstances accepted: ${CRON} is stopped`);
    });

    it('confirms at once when StopInstances reports the instance stopped', async () => {
      healthy('stopped');

      const result = await startFence(state(), deps);

      expect(result).toMatchObject({ confirmed: true, state: 'stopped', endedAt: T0 });
    });

    it('does not stop an instance that is already stopped, and confirms it', async () => {
      ec2.on(DescribeInstancesCommand).resolves(described('stopped'));
      asg.on(DescribeAutoScalingInstancesCommand).resolves({ AutoScalingInstances: [] });

      const result = await startFence(state(), deps);

      expect(ec2).toHaveReceivedCommandTimes(StopInstancesCommand, 0);
      expect(result).toMatchObject({ confirmed: true, state: 'stopped', reason: `${INSTANCE} is stopped` });
    });

    it("suspends the Auto Scaling group's replacing processes before stopping an instance in it, and records that", async () => {
      const calls: string[] = [];
      ec2.on(DescribeInstancesCommand).resolves(described('running'));
      asg.on(DescribeAutoScalingInstancesCommand).resolves({ AutoScalingInstances: [{ InstanceId: INSTANCE, AutoScalingGroupName: 'orders-asg', LifecycleState: 'InService' } as never] });
      asg.on(SuspendProcessesCommand).callsFake(() => (calls.push('SuspendProcesses'), {}));
      ec2.on(StopInstancesCommand).callsFake(() => (calls.push('StopInstances'), stopping(INSTANCE, 'running', 'stopping')));

      const result = await startFence(state(), deps);

      expect(asg).toHaveReceivedCommandExactlyOnceWith(SuspendProcessesCommand, {
        AutoScalingGroupName: 'orders-asg',
        ScalingProcesses: ['HealthCheck', 'ReplaceUnhealthy', 'Launch', 'AZRebalance'],
      });
      // Suspended first, then stopped: otherwise the group could replace the instance in between.
      expect(calls).toEqual(['SuspendProcesses', 'StopInstances']);
      expect(result.instances?.[0]).toMatchObject({ autoScalingGroup: 'orders-asg', suspendedProcesses: ['HealthCheck', 'ReplaceUnhealthy', 'Launch', 'AZRebalance'] });
      expect(result.reason).toBe(`StopInstances accepted: ${INSTANCE} is stopping; Auto Scaling group orders-asg: HealthCheck, ReplaceUnhealthy, Launch, AZRebalance suspended`);
    });

    it('fails FenceNotConfirmed, stopping nothing, when the instance does not exist in the region (a wrong id or region)', async () => {
      ec2.on(DescribeInstancesCommand).rejects(notFound());

      const error = await failure(startFence(state(), deps));

      expect(error.name).toBe('FenceNotConfirmed');
      expect(error.message).toBe(
        `${INSTANCE} does not exist in us-east-1 (InvalidInstanceID.NotFound): a wrong instance id or region in the config, or an instance this execution never saw. ` +
          'An instance the controller cannot see is not fenced; not promoting',
      );
      expect(ec2).toHaveReceivedCommandTimes(StopInstancesCommand, 0);
    });

    it('reports the same NotFound problem in a dry run', async () => {
      ec2.on(DescribeInstancesCommand).rejects(notFound());

      const error = await failure(startFence(state({ dryRun: true }), deps));

      expect(error.name).toBe('FenceNotConfirmed');
      expect(error.message).toMatch(/^i-0a1b2c3d4e5f60718 does not exist in us-east-1 \(InvalidInstanceID.NotFound\)/);
    });

    it('in a dry run, sends StopInstances with DryRun, suspends nothing, and says what it would do', async () => {
      // EC2 answers a permitted dry run with the DryRunOperation error (HTTP 412).
      ec2.on(DescribeInstancesCommand).resolves(described('running'));
      asg.on(DescribeAutoScalingInstancesCommand).resolves({ AutoScalingInstances: [{ InstanceId: INSTANCE, AutoScalingGroupName: 'orders-asg' } as never] });
      ec2.on(StopInstancesCommand).rejects(ec2Error('DryRunOperation', 'Request would have succeeded, but DryRun flag is set.', 412));

      const result = await startFence(state({ dryRun: true }), deps);

      expect(ec2).toHaveReceivedCommandExactlyOnceWith(StopInstancesCommand, { InstanceIds: [INSTANCE], Force: true, SkipOsShutdown: true, DryRun: true });
      expect(asg).toHaveReceivedCommandTimes(SuspendProcessesCommand, 0);
      expect(result).toMatchObject({ dryRun: true, confirmed: true, endedAt: T0, state: 'running' });
      expect(result.reason).toBe(
        `dry run: StopInstances on ${INSTANCE} would succeed (DryRunOperation); it is running; in Auto Scaling group orders-asg: would suspend HealthCheck, ReplaceUnhealthy, Launch, AZRebalance first`,
      );
    });

    it('in a dry run, UnauthorizedOperation is PermissionDenied', async () => {
      ec2.on(DescribeInstancesCommand).resolves(described('running'));
      asg.on(DescribeAutoScalingInstancesCommand).resolves({ AutoScalingInstances: [] });
      ec2.on(StopInstancesCommand).rejects(ec2Error('UnauthorizedOperation', 'You are not authorized to perform this operation.', 403));

      const error = await failure(startFence(state({ dryRun: true }), deps));

      expect(error.name).toBe('PermissionDenied');
      expect(error.message).toBe(`EC2 StopInstances ${INSTANCE} failed: UnauthorizedOperation: You are not authorized to perform this operation.`);
    });

    it('fails RegionUnreachable when EC2 of the region does not answer', async () => {
      ec2.on(DescribeInstancesCommand).rejects(timeout());

      const error = await failure(startFence(state(), deps));

      expect(error.name).toBe('RegionUnreachable');
      expect(error.message).toBe(
        'EC2 in us-east-1 could not be reached (connection or request timed out after retries): the EC2 writers cannot be confirmed fenced; not promoting. ' +
          'If they are fenced by other means, a manual failover can say so: failoverctl failover orders --attest-fenced "<how>"',
      );
    });

    it('with an operator attestation, passes the writers it cannot reach as attested, naming who and why', async () => {
      ec2.on(DescribeInstancesCommand).rejects(timeout());

      const result = await startFence(state({ attestation: ATTESTATION, additional: [CRON] }), deps);

      expect(result).toMatchObject({ confirmed: true, attested: [INSTANCE, CRON], endedAt: T0 });
      expect(result.instances?.map((i) => [i.id, i.state, i.fenced, i.method])).toEqual([
        [INSTANCE, 'unreachable', false, 'attested'],
        [CRON, 'unreachable', false, 'attested'],
      ]);
      expect(result.instances?.[0].reason).toBe(`EC2 in us-east-1 could not be reached; ${INSTANCE} passed on the attestation of alice: ${ATTESTATION.reason}`);
    });

    it('with an attestation, passes an instance EC2 cannot see as attested instead of failing', async () => {
      ec2.on(DescribeInstancesCommand).rejects(notFound());
      asg.on(DescribeAutoScalingInstancesCommand).resolves({ AutoScalingInstances: [] });

      const result = await startFence(state({ attestation: ATTESTATION }), deps);

      expect(result).toMatchObject({ confirmed: true, attested: [INSTANCE] });
      expect(result.instances?.[0]).toMatchObject({ state: 'not-found', fenced: false, method: 'attested', seen: false });
    });
  });

  describe('checkFence', () => {
    /** The fence as startFence left it: StopInstances accepted at T0, instance stopping. */
    const started = (overrides: Partial<FenceResult> = {}, from: WorkflowState = state()): WorkflowState => ({
      ...from,
      fence: {
        instanceId: INSTANCE,
        method: 'force-stop',
        dryRun: false,
        polls: 0,
        startedAt: T0,
        confirmed: false,
        state: 'stopping',
        reason: 'StopInstances accepted',
        instances: [{ id: INSTANCE, state: 'stopping', fenced: false, method: 'force-stop', seen: true, stops: 1, reason: 'StopInstances accepted' }],
        ...overrides,
      },
    });

    it('re-sends the force-stop while the instance stays stopping, then confirms stopped', async () => {
      ec2.on(DescribeInstancesCommand).resolvesOnce(described('stopping')).resolves(described('stopped'));
      ec2.on(StopInstancesCommand).resolves(stopping(INSTANCE, 'stopping', 'stopping'));

      clock.ms = T0 + 5_000;
      const first = await checkFence(started(), deps);
      clock.ms = T0 + 10_000;
      const second = await checkFence({ ...started(), fence: first }, deps);

      expect(ec2).toHaveReceivedCommandExactlyOnceWith(StopInstancesCommand, { InstanceIds: [INSTANCE], Force: true, SkipOsShutdown: true, DryRun: false });
      expect(first).toMatchObject({ polls: 1, confirmed: false, state: 'stopping', reason: `${INSTANCE} still stopping: force-stop sent again` });
      expect(first.instances?.[0].stops).toBe(2);
      expect(first.endedAt).toBeUndefined();
      expect(second).toMatchObject({ polls: 2, confirmed: true, state: 'stopped', startedAt: T0, endedAt: T0 + 10_000, reason: `${INSTANCE} confirmed stopped` });
    });

    it('in a switchover, waits for a graceful stop without re-sending it', async () => {
      ec2.on(DescribeInstancesCommand).resolves(described('stopping'));
      const switching = started({ method: 'stop' }, state({ mode: 'switchover' }));

      clock.ms = T0 + 121_000;
      const waiting = await checkFence(switching, deps);
      clock.ms = T0 + 600_000;
      const error = await failure(checkFence(switching, deps));

      expect(ec2).toHaveReceivedCommandTimes(StopInstancesCommand, 0);
      expect(waiting).toMatchObject({ confirmed: false, state: 'stopping' });
      expect(error.name).toBe('FenceNotConfirmed');
      expect(error.message).toBe(`${INSTANCE} still stopping 600 s after StopInstances (timeout 600 s); not promoting`);
    });

    it('stops an instance found running again (started by a person, a script or its group)', async () => {
      ec2.on(DescribeInstancesCommand).resolves(described('running'));
      ec2.on(StopInstancesCommand).resolves(stopping(INSTANCE, 'running', 'stopping'));

      const result = await checkFence(started(), deps);

      expect(ec2).toHaveReceivedCommandOnce(StopInstancesCommand);
      expect(result).toMatchObject({ confirmed: false, reason: `${INSTANCE} was running again: force-stopped again` });
    });

    it('confirms gone only for an instance this execution saw before', async () => {
      ec2.on(DescribeInstancesCommand).rejects(notFound());

      const result = await checkFence(started(), deps);

      expect(result).toMatchObject({ confirmed: true, state: 'gone' });
      expect(result.reason).toBe(`${INSTANCE} was seen earlier in this execution and is now unknown to EC2: terminated`);
    });

    it('fails with FenceNotConfirmed once fence.timeoutSeconds have passed', async () => {
      ec2.on(DescribeInstancesCommand).resolves(described('stopping'));
      ec2.on(StopInstancesCommand).resolves(stopping(INSTANCE, 'stopping', 'stopping'));
      clock.ms = T0 + 121_000;

      const error = await failure(checkFence(started({ polls: 23 }), deps));

      expect(error.name).toBe('FenceNotConfirmed');
      expect(error.message).toBe(`${INSTANCE} still stopping 121 s after StopInstances (timeout 120 s); not promoting`);
    });

    it('fails RegionUnreachable when EC2 stops answering, and passes the writers on an attestation', async () => {
      ec2.on(DescribeInstancesCommand).rejects(timeout());

      const error = await failure(checkFence(started(), deps));
      const attested = await checkFence(started({}, state({ attestation: ATTESTATION })), deps);

      expect(error.name).toBe('RegionUnreachable');
      expect(attested).toMatchObject({ confirmed: true, attested: [INSTANCE] });
      expect(attested.instances?.[0]).toMatchObject({ method: 'attested', state: 'unreachable', seen: true });
    });

    it('does not let an attestation pass an instance that is seen running', async () => {
      ec2.on(DescribeInstancesCommand).resolves(described('running'));
      ec2.on(StopInstancesCommand).resolves(stopping(INSTANCE, 'running', 'running'));
      clock.ms = T0 + 121_000;

      const error = await failure(checkFence(started({}, state({ attestation: ATTESTATION })), deps));

      expect(error.name).toBe('FenceNotConfirmed');
    });

    it('throws TransientAwsError on RequestLimitExceeded', async () => {
      ec2.on(DescribeInstancesCommand).rejects(ec2Error('RequestLimitExceeded', 'Request limit exceeded.', 503, 'server'));

      const error = await failure(checkFence(started(), deps));

      expect(error.name).toBe('TransientAwsError');
      expect(error.message).toBe(`EC2 DescribeInstances ${INSTANCE} failed: RequestLimitExceeded: Request limit exceeded.`);
    });

    describe('with fence.onUnconfirmed "isolate"', () => {
      const VPC = 'vpc-0123456789abcdef0';
      const ISOLATION = 'sg-0isolation000000';
      const isolating = (): WorkflowState => {
        const base = ordersGroup();
        const g = { ...base, primary: { ...base.primary, vpcId: VPC }, fence: { ...base.fence, onUnconfirmed: 'isolate' as const } };
        return started({ polls: 23 }, state({ group: g }));
      };
      const withInterfaces = (groups: string[][]) => ({
        Reservations: [
          {
            Instances: [
              {
                InstanceId: INSTANCE,
                State: { Name: 'stopping' as const },
                NetworkInterfaces: groups.map((g, i) => ({ NetworkInterfaceId: `eni-${i}`, Groups: g.map((GroupId) => ({ GroupId })) })),
              },
            ],
          },
        ],
      });

      it('after the timeout, isolates every interface and records it honestly: not fenced, waiting for the database fence', async () => {
        ec2.on(DescribeInstancesCommand).resolves(withInterfaces([['sg-app'], ['sg-app', 'sg-admin']]));
        ec2.on(StopInstancesCommand).resolves(stopping(INSTANCE, 'stopping', 'stopping'));
        ec2.on(DescribeSecurityGroupsCommand).resolves({ SecurityGroups: [{ GroupId: ISOLATION, GroupName: 'failover-isolation-orders', VpcId: VPC }] });
        ec2.on(ModifyNetworkInterfaceAttributeCommand).resolves({});
        ec2.on(DescribeNetworkInterfacesCommand).resolves({
          NetworkInterfaces: [0, 1].map((i) => ({ NetworkInterfaceId: `eni-${i}`, Groups: [{ GroupId: ISOLATION }] })),
        });
        clock.ms = T0 + 121_000;

        const result = await checkFence(isolating(), deps);

        expect(ec2).toHaveReceivedCommandWith(DescribeSecurityGroupsCommand, {
          Filters: [
            { Name: 'group-name', Values: ['failover-isolation-orders'] },
            { Name: 'vpc-id', Values: [VPC] },
          ],
        });
        expect(ec2).toHaveReceivedCommandTimes(DescribeInstancesCommand, 1);
        expect(ec2).toHaveReceivedNthCommandWith(ModifyNetworkInterfaceAttributeCommand, 1, { NetworkInterfaceId: 'eni-0', Groups: [ISOLATION] });
        expect(ec2).toHaveReceivedNthCommandWith(ModifyNetworkInterfaceAttributeCommand, 2, { NetworkInterfaceId: 'eni-1', Groups: [ISOLATION] });
        expect(result).toMatchObject({
          confirmed: true,
          method: 'isolate',
          state: 'stopping',
          isolation: { securityGroupId: ISOLATION, networkInterfaces: ['eni-0', 'eni-1'] },
        });
        expect(result.instances?.[0]).toMatchObject({ fenced: false, method: 'isolate', isolatedAt: T0 + 121_000 });
        expect(result.reason).toBe(
          `${INSTANCE} still stopping after 120 s; isolated: 2 network interface(s) in the deny-all security group ${ISOLATION}. ` +
            'That blocks new connections only: established ones go on (security-group connection tracking), so it is not a fence by itself',
        );
      });

      it('does not confirm while EC2 still reports another group on an interface', async () => {
        ec2.on(DescribeInstancesCommand).resolves(withInterfaces([['sg-app']]));
        ec2.on(StopInstancesCommand).resolves(stopping(INSTANCE, 'stopping', 'stopping'));
        ec2.on(DescribeSecurityGroupsCommand).resolves({ SecurityGroups: [{ GroupId: ISOLATION }] });
        ec2.on(ModifyNetworkInterfaceAttributeCommand).resolves({});
        ec2.on(DescribeNetworkInterfacesCommand).resolves({ NetworkInterfaces: [{ NetworkInterfaceId: 'eni-0', Groups: [{ GroupId: 'sg-app' }] }] });
        clock.ms = T0 + 121_000;

        const pending = await checkFence(isolating(), deps);
        clock.ms = T0 + 181_000;
        const error = await failure(checkFence({ ...isolating(), fence: pending }, deps));

        expect(pending).toMatchObject({ confirmed: false, method: 'force-stop' });
        expect(pending.reason).toMatch(/isolating it: eni-0 not yet in sg-0isolation000000$/);
        expect(error.name).toBe('FenceNotConfirmed');
        expect(error.message).toMatch(/and its isolation was not confirmed in 60 s; not promoting$/);
      });

      it('fails with FenceNotConfirmed, never promoting, when the isolation group does not exist', async () => {
        ec2.on(DescribeInstancesCommand).resolves(withInterfaces([['sg-app']]));
        ec2.on(StopInstancesCommand).resolves(stopping(INSTANCE, 'stopping', 'stopping'));
        ec2.on(DescribeSecurityGroupsCommand).resolves({ SecurityGroups: [] });
        clock.ms = T0 + 121_000;

        const error = await failure(checkFence(isolating(), deps));

        expect(error.name).toBe('FenceNotConfirmed');
        expect(error.message).toBe(`the isolation security group failover-isolation-orders was not found in ${VPC}; cannot isolate ${INSTANCE}; not promoting`);
        expect(ec2).toHaveReceivedCommandTimes(ModifyNetworkInterfaceAttributeCommand, 0);
      });
    });
  });

  it('run dispatches on the action', async () => {
    healthy();

    const started = await run({ action: 'start', state: state() }, deps);
    ec2.on(DescribeInstancesCommand).resolves(described('stopped'));
    const checked = await run({ action: 'check', state: { ...state(), fence: started } }, deps);

    expect(ec2).toHaveReceivedCommandOnce(StopInstancesCommand);
    expect(checked).toMatchObject({ confirmed: true, state: 'stopped', polls: 1 });
  });

  describe('acts only on the deployed group: a forged event changes no other instance', () => {
    const ATTACKER = 'i-0ffffffffffffffff';

    it("startFence stops the deployed writers, in the deployed region, whatever config the event's plan carries", async () => {
      // Arrange: a plan as older versions carried it (the whole config, no digest), forged to name another instance and region.
      healthy();
      const s = state();
      const forged = { ...s, plan: { ...s.plan, group: { ...ordersGroup({ primary: { instanceId: ATTACKER, region: 'eu-west-1' } }) } } } as unknown as WorkflowState;

      // Act
      const result = await startFence(forged, deps);

      // Assert
      expect(ec2).toHaveReceivedCommandExactlyOnceWith(StopInstancesCommand, { InstanceIds: [INSTANCE], Force: true, SkipOsShutdown: true, DryRun: false });
      expect(ec2).not.toHaveReceivedCommandWith(StopInstancesCommand, { InstanceIds: [ATTACKER] });
      expect(new Set(regions)).toEqual(new Set(['us-east-1']));
      expect(result.instances?.map((i) => i.id)).toEqual([INSTANCE]);
    });

    it('checkFence refuses a fence result that lists an instance the group does not name (InvalidInput), and looks at nothing', async () => {
      const forged = {
        ...state(),
        fence: {
          instanceId: INSTANCE, method: 'force-stop', dryRun: false, polls: 0, startedAt: T0, confirmed: false, state: 'stopping', reason: 'forged',
          instances: [
            { id: INSTANCE, state: 'stopped', fenced: true, method: 'force-stop', seen: true, stops: 1, reason: 'stopped' },
            { id: ATTACKER, state: 'running', fenced: false, method: 'force-stop', seen: true, stops: 0, reason: 'running' },
          ],
        },
      } as WorkflowState;

      const error = await failure(checkFence(forged, deps));

      expect(error.name).toBe('InvalidInput');
      expect(error.message).toBe(`fence.instances: "${ATTACKER}" is no writer of orders (its writers: ${INSTANCE}); not acting on them`);
      expect(ec2).not.toHaveReceivedAnyCommand();
    });

    it("checkFence refuses a fence result that leaves out one of the group's writers", async () => {
      const forged = {
        ...state({ additional: [CRON] }),
        fence: {
          instanceId: INSTANCE, method: 'force-stop', dryRun: false, polls: 0, startedAt: T0, confirmed: false, state: 'stopped', reason: 'forged',
          instances: [{ id: INSTANCE, state: 'stopped', fenced: true, method: 'force-stop', seen: true, stops: 1, reason: 'stopped' }],
        },
      } as WorkflowState;

      const error = await failure(checkFence(forged, deps));

      expect(error).toMatchObject({ name: 'InvalidInput', message: `fence.instances: no entry for ${CRON} (its writers: ${INSTANCE}, ${CRON}); not acting on them` });
      expect(ec2).not.toHaveReceivedAnyCommand();
    });

    it('a plan of another version of the group (a deployment during the execution) stops with ConfigMismatch before any call', async () => {
      const s = state();
      deployedGroup = ordersGroup({ primary: { additionalInstanceIds: [CRON] } });

      const error = await failure(startFence(s, deps));

      expect(error.name).toBe('ConfigMismatch');
      expect(error.message).toMatch(/^the deployed config of orders changed during this execution \(planned with [0-9a-f]{16}, this function has [0-9a-f]{16}\)/);
      expect(ec2).not.toHaveReceivedAnyCommand();
    });
  });

  describe("the readiness function's question (the Lambda handler, outside any failover)", () => {
    // What the bundler injects into the fence function's bundle: the deployed groups.
    const bake = (group: GroupConfig) => vi.stubGlobal('FAILOVER_GROUPS', groupsByName([group]));

    it('answers { dryRun: { group } } with a StopInstances DryRun on the deployed writers EC2 still knows, in their region', async () => {
      // Arrange: the primary runs; the additional instance was terminated (readiness reports that itself).
      bake(ordersGroup({ primary: { additionalInstanceIds: [CRON] } }));
      ec2.on(DescribeInstancesCommand, { InstanceIds: [INSTANCE] }).resolves(described('running'));
      ec2.on(DescribeInstancesCommand, { InstanceIds: [CRON] }).resolves(described('terminated', CRON));
      ec2.on(StopInstancesCommand).rejects(ec2Error('DryRunOperation', 'Request would have succeeded, but DryRun flag is set.', 412));

      // Act
      const answer = await handler({ dryRun: { group: 'orders' } });

      // Assert
      expect(answer).toEqual({ allowed: true });
      expect(ec2).toHaveReceivedCommandWith(StopInstancesCommand, { InstanceIds: [INSTANCE], Force: true, DryRun: true });
      expect(ec2).toHaveReceivedCommandTimes(StopInstancesCommand, 1);
    });

    it("reports a refusal as not allowed, with EC2's error", async () => {
      bake(ordersGroup());
      ec2.on(DescribeInstancesCommand).resolves(described('running'));
      ec2.on(StopInstancesCommand).rejects(ec2Error('UnauthorizedOperation', 'You are not authorized to perform this operation.', 403));

      expect(await handler({ dryRun: { group: 'orders' } })).toEqual({
        allowed: false, error: 'UnauthorizedOperation', message: 'You are not authorized to perform this operation.',
      });
    });

    it('takes no instance ids or region from the event: the old form, or an unknown group, is InvalidInput and nothing is asked of EC2', async () => {
      bake(ordersGroup());

      const oldForm = await failure(handler({ dryRun: { region: 'eu-west-1', instanceIds: ['i-0ffffffffffffffff'] } } as never));
      const unknown = await failure(handler({ dryRun: { group: 'payments' } }));

      expect(oldForm).toMatchObject({ name: 'InvalidInput', message: 'dryRun.group: must be a group name, got {"region":"eu-west-1","instanceIds":["i-0ffffffffffffffff"]}' });
      expect(unknown).toMatchObject({ name: 'InvalidInput', message: 'group: unknown group "payments"; known groups: orders' });
      expect(ec2).not.toHaveReceivedAnyCommand();
    });
  });
});
