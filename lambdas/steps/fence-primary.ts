/**
 * Step 4: fence the primary (STONITH). `start` force-stops the EC2 instance (Force and SkipOsShutdown;
 * a switchover stops it gracefully); `check` polls until it is stopped, terminated or gone, and fails
 * with FenceNotConfirmed once the timeout has passed. Nothing is promoted until this step confirms.
 */
import { DescribeInstancesCommand, EC2Client, StopInstancesCommand } from '@aws-sdk/client-ec2';
import { perRegion, type StepDeps } from '../shared/deps';
import { awsErrorName, FenceNotConfirmed, stepErrorFrom } from '../shared/errors';
import type { FenceResult, WorkflowState } from '../shared/workflow-state';

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
      return { ...base, startedAt, endedAt: deps.now(), confirmed: true, state: 'running', reason: `dry run: StopInstances on ${instanceId} would succeed (DryRunOperation)` };
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
  const current = await describeState(instanceId, region, deps);
  const now = deps.now();
  const polls = previous.polls + 1;
  if (FENCED_STATES.has(current)) {
    return { ...previous, polls, confirmed: true, state: current, endedAt: now, reason: `${instanceId} confirmed ${current}` };
  }
  const timeout = plan.mode === 'switchover' ? plan.group.switchover.stopTimeoutSeconds : plan.group.fence.timeoutSeconds;
  const waited = (now - previous.startedAt) / 1000;
  if (waited >= timeout) {
    throw new FenceNotConfirmed(`${instanceId} still ${current} ${Math.round(waited)} s after StopInstances (timeout ${timeout} s); not promoting`);
  }
  return { ...previous, polls, confirmed: false, state: current, reason: `${instanceId} is ${current}, waiting for stopped` };
}

function result(base: Pick<FenceResult, 'instanceId' | 'method' | 'dryRun' | 'polls'>, startedAt: number, now: number, state: string, reason: string): FenceResult {
  const confirmed = FENCED_STATES.has(state);
  return { ...base, startedAt, endedAt: confirmed ? now : undefined, confirmed, state, reason };
}

async function describeState(instanceId: string, region: string, deps: Deps): Promise<string> {
  try {
    const out = await deps.ec2(region).send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }));
    const instance = out.Reservations?.flatMap((r) => r.Instances ?? []).find((i) => i.InstanceId === instanceId);
    return instance?.State?.Name ?? 'gone';
  } catch (err) {
    if (awsErrorName(err) === 'InvalidInstanceID.NotFound') return 'gone';
    throw stepErrorFrom(err, `EC2 DescribeInstances ${instanceId}`, FenceNotConfirmed);
  }
}

const deps: Deps = { now: Date.now, ec2: perRegion((region) => new EC2Client({ region })) };
export const run = (event: FenceEvent, deps: Deps) =>
  event.action === 'start' ? startFence(event.state, deps) : checkFence(event.state, deps);
export const handler = (event: FenceEvent) => run(event, deps);
