/**
 * Step 4: fence every EC2 writer of the group (STONITH): the primary and `primary.additionalInstanceIds`.
 *
 * `start` first looks at each instance: one EC2 cannot see (InvalidInstanceID.NotFound, which is also
 * what a mistyped id or the wrong region returns; EC2 API error codes, and "Eventual consistency in the
 * Amazon EC2 API") is NOT fenced: FENCE_FAILED. An instance in an Auto Scaling group has the group's
 * HealthCheck, ReplaceUnhealthy, Launch and AZRebalance processes suspended first, since the group
 * replaces a stopped (unhealthy) instance with a fresh, running one (EC2 Auto Scaling "Health checks",
 * "Suspend and resume processes"; scale-in protection does not prevent a health-check replacement).
 * Then every instance is force-stopped (Force, SkipOsShutdown; a switchover stops gracefully).
 *
 * `check` polls each instance until it is stopped or terminated. While one stays `stopping` in a
 * failover, the force-stop is sent again on every poll (AWS's advice for a stuck instance); one found
 * running again is stopped again. When the stop is not confirmed in time, `fence.onUnconfirmed` decides:
 * `abort` fails with FenceNotConfirmed; `isolate` moves the instance's interfaces into the deny-all
 * isolation group. Isolation is NOT a complete fence: security groups are stateful, so connections
 * already tracked go on ("Security group connection tracking", EC2 User Guide). It is recorded as
 * `fenced: false`, and the promotion waits for the database fence, whose reboot closes every
 * connection to the old database after the isolation is in place (see verify-fences.ts).
 *
 * When the region's EC2 API cannot be reached, the fence fails (RegionUnreachable) unless the operator
 * attested that the writers are fenced by other means; such writers are recorded as `attested`.
 */
import {
  DescribeAutoScalingInstancesCommand,
  SuspendProcessesCommand,
  type AutoScalingClient,
} from '@aws-sdk/client-auto-scaling';
import {
  DescribeInstancesCommand,
  DescribeNetworkInterfacesCommand,
  DescribeSecurityGroupsCommand,
  ModifyNetworkInterfaceAttributeCommand,
  StopInstancesCommand,
  type EC2Client,
  type InstanceNetworkInterface,
} from '@aws-sdk/client-ec2';
import type { StepDeps } from '../runtime/deps';
import { bakedGroups } from '../runtime/baked-groups';
import { fenceAutoScaling, fenceEc2 } from '../runtime/fence-clients';
import type { GroupConfig } from '../core/config';
import { deployedGroup, deployedGroupNamed } from '../core/deployed-group';
import { awsErrorName, FenceNotConfirmed, InvalidInput, isUnreachable, RegionUnreachable, stepErrorFrom } from '../core/errors';
import { fencedInstances, writerInstanceIds } from '../core/writers';
import { isolationGroupName } from '../core/isolation-group';
import { stepHandler } from '../runtime/powertools';
import type { FenceResult, InstanceFence, Plan, WorkflowState } from '../core/workflow-state';

/** States in which an instance can no longer write. */
const FENCED_STATES = new Set(['stopped', 'terminated', 'gone']);

/**
 * The Auto Scaling processes suspended before an instance of the group is stopped: HealthCheck and
 * ReplaceUnhealthy (a stopped instance is unhealthy and would be terminated and replaced), Launch (no
 * new instance at all) and AZRebalance (which launches before it terminates).
 */
export const SUSPENDED_PROCESSES = ['HealthCheck', 'ReplaceUnhealthy', 'Launch', 'AZRebalance'];

export type FenceEvent = { action: 'start' | 'check'; state: WorkflowState };

export type Deps = Pick<StepDeps, 'now' | 'ec2' | 'autoscaling' | 'groups'>;

/** What EC2 says about one instance now. */
export interface Observed {
  state: string;
  interfaces: InstanceNetworkInterface[];
}

export async function startFence(state: WorkflowState, deps: Deps): Promise<FenceResult> {
  const { plan } = state;
  // Which instances, in which region: the deployed group's writers, whatever the event says.
  const group = deployedGroup(deps.groups(), plan);
  const { region } = group.primary;
  const graceful = plan.mode === 'switchover';
  const method = graceful ? 'stop' : 'force-stop';
  const startedAt = deps.now();
  const instances: InstanceFence[] = [];
  const attested: string[] = [];

  for (const id of writerInstanceIds(group)) {
    const seen = await observe(id, region, deps);
    if (seen === 'unreachable') return attestedResult(plan, group, startedAt, deps.now(), 'unreachable', `EC2 in ${region} could not be reached`);
    if (seen.state === 'not-found') {
      if (!plan.attestation) throw new FenceNotConfirmed(notFound(id, region));
      attested.push(id);
      instances.push({ id, state: 'not-found', fenced: false, method: 'attested', seen: false, stops: 0, reason: `${notFound(id, region, false)}; passed on the attestation of ${plan.attestation.by}` });
      continue;
    }
    instances.push({ id, state: seen.state, fenced: FENCED_STATES.has(seen.state), method, seen: true, stops: 0, reason: `${id} is ${seen.state}` });
  }

  // An Auto Scaling group must not replace or restart what is being fenced: suspend first, then stop.
  const groups = await autoScalingGroups(instances.filter((i) => i.seen).map((i) => i.id), region, deps);
  if (groups === 'unreachable') return attestedResult(plan, group, startedAt, deps.now(), 'unreachable', `Auto Scaling in ${region} could not be reached`);
  for (const [asg, ids] of groups) {
    if (!plan.dryRun && (await suspend(asg, region, deps)) === 'unreachable') {
      return attestedResult(plan, group, startedAt, deps.now(), 'unreachable', `Auto Scaling in ${region} could not be reached to suspend ${asg}`);
    }
    for (const i of instances.filter((x) => ids.includes(x.id))) {
      i.autoScalingGroup = asg;
      i.suspendedProcesses = plan.dryRun ? [] : SUSPENDED_PROCESSES;
    }
  }

  for (const i of instances.filter((x) => x.seen && !x.fenced)) {
    const stopped = await stop(i.id, region, graceful, deps, plan);
    if (stopped === 'unreachable') return attestedResult(plan, group, startedAt, deps.now(), 'unreachable', `EC2 in ${region} could not be reached`);
    i.stops += plan.dryRun ? 0 : 1;
    i.state = stopped;
    i.fenced = FENCED_STATES.has(stopped);
    i.reason = plan.dryRun ? `dry run: StopInstances on ${i.id} would succeed (DryRunOperation); it is ${stopped}` : `StopInstances accepted: ${i.id} is ${stopped}`;
  }
  for (const i of instances.filter((x) => x.autoScalingGroup)) {
    i.reason += plan.dryRun
      ? `; in Auto Scaling group ${i.autoScalingGroup}: would suspend ${SUSPENDED_PROCESSES.join(', ')} first`
      : `; Auto Scaling group ${i.autoScalingGroup}: ${SUSPENDED_PROCESSES.join(', ')} suspended`;
  }
  const now = deps.now();
  if (plan.dryRun) {
    // Nothing was stopped: the record shows the states the instances are really in.
    return summary(plan, { startedAt, now, polls: 0 }, instances, attested, true);
  }
  return summary(plan, { startedAt, now, polls: 0 }, instances, attested);
}

export async function checkFence(state: WorkflowState, deps: Deps): Promise<FenceResult> {
  const { plan } = state;
  const group = deployedGroup(deps.groups(), plan);
  const previous = state.fence!;
  const { region } = group.primary;
  const polls = previous.polls + 1;
  // What the fence saw so far (the event), for exactly the deployed group's writers.
  const instances = fencedInstances(group, previous);
  const interfaces = new Map<string, InstanceNetworkInterface[]>();
  for (const i of instances.filter((x) => x.method !== 'attested' && !x.isolatedAt)) {
    const seen = await observe(i.id, region, deps);
    if (seen === 'unreachable') return attestedResult(plan, group, previous.startedAt, deps.now(), 'unreachable', `EC2 in ${region} could not be reached`, previous);
    const next = await restopIfNeeded(i, seen, plan, group, deps);
    if (next === 'unreachable') return attestedResult(plan, group, previous.startedAt, deps.now(), 'unreachable', `EC2 in ${region} could not be reached`, previous);
    Object.assign(i, next);
    interfaces.set(i.id, seen.interfaces);
  }
  const now = deps.now();
  if (instances.every(done)) {
    return summary(plan, { startedAt: previous.startedAt, now, polls }, instances, previous.attested ?? []);
  }
  const timeout = plan.mode === 'switchover' ? group.switchover.stopTimeoutSeconds : group.fence.timeoutSeconds;
  const waited = (now - previous.startedAt) / 1000;
  if (waited < timeout) return summary(plan, { startedAt: previous.startedAt, now, polls }, instances, previous.attested ?? []);

  const open = instances.filter((i) => !done(i));
  const stuck = `${open.map((i) => `${i.id} still ${i.state}`).join(', ')} ${Math.round(waited)} s after StopInstances (timeout ${timeout} s)`;
  if (group.fence.onUnconfirmed !== 'isolate') {
    // An operator who attested accepts a writer that is not running but not confirmed stopped either.
    if (plan.attestation && open.every((i) => i.state !== 'running' && i.state !== 'pending')) {
      for (const i of open) Object.assign(i, { method: 'attested', reason: `${i.reason}; not confirmed in ${timeout} s, passed on the attestation of ${plan.attestation.by}` });
      return summary(plan, { startedAt: previous.startedAt, now, polls }, instances, [...(previous.attested ?? []), ...open.map((i) => i.id)]);
    }
    throw new FenceNotConfirmed(`${stuck}; not promoting`);
  }
  for (const i of open) {
    const isolated = await isolate(group, i.id, interfaces.get(i.id) ?? [], deps);
    i.isolation = isolated.isolation;
    if (isolated.confirmed) {
      Object.assign(i, {
        method: 'isolate',
        isolatedAt: deps.now(),
        reason:
          `${i.id} still ${i.state} after ${timeout} s; isolated: ${isolated.isolation.networkInterfaces.length} network interface(s) in the deny-all security group ${isolated.isolation.securityGroupId}. ` +
          'That blocks new connections only: established ones go on (security-group connection tracking), so it is not a fence by itself',
      });
    } else {
      i.reason = `${i.id} still ${i.state}; isolating it: ${isolated.pending}`;
    }
  }
  if (instances.every(done)) return summary(plan, { startedAt: previous.startedAt, now: deps.now(), polls }, instances, previous.attested ?? []);
  if (waited >= timeout + group.fence.isolationTimeoutSeconds) {
    throw new FenceNotConfirmed(`${stuck}, and its isolation was not confirmed in ${group.fence.isolationTimeoutSeconds} s; not promoting`);
  }
  return summary(plan, { startedAt: previous.startedAt, now, polls }, instances, previous.attested ?? []);
}

/** Stopped, terminated, gone after being seen, isolated (pending the database fence), or attested. */
const done = (i: InstanceFence) => i.fenced || i.isolatedAt !== undefined || i.method === 'attested';

/**
 * Look at an instance again and stop it again when it needs it: running or pending (started again by a
 * person, a script or a group), or, in a failover, still stopping (AWS: force-stop again). Used by the
 * fence's polls and by the re-verification before the promotion and the DNS change.
 */
export async function restopIfNeeded(
  i: InstanceFence,
  seen: Observed,
  plan: Pick<Plan, 'mode' | 'dryRun'>,
  group: Pick<GroupConfig, 'primary'>,
  deps: Pick<Deps, 'ec2'>,
): Promise<InstanceFence | 'unreachable'> {
  const region = group.primary.region;
  if (seen.state === 'not-found') {
    // Seen earlier in this execution and now unknown to EC2: it was terminated and has been purged.
    return i.seen
      ? { ...i, state: 'gone', fenced: true, reason: `${i.id} was seen earlier in this execution and is now unknown to EC2: terminated` }
      : { ...i, state: 'not-found', fenced: false, reason: notFound(i.id, region) };
  }
  if (FENCED_STATES.has(seen.state)) return { ...i, state: seen.state, fenced: true, reason: `${i.id} confirmed ${seen.state}` };
  const again = seen.state === 'running' || seen.state === 'pending';
  const stuck = seen.state === 'stopping' && plan.mode === 'failover';
  if (!again && !stuck) return { ...i, state: seen.state, fenced: false, reason: `${i.id} is ${seen.state}, waiting for stopped` };
  if (plan.dryRun) return { ...i, state: seen.state, fenced: false, reason: `${i.id} is ${seen.state}` };
  const graceful = plan.mode === 'switchover';
  const stopped = await stop(i.id, region, graceful, deps, plan);
  if (stopped === 'unreachable') return 'unreachable';
  const what = again ? `${i.id} was ${seen.state} again: ${graceful ? 'stopped' : 'force-stopped'} again` : `${i.id} still stopping: force-stop sent again`;
  return { ...i, state: stopped, fenced: FENCED_STATES.has(stopped), stops: i.stops + 1, reason: what };
}

function summary(plan: Plan, timing: { startedAt: number; now: number; polls: number }, instances: InstanceFence[], attested: string[], dryRun = false): FenceResult {
  const primary = instances[0];
  const confirmed = dryRun || instances.every(done);
  const open = instances.filter((i) => !done(i));
  const lines = instances.map((i) => i.reason);
  const reason = confirmed
    ? instances.length === 1
      ? primary.reason
      : `${instances.length} instances: ${lines.join('; ')}`
    : instances.length === 1
      ? primary.reason
      : `waiting for ${open.map((i) => `${i.id} (${i.state})`).join(', ')}: ${lines.join('; ')}`;
  return {
    startedAt: timing.startedAt,
    endedAt: confirmed ? timing.now : undefined,
    instanceId: primary.id,
    confirmed,
    state: primary.state,
    method: primary.method === 'attested' ? (plan.mode === 'switchover' ? 'stop' : 'force-stop') : primary.method,
    ...(primary.isolation ? { isolation: primary.isolation } : {}),
    dryRun: plan.dryRun,
    reason,
    polls: timing.polls,
    instances,
    ...(attested.length > 0 ? { attested } : {}),
  };
}

/**
 * The region's EC2 (or Auto Scaling) API could not be reached: the fence cannot be confirmed. Without an
 * attestation that ends the execution (FENCE_FAILED); with one, every EC2 writer not already confirmed
 * is passed as attested, and the record says by whom and why.
 */
function attestedResult(plan: Plan, group: GroupConfig, startedAt: number, now: number, state: string, what: string, previous?: FenceResult): FenceResult {
  if (!plan.attestation) {
    throw new RegionUnreachable(`${what} (connection or request timed out after retries): the EC2 writers cannot be confirmed fenced; not promoting. ` +
      `If they are fenced by other means, a manual failover can say so: failoverctl failover ${group.name} --attest-fenced "<how>"`);
  }
  const { by, reason } = plan.attestation;
  const earlier = new Map((previous?.instances ?? []).map((i) => [i.id, i]));
  const instances: InstanceFence[] = writerInstanceIds(group).map((id) => {
    const before = earlier.get(id);
    if (before?.fenced) return before;
    return { ...(before ?? { seen: false, stops: 0 }), id, state, fenced: false, method: 'attested', reason: `${what}; ${id} passed on the attestation of ${by}: ${reason}` };
  });
  const attested = instances.filter((i) => i.method === 'attested').map((i) => i.id);
  return summary(plan, { startedAt, now, polls: (previous?.polls ?? -1) + 1 }, instances, attested);
}

function notFound(id: string, region: string, fail = true): string {
  return (
    `${id} does not exist in ${region} (InvalidInstanceID.NotFound): a wrong instance id or region in the config, or an instance this execution never saw. ` +
    `An instance the controller cannot see is not fenced${fail ? '; not promoting' : ''}`
  );
}

/** The instance's state ('not-found' when EC2 does not know it), or 'unreachable'. */
export async function observe(id: string, region: string, deps: Pick<Deps, 'ec2'>): Promise<Observed | 'unreachable'> {
  try {
    const out = await deps.ec2(region).send(new DescribeInstancesCommand({ InstanceIds: [id] }));
    const instance = out.Reservations?.flatMap((r) => r.Instances ?? []).find((i) => i.InstanceId === id);
    return { state: instance?.State?.Name ?? 'not-found', interfaces: instance?.NetworkInterfaces ?? [] };
  } catch (err) {
    if (awsErrorName(err) === 'InvalidInstanceID.NotFound') return { state: 'not-found', interfaces: [] };
    if (isUnreachable(err)) return 'unreachable';
    throw stepErrorFrom(err, `EC2 DescribeInstances ${id}`, FenceNotConfirmed);
  }
}

/** StopInstances; the state EC2 reports after it (for a dry run: the state it is in). */
async function stop(id: string, region: string, graceful: boolean, deps: Pick<Deps, 'ec2'>, plan: Pick<Plan, 'dryRun'>): Promise<string | 'unreachable'> {
  const command = new StopInstancesCommand({
    InstanceIds: [id],
    Force: !graceful,
    // Skipping the OS shutdown is what makes a force-stop fast; a switchover shuts down cleanly.
    SkipOsShutdown: !graceful,
    DryRun: plan.dryRun,
  });
  try {
    const out = await deps.ec2(region).send(command);
    return out.StoppingInstances?.find((i) => i.InstanceId === id)?.CurrentState?.Name ?? 'unknown';
  } catch (err) {
    const name = awsErrorName(err);
    if (isUnreachable(err)) return 'unreachable';
    if (name === 'DryRunOperation' || name === 'IncorrectInstanceState' || name === 'InvalidInstanceID.NotFound') {
      // Nothing stopped (dry run), or refused because of its state (terminated, shutting down): its state decides.
      const seen = await observe(id, region, deps);
      return seen === 'unreachable' ? 'unreachable' : seen.state;
    }
    throw stepErrorFrom(err, `EC2 StopInstances ${id}`, FenceNotConfirmed);
  }
}

function autoScaling(region: string, deps: Deps): AutoScalingClient {
  if (!deps.autoscaling) throw new FenceNotConfirmed('no Auto Scaling client: cannot tell whether an Auto Scaling group would replace the fenced instance; not promoting');
  return deps.autoscaling(region);
}

/** Auto Scaling group name → the instances of `ids` in it. An id in no group is simply not listed (API doc). */
async function autoScalingGroups(ids: string[], region: string, deps: Deps): Promise<Map<string, string[]> | 'unreachable'> {
  const groups = new Map<string, string[]>();
  if (ids.length === 0) return groups;
  try {
    // At most 50 ids per call; a group has at most 21 writers.
    const out = await autoScaling(region, deps).send(new DescribeAutoScalingInstancesCommand({ InstanceIds: ids }));
    for (const i of out.AutoScalingInstances ?? []) {
      if (!i.AutoScalingGroupName || !i.InstanceId) continue;
      groups.set(i.AutoScalingGroupName, [...(groups.get(i.AutoScalingGroupName) ?? []), i.InstanceId]);
    }
    return groups;
  } catch (err) {
    if (isUnreachable(err)) return 'unreachable';
    throw stepErrorFrom(err, `Auto Scaling DescribeAutoScalingInstances ${ids.join(',')}`, FenceNotConfirmed);
  }
}

async function suspend(group: string, region: string, deps: Deps): Promise<'unreachable' | undefined> {
  try {
    await autoScaling(region, deps).send(new SuspendProcessesCommand({ AutoScalingGroupName: group, ScalingProcesses: SUSPENDED_PROCESSES }));
    return undefined;
  } catch (err) {
    if (isUnreachable(err)) return 'unreachable';
    throw stepErrorFrom(err, `Auto Scaling SuspendProcesses ${group}`, FenceNotConfirmed);
  }
}

/**
 * Network isolation: replace the security groups of every network interface of the instance with the
 * isolation group (no ingress, no egress), then read them back. Idempotent. Blocks new connections
 * only (connection tracking): see the file comment.
 */
async function isolate(
  group: GroupConfig,
  instanceId: string,
  interfaces: InstanceNetworkInterface[],
  deps: Deps,
): Promise<{ confirmed: boolean; isolation: NonNullable<InstanceFence['isolation']>; pending?: string }> {
  const { name, primary } = group;
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
    throw new FenceNotConfirmed(`the isolation security group ${isolationGroupName(name)} was not found in ${primary.vpcId}; cannot isolate ${instanceId}; not promoting`);
  }
  const ids = interfaces.map((n) => n.NetworkInterfaceId!).filter(Boolean);
  if (ids.length === 0) throw new FenceNotConfirmed(`${instanceId} reports no network interface to isolate; not promoting`);
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

// Pure: a step that imports this module's functions (verify-fences) does not bundle these clients.
const deps: Deps = { now: Date.now, groups: bakedGroups, ec2: /* @__PURE__ */ fenceEc2(), autoscaling: /* @__PURE__ */ fenceAutoScaling() };
/** The step's actions, by the name the state machine passes (see lib/infra/workflow-states.ts). */
export const ACTIONS = { start: startFence, check: checkFence } as const;
export const run = (event: FenceEvent, deps: Deps) => ACTIONS[event.action](event.state, deps);

/** What the fence answers when asked whether it may stop instances. */
export type DryRunAnswer = { allowed: true } | { allowed: false; error: string; message: string; /** The refused call, when not StopInstances. */ call?: 'ModifyNetworkInterfaceAttribute' };

/**
 * The readiness function's question, outside any failover: may this function's role stop the writers
 * of this group? It names the group only: which instances, and where, come from the deployed group.
 */
export interface DryRunEvent {
  dryRun: { group: string };
}

/**
 * StopInstances with DryRun. EC2 answers DryRunOperation when the call would have been allowed, and
 * UnauthorizedOperation when not (EC2 API reference, the DryRun parameter); any other error is thrown.
 */
export async function stopDryRun(ec2: EC2Client, instanceIds: string[]): Promise<DryRunAnswer> {
  try {
    await ec2.send(new StopInstancesCommand({ InstanceIds: instanceIds, Force: true, DryRun: true }));
  } catch (err) {
    const name = awsErrorName(err);
    if (name === 'DryRunOperation') return { allowed: true };
    if (name === 'UnauthorizedOperation' || name === 'AccessDenied' || name === 'AccessDeniedException') {
      return { allowed: false, error: name, message: (err as Error).message };
    }
    throw err;
  }
  // A DryRun that succeeds outright is not what EC2 does; take it as allowed.
  return { allowed: true };
}

/**
 * Answer the readiness function: StopInstances with DryRun set (always: nothing is stopped) on the
 * deployed group's writers that EC2 still knows and that are not terminated (the readiness check
 * reports the others itself), in the group's primary region. An unknown group is InvalidInput.
 */
export async function answerDryRun(event: DryRunEvent, deps: Pick<Deps, 'ec2' | 'groups'>): Promise<DryRunAnswer> {
  const group = deployedGroupNamed(deps.groups(), event.dryRun?.group);
  const { region } = group.primary;
  const live: Array<{ id: string; interfaces: InstanceNetworkInterface[] }> = [];
  for (const id of writerInstanceIds(group)) {
    const seen = await observe(id, region, deps);
    if (seen === 'unreachable') throw new RegionUnreachable(`EC2 in ${region} could not be reached to look at ${id}`);
    if (!['not-found', 'terminated', 'shutting-down'].includes(seen.state)) live.push({ id, interfaces: seen.interfaces });
  }
  if (live.length === 0) return { allowed: true };
  const stop = await stopDryRun(deps.ec2(region), live.map((l) => l.id));
  if (!stop.allowed || group.fence.onUnconfirmed !== 'isolate') return stop;
  return isolationDryRun(group, live.flatMap((l) => l.interfaces), deps);
}

/**
 * For a group that fences by isolation: may this role move the writers' interfaces into the isolation
 * group? ModifyNetworkInterfaceAttribute with DryRun on each, with the group's isolation security group,
 * which the permission is scoped to by VPC and tag: a policy, an SCP or a tag that does not allow it
 * would otherwise surface only during a failover whose stop did not complete.
 */
async function isolationDryRun(group: GroupConfig, interfaces: InstanceNetworkInterface[], deps: Pick<Deps, 'ec2'>): Promise<DryRunAnswer> {
  const { primary } = group;
  const ec2 = deps.ec2(primary.region);
  const found = await ec2.send(
    new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'group-name', Values: [isolationGroupName(group.name)] }, { Name: 'vpc-id', Values: [primary.vpcId!] }] }),
  );
  const securityGroupId = found.SecurityGroups?.[0]?.GroupId;
  if (!securityGroupId) {
    return { allowed: false, call: 'ModifyNetworkInterfaceAttribute', error: 'InvalidGroup.NotFound', message: `the isolation security group ${isolationGroupName(group.name)} is missing from ${primary.vpcId}: deploy the isolation stack for ${primary.region}` };
  }
  for (const eni of interfaces) {
    try {
      await ec2.send(new ModifyNetworkInterfaceAttributeCommand({ NetworkInterfaceId: eni.NetworkInterfaceId, Groups: [securityGroupId], DryRun: true }));
    } catch (err) {
      const name = awsErrorName(err);
      if (name === 'DryRunOperation') continue;
      if (name === 'UnauthorizedOperation' || name === 'AccessDenied' || name === 'AccessDeniedException') {
        return { allowed: false, call: 'ModifyNetworkInterfaceAttribute', error: name, message: `${eni.NetworkInterfaceId} into ${securityGroupId}: ${(err as Error).message}` };
      }
      throw err;
    }
  }
  return { allowed: true };
}

function isDryRunEvent(event: unknown): event is DryRunEvent {
  return event !== null && typeof event === 'object' && Object.hasOwn(event, 'dryRun');
}

export const handler = /* @__PURE__ */ stepHandler('fence-primary', (event: FenceEvent | DryRunEvent): Promise<FenceResult | DryRunAnswer> => {
  if (!isDryRunEvent(event)) return run(event, deps);
  if (typeof event.dryRun?.group !== 'string') {
    throw new InvalidInput(`dryRun.group: must be a group name, got ${JSON.stringify(event.dryRun)?.slice(0, 80)}`);
  }
  return answerDryRun(event, deps);
});
