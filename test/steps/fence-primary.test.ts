/**
 * Step 4, fence-primary: force-stop the EC2 primary (a switchover stops it gracefully), then poll until
 * it is stopped, terminated or gone. Faults are EC2's own error codes, thrown by the mocked client.
 */
import 'aws-sdk-client-mock-vitest/extend';
import { afterEach, describe, expect, it } from 'vitest';
import { mockClient } from 'aws-sdk-client-mock';
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
import { checkFence, run, startFence } from '../../lambdas/steps/fence-primary';
import type { FenceResult, Mode, WorkflowState } from '../../lambdas/core/workflow-state';
import { INSTANCE, T0, ordersGroup, planFor, failure } from '../support/fixtures';

const group = ordersGroup();

/** Plan started 20 s and triggered 50 s before T0; assess said proceed. */
function state(options: { mode?: Mode; dryRun?: boolean } = {}): WorkflowState {
  const plan = planFor(group, { mode: options.mode ?? 'failover', dryRun: options.dryRun ?? false, startedAt: T0 - 20_000, triggeredAt: T0 - 50_000 });
  return {
    plan,
    assess: { startedAt: T0 - 10_000, endedAt: T0 - 9_000, decision: 'proceed', reason: 'ok', lagSeconds: 1 },
  };
}

const ec2Error = (name: string, message: string, httpStatusCode = 400, fault: 'client' | 'server' = 'client') =>
  new EC2ServiceException({ name, $fault: fault, $metadata: { httpStatusCode }, message });

const stopping = (previous: InstanceStateName, current: InstanceStateName) => ({
  StoppingInstances: [{ InstanceId: INSTANCE, PreviousState: { Name: previous }, CurrentState: { Name: current } }],
});
const described = (name: InstanceStateName) => ({ Reservations: [{ Instances: [{ InstanceId: INSTANCE, State: { Name: name } }] }] });

describe('fence-primary', () => {
  const ec2 = mockClient(EC2Client);
  const clock = { ms: T0 };
  const regions: string[] = [];
  const deps = {
    now: () => clock.ms,
    ec2: (region: string) => (regions.push(region), new EC2Client({ region })),
  };

  afterEach(() => {
    ec2.reset();
    clock.ms = T0;
    regions.length = 0;
  });

  describe('startFence', () => {
    it('force-stops the primary, skipping the OS shutdown, in a failover', async () => {
      // Arrange
      ec2.on(StopInstancesCommand).resolves(stopping('running', 'stopping'));

      // Act
      const result = await startFence(state(), deps);

      // Assert
      expect(ec2).toHaveReceivedCommandExactlyOnceWith(StopInstancesCommand, {
        InstanceIds: [INSTANCE],
        Force: true,
        SkipOsShutdown: true,
        DryRun: false,
      });
      expect(regions).toEqual(['us-east-1']);
      expect(result).toEqual({
        instanceId: INSTANCE,
        method: 'force-stop',
        dryRun: false,
        polls: 0,
        startedAt: T0,
        endedAt: undefined,
        confirmed: false,
        state: 'stopping',
        reason: `StopInstances accepted: ${INSTANCE} is stopping`,
      });
    });

    it('stops the primary gracefully in a switchover', async () => {
      ec2.on(StopInstancesCommand).resolves(stopping('running', 'stopping'));

      const result = await startFence(state({ mode: 'switchover' }), deps);

      expect(ec2).toHaveReceivedCommandExactlyOnceWith(StopInstancesCommand, {
        InstanceIds: [INSTANCE],
        Force: false,
        SkipOsShutdown: false,
        DryRun: false,
      });
      expect(result).toMatchObject({ method: 'stop', confirmed: false, state: 'stopping' });
    });

    it('confirms at once when StopInstances reports the instance stopped', async () => {
      ec2.on(StopInstancesCommand).resolves(stopping('stopped', 'stopped'));

      const result = await startFence(state(), deps);

      expect(result).toMatchObject({ confirmed: true, state: 'stopped', endedAt: T0 });
    });

    it('in a dry run, sends StopInstances with DryRun and treats DryRunOperation as ok', async () => {
      // Arrange: EC2 answers a permitted dry run with the DryRunOperation error (HTTP 412).
      ec2.on(StopInstancesCommand).rejects(ec2Error('DryRunOperation', 'Request would have succeeded, but DryRun flag is set.', 412));
      // The record says the state EC2 reports, not an assumed one.
      ec2.on(DescribeInstancesCommand).resolves(described('stopping'));

      // Act
      const result = await startFence(state({ dryRun: true }), deps);

      // Assert
      expect(ec2).toHaveReceivedCommandExactlyOnceWith(StopInstancesCommand, {
        InstanceIds: [INSTANCE],
        Force: true,
        SkipOsShutdown: true,
        DryRun: true,
      });
      expect(result).toEqual({
        instanceId: INSTANCE,
        method: 'force-stop',
        dryRun: true,
        polls: 0,
        startedAt: T0,
        endedAt: T0,
        confirmed: true,
        state: 'stopping',
        reason: `dry run: StopInstances on ${INSTANCE} would succeed (DryRunOperation); it is stopping`,
      });
    });

    it('in a dry run, UnauthorizedOperation is PermissionDenied', async () => {
      ec2.on(StopInstancesCommand).rejects(
        ec2Error('UnauthorizedOperation', 'You are not authorized to perform this operation. Encoded authorization failure message: abc', 403),
      );

      const error = await failure(startFence(state({ dryRun: true }), deps));

      expect(error.name).toBe('PermissionDenied');
      expect(error.message).toBe(
        `EC2 StopInstances ${INSTANCE} failed: UnauthorizedOperation: You are not authorized to perform this operation. Encoded authorization failure message: abc`,
      );
    });

    it('counts an instance EC2 no longer knows (InvalidInstanceID.NotFound) as fenced: gone', async () => {
      ec2.on(StopInstancesCommand).rejects(ec2Error('InvalidInstanceID.NotFound', `The instance ID '${INSTANCE}' does not exist`));

      const result = await startFence(state(), deps);

      expect(result).toMatchObject({
        confirmed: true,
        state: 'gone',
        endedAt: T0,
        reason: `${INSTANCE} no longer exists: counts as fenced`,
      });
    });

    it('on IncorrectInstanceState, asks EC2 for the state: terminated is fenced', async () => {
      // Arrange
      ec2.on(StopInstancesCommand).rejects(ec2Error('IncorrectInstanceState', `This instance '${INSTANCE}' is not in a state from which it can be stopped.`));
      ec2.on(DescribeInstancesCommand).resolves(described('terminated'));

      // Act
      const result = await startFence(state(), deps);

      // Assert
      expect(ec2).toHaveReceivedCommandWith(DescribeInstancesCommand, { InstanceIds: [INSTANCE] });
      expect(result).toMatchObject({
        confirmed: true,
        state: 'terminated',
        endedAt: T0,
        reason: `StopInstances refused (IncorrectInstanceState): ${INSTANCE} is terminated`,
      });
    });

    it('on IncorrectInstanceState while shutting down, is not confirmed yet', async () => {
      ec2.on(StopInstancesCommand).rejects(ec2Error('IncorrectInstanceState', 'not in a state from which it can be stopped'));
      ec2.on(DescribeInstancesCommand).resolves(described('shutting-down'));

      const result = await startFence(state(), deps);

      expect(result).toMatchObject({ confirmed: false, state: 'shutting-down', endedAt: undefined });
    });

    it('throws TransientAwsError on RequestLimitExceeded', async () => {
      ec2.on(StopInstancesCommand).rejects(ec2Error('RequestLimitExceeded', 'Request limit exceeded.', 503, 'server'));

      const error = await failure(startFence(state(), deps));

      expect(error.name).toBe('TransientAwsError');
      expect(error.message).toBe(`EC2 StopInstances ${INSTANCE} failed: RequestLimitExceeded: Request limit exceeded.`);
    });

    it('throws TransientAwsError when EC2 throttles the follow-up DescribeInstances', async () => {
      ec2.on(StopInstancesCommand).rejects(ec2Error('IncorrectInstanceState', 'not in a state from which it can be stopped'));
      ec2.on(DescribeInstancesCommand).rejects(ec2Error('RequestLimitExceeded', 'Request limit exceeded.', 503, 'server'));

      const error = await failure(startFence(state(), deps));

      expect(error.name).toBe('TransientAwsError');
    });

    it('throws FenceNotConfirmed on any other refusal', async () => {
      ec2.on(StopInstancesCommand).rejects(
        ec2Error('OperationNotPermitted', `The instance '${INSTANCE}' may not be stopped. Modify its 'disableApiStop' instance attribute and try again.`),
      );

      const error = await failure(startFence(state(), deps));

      expect(error.name).toBe('FenceNotConfirmed');
      expect(error.message).toContain(`EC2 StopInstances ${INSTANCE} failed: OperationNotPermitted:`);
    });

    it('is idempotent: a second start on an already-stopping instance does not fail', async () => {
      // Arrange: the first attempt was accepted; the retry meets an instance already stopping, and EC2
      // either accepts the stop again or refuses it because of the state.
      ec2
        .on(StopInstancesCommand)
        .resolvesOnce(stopping('running', 'stopping'))
        .resolvesOnce(stopping('stopping', 'stopping'))
        .rejectsOnce(ec2Error('IncorrectInstanceState', 'not in a state from which it can be stopped'));
      ec2.on(DescribeInstancesCommand).resolves(described('stopping'));

      // Act
      const first = await startFence(state(), deps);
      const second = await startFence(state(), deps);
      const third = await startFence(state(), deps);

      // Assert
      expect(ec2).toHaveReceivedCommandTimes(StopInstancesCommand, 3);
      for (const result of [first, second, third]) {
        expect(result).toMatchObject({ confirmed: false, state: 'stopping', method: 'force-stop' });
      }
    });
  });

  describe('checkFence', () => {
    const started = (overrides: Partial<FenceResult> = {}): WorkflowState => ({
      ...state(),
      fence: {
        instanceId: INSTANCE,
        method: 'force-stop',
        dryRun: false,
        polls: 0,
        startedAt: T0,
        confirmed: false,
        state: 'stopping',
        reason: `StopInstances accepted: ${INSTANCE} is stopping`,
        ...overrides,
      },
    });

    it('polls DescribeInstances: stopping, then stopped confirms', async () => {
      // Arrange
      ec2.on(DescribeInstancesCommand).resolvesOnce(described('stopping')).resolves(described('stopped'));

      // Act
      clock.ms = T0 + 5_000;
      const first = await checkFence(started(), deps);
      clock.ms = T0 + 10_000;
      const second = await checkFence({ ...state(), fence: first }, deps);

      // Assert
      expect(ec2).toHaveReceivedCommandTimes(DescribeInstancesCommand, 2);
      expect(ec2).toHaveReceivedCommandWith(DescribeInstancesCommand, { InstanceIds: [INSTANCE] });
      expect(regions).toEqual(['us-east-1', 'us-east-1']);
      expect(first).toMatchObject({ polls: 1, confirmed: false, state: 'stopping', reason: `${INSTANCE} is stopping, waiting for stopped` });
      expect(first.endedAt).toBeUndefined();
      expect(second).toMatchObject({ polls: 2, confirmed: true, state: 'stopped', startedAt: T0, endedAt: T0 + 10_000, reason: `${INSTANCE} confirmed stopped` });
    });

    it('confirms gone when DescribeInstances answers InvalidInstanceID.NotFound', async () => {
      ec2.on(DescribeInstancesCommand).rejects(ec2Error('InvalidInstanceID.NotFound', `The instance ID '${INSTANCE}' does not exist`));

      const result = await checkFence(started(), deps);

      expect(result).toMatchObject({ confirmed: true, state: 'gone' });
    });

    it('fails with FenceNotConfirmed once fence.timeoutSeconds have passed', async () => {
      // Arrange
      ec2.on(DescribeInstancesCommand).resolves(described('stopping'));
      clock.ms = T0 + 121_000;

      // Act
      const error = await failure(checkFence(started({ polls: 23 }), deps));

      // Assert
      expect(error.name).toBe('FenceNotConfirmed');
      expect(error.message).toBe(`${INSTANCE} still stopping 121 s after StopInstances (timeout 120 s); not promoting`);
    });

    describe('with fence.onUnconfirmed "isolate"', () => {
      const VPC = 'vpc-0123456789abcdef0';
      const ISOLATION = 'sg-0isolation000000';
      const isolating = (): WorkflowState => {
        const s = started({ polls: 23 });
        const g = { ...s.plan.group, primary: { ...s.plan.group.primary, vpcId: VPC }, fence: { ...s.plan.group.fence, onUnconfirmed: 'isolate' as const } };
        return { ...s, plan: { ...s.plan, group: g } };
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

      it('after the timeout, moves every interface into the isolation group, confirms it, and records the fence as isolation', async () => {
        ec2.on(DescribeInstancesCommand).resolves(withInterfaces([['sg-app'], ['sg-app', 'sg-admin']]));
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
        // The poll's own DescribeInstances gives the interfaces: no second read.
        expect(ec2).toHaveReceivedCommandTimes(DescribeInstancesCommand, 1);
        expect(ec2).toHaveReceivedCommandTimes(ModifyNetworkInterfaceAttributeCommand, 2);
        expect(ec2).toHaveReceivedNthCommandWith(ModifyNetworkInterfaceAttributeCommand, 1, { NetworkInterfaceId: 'eni-0', Groups: [ISOLATION] });
        expect(ec2).toHaveReceivedNthCommandWith(ModifyNetworkInterfaceAttributeCommand, 2, { NetworkInterfaceId: 'eni-1', Groups: [ISOLATION] });
        expect(result).toMatchObject({
          confirmed: true,
          method: 'isolate',
          state: 'stopping',
          isolation: { securityGroupId: ISOLATION, networkInterfaces: ['eni-0', 'eni-1'] },
        });
        expect(result.reason).toBe(`${INSTANCE} still stopping 121 s after StopInstances (timeout 120 s); isolated instead: 2 network interface(s) in the deny-all security group ${ISOLATION}`);
      });

      it('does not confirm while EC2 still reports another group on an interface', async () => {
        ec2.on(DescribeInstancesCommand).resolves(withInterfaces([['sg-app']]));
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
        ec2.on(DescribeSecurityGroupsCommand).resolves({ SecurityGroups: [] });
        clock.ms = T0 + 121_000;

        const error = await failure(checkFence(isolating(), deps));

        expect(error.name).toBe('FenceNotConfirmed');
        expect(error.message).toBe(`the isolation security group failover-isolation-orders was not found in ${VPC}; cannot isolate ${INSTANCE}; not promoting`);
        expect(ec2).toHaveReceivedCommandTimes(ModifyNetworkInterfaceAttributeCommand, 0);
      });
    });

    it('in a switchover, waits up to switchover.stopTimeoutSeconds', async () => {
      ec2.on(DescribeInstancesCommand).resolves(described('stopping'));
      const switching: WorkflowState = { ...started({ method: 'stop' }), plan: state({ mode: 'switchover' }).plan };

      clock.ms = T0 + 121_000;
      const waiting = await checkFence(switching, deps);
      clock.ms = T0 + 600_000;
      const error = await failure(checkFence(switching, deps));

      expect(waiting).toMatchObject({ confirmed: false, state: 'stopping' });
      expect(error.name).toBe('FenceNotConfirmed');
      expect(error.message).toBe(`${INSTANCE} still stopping 600 s after StopInstances (timeout 600 s); not promoting`);
    });

    it('throws TransientAwsError on RequestLimitExceeded', async () => {
      ec2.on(DescribeInstancesCommand).rejects(ec2Error('RequestLimitExceeded', 'Request limit exceeded.', 503, 'server'));

      const error = await failure(checkFence(started(), deps));

      expect(error.name).toBe('TransientAwsError');
      expect(error.message).toBe(`EC2 DescribeInstances ${INSTANCE} failed: RequestLimitExceeded: Request limit exceeded.`);
    });
  });

  it('run dispatches on the action', async () => {
    ec2.on(StopInstancesCommand).resolves(stopping('running', 'stopping'));
    ec2.on(DescribeInstancesCommand).resolves(described('stopped'));

    const started = await run({ action: 'start', state: state() }, deps);
    const checked = await run({ action: 'check', state: { ...state(), fence: started } }, deps);

    expect(ec2).toHaveReceivedCommandOnce(StopInstancesCommand);
    expect(ec2).toHaveReceivedCommandOnce(DescribeInstancesCommand);
    expect(checked).toMatchObject({ confirmed: true, state: 'stopped', polls: 1 });
  });
});
