/**
 * Step 4: fence the primary (STONITH). `start` force-stops the EC2 instance (Force and SkipOsShutdown;
 * a switchover stops it gracefully); `check` polls until it is stopped, terminated or gone. If the stop
 * is not confirmed in time, the group's `fence.onUnconfirmed` decides: `abort` fails with
 * FenceNotConfirmed; `isolate` moves every network interface of the instance into the deny-all
 * isolation security group and confirms that instead. Nothing is promoted until this step confirms.
 */
import {
  DescribeInstancesCommand,
  DescribeNetworkInterfacesCommand,
  DescribeSecurityGroupsCommand,
  EC2Client,
  ModifyNetworkInterfaceAttributeCommand,
  StopInstancesCommand,
  type InstanceNetworkInterface,
} from '@aws-sdk/client-ec2';
import { perRegion, type StepDeps } from '../runtime/deps';
import { awsErrorName, FenceNotConfirmed, stepErrorFrom } from '../core/errors';
import { isolationGroupName } from '../core/isolation-group';
import { stepHandler } from '../runtime/powertools';
import type { FenceResult, WorkflowState } from '../core/workflow-state';

/** States in which the instance can no longer write. */
const FENCED_STATES = new Set(['stopped', 'terminated', 'gone']);

export type FenceEvent = { action: 'start' | 'check'; state: WorkflowState };

type Deps = Pick<StepDeps, 'now' | 'ec2'>;

export async function startFence(state: WorkflowState, deps: Deps): Promise<FenceResult> {
  const { plan } = state;
  const { instanceId, region } = plan.group.primary;
  const ec2 = deps.ec2(region);
  const graceful = plan.mode === 'switchover';
  const base = { instanceId, method: graceful ? 'stop' : 'force-stop', dryRun: plan.dryRun, polls: 0 } as const;
  const startedAt = deps.now();
  const stop = new StopInstancesCommand({
    InstanceIds: [instanceId],
    Force: !graceful,
    // Skipping the OS shutdown is what makes a force-stop fast; a switchover shuts down cleanly.
    SkipOsShutdown: !graceful,
    DryRun: plan.dryRun,
  });
  try {
    const out = await ec2.send(stop);
    const current = out.StoppingInstances?.find((i) => i.InstanceId === instanceId)?.CurrentState?.Name ?? 'unknown';
    return result(base, startedAt, deps.now(), current, `StopInstances accepted: ${instanceId} is ${current}`);
  } catch (err) {
    const name = awsErrorName(err);
    if (name === 'DryRunOperation') {
      // Nothing was stopped: record the state the instance is really in.
      const current = await describeState(instanceId, region, deps);
      return { ...base, startedAt, endedAt: deps.now(), confirmed: true, state: current, reason: `dry run: StopInstances on ${instanceId} would succeed (DryRunOperation); it is ${current}` };
    }
    if (name === 'InvalidInstanceID.NotFound') {
      return result(base, startedAt, deps.now(), 'gone', `${instanceId} no longer exists: counts as fenced`);
    }
    if (name === 'IncorrectInstanceState') {
      // Terminated, or shutting down: let the instance's actual state decide.
      const current = await describeState(instanceId, region, deps);
      return result(base, startedAt, deps.now(), current, `StopInstances refused (IncorrectInstanceState): ${instanceId} is ${current}`);
    }
    throw stepErrorFrom(err, `EC2 StopInstances ${instanceId}`, FenceNotConfirmed);
  }
}

export async function checkFence(state: WorkflowState, deps: Deps): Promise<FenceResult> {
  const { plan } = state;
  const previous = state.fence!;
  const { instanceId, region } = plan.group.primary;
  const { state: current, interfaces } = await describeInstance(instanceId, region, deps);
  const now = deps.now();
  const polls = previous.polls + 1;
  if (FENCED_STATES.has(current)) {
    return { ...previous, polls, confirmed: true, state: current, endedAt: now, reason: `${instanceId} confirmed ${current}` };
  }
  const timeout = plan.mode === 'switchover' ? plan.group.switchover.stopTimeoutSeconds : plan.group.fence.timeoutSeconds;
  const waited = (now - previous.startedAt) / 1000;
  if (waited < timeout) {
    return { ...previous, polls, confirmed: false, state: current, reason: `${instanceId} is ${current}, waiting for stopped` };
  }
  const stuck = `${instanceId} still ${current} ${Math.round(waited)} s after StopInstances (timeout ${timeout} s)`;
  if (plan.group.fence.onUnconfirmed !== 'isolate') throw new FenceNotConfirmed(`${stuck}; not promoting`);
  const isolated = await isolate(state, interfaces, deps);
  if (isolated.confirmed) {
    return {
      ...previous,
      polls,
      confirmed: true,
      state: current,
      method: 'isolate',
      isolation: isolated.isolation,
      endedAt: deps.now(),
      reason: `${stuck}; isolated instead: ${isolated.isolation.networkInterfaces.length} network interface(s) in the deny-all security group ${isolated.isolation.securityGroupId}`,
    };
  }
  if (waited >= timeout + plan.group.fence.isolationTimeoutSeconds) {
    throw new FenceNotConfirmed(`${stuck}, and its isolation was not confirmed in ${plan.group.fence.isolationTimeoutSeconds} s; not promoting`);
  }
  return { ...previous, polls, confirmed: false, state: current, isolation: isolated.isolation, reason: `${stuck}; isolating it: ${isolated.pending}` };
}

/**
 * Network fencing: replace the security groups of every network interface of the primary with the
 * isolation group (no ingress, no egress), then read them back. Idempotent: interfaces already
 * isolated are left alone.
 */
async function isolate(
  state: WorkflowState,
  interfaces: InstanceNetworkInterface[],
  deps: Deps,
): Promise<{ confirmed: boolean; isolation: NonNullable<FenceResult['isolation']>; pending?: string }> {
  const { name, primary } = state.plan.group;
  const ec2 = deps.ec2(primary.region);
  const call = async <T>(what: string, run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (err) {
      throw stepErrorFrom(err, `EC2 ${what}`, FenceNotConfirmed);
    }
  };
  const groups = await call('DescribeSecurityGroups', () =>
    ec2.send(new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'group-name', Values: [isolationGroupName(name)] }, { Name: 'vpc-id', Values: [primary.vpcId!] }] })),
  );
  const securityGroupId = groups.SecurityGroups?.[0]?.GroupId;
  if (!securityGroupId) {
    throw new FenceNotConfirmed(`the isolation security group ${isolationGroupName(name)} was not found in ${primary.vpcId}; cannot isolate ${primary.instanceId}; not promoting`);
  }
  const ids = interfaces.map((n) => n.NetworkInterfaceId!).filter(Boolean);
  if (ids.length === 0) throw new FenceNotConfirmed(`${primary.instanceId} reports no network interface to isolate; not promoting`);
  const onlyIsolation = (gs: Array<{ GroupId?: string }> | undefined) => gs?.length === 1 && gs[0].GroupId === securityGroupId;
  for (const eni of interfaces.filter((n) => !onlyIsolation(n.Groups))) {
    await call(`ModifyNetworkInterfaceAttribute ${eni.NetworkInterfaceId}`, () =>
      ec2.send(new ModifyNetworkInterfaceAttributeCommand({ NetworkInterfaceId: eni.NetworkInterfaceId, Groups: [securityGroupId] })),
    );
  }
  // Confirm from what EC2 reports now, not from what was asked.
  const after = await call('DescribeNetworkInterfaces', () => ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: ids })));
  const notYet = (after.NetworkInterfaces ?? []).filter((n) => !onlyIsolation(n.Groups)).map((n) => n.NetworkInterfaceId);
  const confirmed = notYet.length === 0 && (after.NetworkInterfaces ?? []).length === ids.length;
  return {
    confirmed,
    isolation: { securityGroupId, networkInterfaces: ids },
    pending: confirmed ? undefined : `${notYet.join(', ') || 'some interfaces'} not yet in ${securityGroupId}`,
  };
}

function result(base: Pick<FenceResult, 'instanceId' | 'method' | 'dryRun' | 'polls'>, startedAt: number, now: number, state: string, reason: string): FenceResult {
  const confirmed = FENCED_STATES.has(state);
  return { ...base, startedAt, endedAt: confirmed ? now : undefined, confirmed, state, reason };
}

async function describeState(instanceId: string, region: string, deps: Deps): Promise<string> {
  return (await describeInstance(instanceId, region, deps)).state;
}

/** The instance's state ('gone' when EC2 no longer knows it) and its network interfaces. */
async function describeInstance(instanceId: string, region: string, deps: Deps): Promise<{ state: string; interfaces: InstanceNetworkInterface[] }> {
  try {
    const out = await deps.ec2(region).send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }));
    const instance = out.Reservations?.flatMap((r) => r.Instances ?? []).find((i) => i.InstanceId === instanceId);
    return { state: instance?.State?.Name ?? 'gone', interfaces: instance?.NetworkInterfaces ?? [] };
  } catch (err) {
    if (awsErrorName(err) === 'InvalidInstanceID.NotFound') return { state: 'gone', interfaces: [] };
    throw stepErrorFrom(err, `EC2 DescribeInstances ${instanceId}`, FenceNotConfirmed);
  }
}

const deps: Deps = { now: Date.now, ec2: perRegion((region) => new EC2Client({ region })) };
/** The step's actions, by the name the state machine passes (see lib/infra/workflow-states.ts). */
export const ACTIONS = { start: startFence, check: checkFence } as const;
export const run = (event: FenceEvent, deps: Deps) => ACTIONS[event.action](event.state, deps);
export const handler = stepHandler('fence-primary', (event: FenceEvent) => run(event, deps));
