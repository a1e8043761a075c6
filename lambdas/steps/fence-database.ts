/**
 * Step 4b: fence the old database, the replica's source, so that no client can write to it once the
 * replica is promoted: new connections and established ones alike.
 *
 * The source is discovered from the replica (ReadReplicaSourceDBInstanceIdentifier: an identifier in the
 * same region, an ARN across regions) and must be the configured `replica.source`.
 *
 * Why this method (see README, "Never two writers", and the sources there):
 * - StopDBInstance is refused for an instance that has a read replica ("You can't stop a DB instance
 *   that has a read replica, or that is a read replica": RDS User Guide, USER_StopInstance, Limitations).
 * - A security-group change alone blocks new connections but not established ones: security groups are
 *   stateful and tracked connections go on until they time out (EC2 User Guide, "Security group
 *   connection tracking"; that RDS's interfaces behave the same is an inference, not documented). RDS
 *   applies VpcSecurityGroupIds "asynchronously, as soon as possible", ignoring ApplyImmediately
 *   (USER_ModifyInstance.Settings).
 * - A reboot restarts the database engine ("stops the database service … starts the database
 *   service": USER_RebootInstance), which closes every client connection, but the instance comes back
 *   writable. It is allowed on a source with read replicas; replication resumes after it.
 * So: (1) ModifyDBInstance VpcSecurityGroupIds = [the deny-all group the stack made in the source's
 * VPC]; (2) wait until DescribeDBInstances lists only that group; (3) RebootDBInstance, which closes
 * every connection made before; (4) wait until it is `available` again with only that group: confirmed.
 * After (3) no connection from before survives, and no new one can be opened.
 *
 * A source in status `failed` ("The instance has failed and Amazon RDS can't recover it": DB instance
 * status table, Overview.DBInstance.Status) accepts nothing and counts as fenced without action. Aurora
 * (a cluster; StopDBInstance and this fence do not apply to it) and other engines fail the fence.
 */
import { DescribeDBInstancesCommand, ModifyDBInstanceCommand, RebootDBInstanceCommand, type DBInstance } from '@aws-sdk/client-rds';
import { DescribeSecurityGroupsCommand } from '@aws-sdk/client-ec2';
import type { StepDeps } from '../runtime/deps';
import { bakedGroups } from '../runtime/baked-groups';
import { fenceEc2, fenceRds } from '../runtime/fence-clients';
import { awsErrorName, FenceNotConfirmed, InvalidInput, isUnreachable, RegionUnreachable, stepErrorFrom } from '../core/errors';
import { sourceDatabase, type GroupConfig } from '../core/config';
import { deployedGroup } from '../core/deployed-group';
import { chosenReplica } from '../core/candidates';
import { databaseFenceGroupName } from '../core/isolation-group';
import { stepHandler } from '../runtime/powertools';
import type { DatabaseFenceResult, Plan, WorkflowState, Writer } from '../core/workflow-state';
import { databaseWriter } from '../core/writers';

export { databaseWriter };

/** Engines whose single-instance source this fence handles: a reboot restarts the engine and drops every session. */
export const SUPPORTED_ENGINES = new Set(['postgres', 'mysql', 'mariadb']);

export type DatabaseFenceEvent = { action: 'start' | 'check'; state: WorkflowState };

export type Deps = Pick<StepDeps, 'now' | 'rds' | 'ec2' | 'groups'>;

interface Source {
  id: string;
  region: string;
}

export async function startDatabaseFence(state: WorkflowState, deps: Deps): Promise<DatabaseFenceResult> {
  const { plan } = state;
  // The source, its VPC and its deny-all group: the deployed group's, whatever the event says.
  const group = deployedGroup(deps.groups(), plan);
  const startedAt = deps.now();
  const source = await discoverSource(group, state, deps);
  const base = { id: source.id, region: source.region, dryRun: plan.dryRun, polls: 0, startedAt };
  const db = await describe(source, deps);
  if (db === 'unreachable') return attested(plan, group, base, deps.now(), 'unreachable', `RDS in ${source.region} could not be reached`);
  if (db === 'not-found') {
    const what = `${source.id} does not exist in ${source.region} (DBInstanceNotFound), yet ${chosenReplica(group, state).dbInstanceIdentifier} names it as its source`;
    if (!plan.attestation) throw new FenceNotConfirmed(`${what}; a database the controller cannot see is not fenced; not promoting`);
    return attested(plan, group, base, deps.now(), 'not-found', what);
  }
  const engine = db.Engine ?? 'unknown';
  const status = db.DBInstanceStatus ?? 'unknown';
  checkEngine(source, engine);
  if (status === 'failed') return failed({ ...base, engine }, deps.now());
  const vpc = db.DBSubnetGroup?.VpcId;
  if (vpc && vpc !== group.replica.sourceVpcId) {
    throw new FenceNotConfirmed(`${source.id} is in ${vpc}, but replica.sourceVpcId says ${group.replica.sourceVpcId}: the deny-all security group is in the wrong VPC; not promoting`);
  }
  const fenceGroup = await findFenceGroup(group, source, deps);
  const original = groupsOf(db);
  const result: DatabaseFenceResult = {
    ...base,
    engine,
    status,
    phase: 'isolating',
    method: 'sg+reboot',
    confirmed: false,
    fenceSecurityGroupId: fenceGroup,
    originalSecurityGroupIds: original,
    reason: '',
  };
  if (plan.dryRun) {
    return {
      ...result,
      confirmed: true,
      endedAt: deps.now(),
      reason: `dry run: would replace the security groups of ${source.id} (${engine}, ${status}; ${original.join(', ') || 'none'}) with the deny-all group ${fenceGroup}, then reboot it to close every connection`,
    };
  }
  if (onlyFence(db, fenceGroup)) return { ...result, reason: `${source.id} already has only the deny-all group ${fenceGroup}` };
  const modified = await modify(source, fenceGroup, deps);
  if (modified === 'unreachable') return attested(plan, group, base, deps.now(), 'unreachable', `RDS in ${source.region} could not be reached`);
  return {
    ...result,
    reason:
      modified === 'refused'
        ? `${source.id} is ${status}: ModifyDBInstance refused for now, will retry`
        : `ModifyDBInstance accepted: ${source.id}'s security groups (${original.join(', ')}) replaced by the deny-all group ${fenceGroup}`,
  };
}

export async function checkDatabaseFence(state: WorkflowState, deps: Deps): Promise<DatabaseFenceResult> {
  const { plan } = state;
  const group = deployedGroup(deps.groups(), plan);
  const previous = state.databaseFence!;
  // The configured source (the start checked the replica's is the same), and its deny-all group found
  // again: the event says only how far the fence got.
  const source = configuredSource(group, previous);
  const polls = previous.polls + 1;
  const db = await describe(source, deps);
  const now = deps.now();
  if (db === 'unreachable') return attested(plan, group, previous, now, 'unreachable', `RDS in ${source.region} could not be reached`);
  if (db === 'not-found') {
    // Seen at the start of this fence and now gone: deleted, so it accepts nothing.
    return { ...previous, polls, status: 'gone', phase: 'confirmed', confirmed: true, confirmedAt: now, endedAt: now, reason: `${source.id} no longer exists (deleted since the fence began)` };
  }
  const status = db.DBInstanceStatus ?? 'unknown';
  if (status === 'failed') return failed({ ...previous, polls }, now);
  const sg = await findFenceGroup(group, source, deps);
  const groups = groupsOf(db).join(', ') || 'none';
  const next = { ...previous, fenceSecurityGroupId: sg, polls, status };

  if (previous.phase === 'isolating') {
    if (onlyFence(db, sg) && status === 'available') {
      // Only now: a reboot before the deny-all group holds would let clients reconnect at once.
      const rebooted = await reboot(source, deps);
      if (rebooted === 'unreachable') return attested(plan, group, previous, now, 'unreachable', `RDS in ${source.region} could not be reached`);
      if (rebooted !== 'refused') {
        return {
          ...next,
          phase: 'rebooting',
          status: rebooted,
          rebootRequestedAt: now,
          rebootObserved: rebooted === 'rebooting',
          reason: `${source.id} has only the deny-all group ${sg}; RebootDBInstance accepted to close every established connection`,
        };
      }
    } else if (status === 'available' && !groupsOf(db).includes(sg)) {
      // The change was refused earlier, or undone: ask again.
      const modified = await modify(source, sg, deps);
      if (modified === 'unreachable') return attested(plan, group, previous, now, 'unreachable', `RDS in ${source.region} could not be reached`);
    }
    return timedOut(group, { ...next, reason: `${source.id} is ${status} with security groups ${groups}: waiting until only ${sg} is listed` }, now);
  }

  // Rebooting: confirmed once it is available again behind only the deny-all group.
  const observed = previous.rebootObserved || status === 'rebooting';
  if (status === 'available' && observed) {
    if (!onlyFence(db, sg)) {
      throw new FenceNotConfirmed(`${source.id} came back from its reboot with security groups ${groups}, not only the deny-all group ${sg}: someone changed them; not promoting`);
    }
    return {
      ...next,
      rebootObserved: true,
      phase: 'confirmed',
      confirmed: true,
      confirmedAt: now,
      endedAt: now,
      reason: `${source.id} fenced: only the deny-all group ${sg}, and rebooted, so no connection from before survives and no new one is accepted`,
    };
  }
  return timedOut(group, { ...next, rebootObserved: observed, reason: `${source.id} is ${status} after RebootDBInstance: waiting for available` }, now);
}

/**
 * Is the old database still fenced? For the re-checks before the promotion and the DNS change: failed
 * or gone, or still behind only the deny-all group the fence put it behind (whatever its status). The
 * database read is the deployed group's source; the fence's result says how it was fenced.
 */
export async function databaseStillFenced(group: Pick<GroupConfig, 'name' | 'replica'>, fence: DatabaseFenceResult, deps: Pick<Deps, 'rds'>): Promise<Writer | 'unreachable'> {
  const source = configuredSource(group, fence);
  const writer = { kind: 'rds' as const, id: source.id, region: source.region };
  if (fence.method === 'attested') return { ...writer, state: fence.status, fenced: false, method: 'attested' };
  const db = await describe(source, deps);
  if (db === 'unreachable') return 'unreachable';
  if (db === 'not-found') return { ...writer, state: 'gone', fenced: true, method: fence.method };
  const status = db.DBInstanceStatus ?? 'unknown';
  if (status === 'failed') return { ...writer, state: status, fenced: true, method: fence.method };
  return { ...writer, state: status, fenced: onlyFence(db, fence.fenceSecurityGroupId ?? ''), method: fence.method };
}

/**
 * The configured source of the group, which the fence's result must name: a result for another
 * database is refused (InvalidInput), so no step acts on a database the group does not name.
 */
function configuredSource(group: Pick<GroupConfig, 'name' | 'replica'>, fence: Pick<DatabaseFenceResult, 'id' | 'region'>): Source {
  const source = sourceDatabase(group.replica);
  if (fence.id !== source.id || fence.region !== source.region) {
    throw new InvalidInput(
      `databaseFence: ${JSON.stringify(fence.id)} in ${JSON.stringify(fence.region)} is not the source database of ${group.name} (${source.id} in ${source.region}); not acting on it`,
    );
  }
  return source;
}

async function discoverSource(group: GroupConfig, state: WorkflowState, deps: Deps): Promise<Source> {
  // The candidate this execution promotes; every candidate replicates from the same source.
  const { dbInstanceIdentifier: id, region } = chosenReplica(group, state);
  let replica: DBInstance | undefined;
  try {
    replica = (await deps.rds(region).send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: id }))).DBInstances?.[0];
  } catch (err) {
    if (awsErrorName(err) === 'DBInstanceNotFoundFault') throw new FenceNotConfirmed(`replica ${id} not found in ${region}: cannot discover its source; not promoting`);
    throw stepErrorFrom(err, `RDS DescribeDBInstances ${id}`, FenceNotConfirmed);
  }
  const discovered = replica?.ReadReplicaSourceDBInstanceIdentifier;
  const configured = group.replica.source;
  if (!discovered) {
    throw new FenceNotConfirmed(`${id} reports no source (ReadReplicaSourceDBInstanceIdentifier): it is not a read replica, so the old database cannot be discovered; not promoting`);
  }
  const found = sourceDatabase({ source: discovered, region });
  const expected = sourceDatabase(group.replica);
  if (found.id !== expected.id || found.region !== expected.region) {
    throw new FenceNotConfirmed(`${id} replicates from ${discovered}, not the configured replica.source ${configured}; not fencing or promoting`);
  }
  return { id: found.id, region: found.region };
}

function checkEngine(source: Source, engine: string): void {
  if (engine.startsWith('aurora')) {
    throw new FenceNotConfirmed(
      `${source.id} is ${engine}: an Aurora instance belongs to a cluster, whose writer this fence does not handle (StopDBInstance and instance security groups do not apply to Aurora clusters); not promoting`,
    );
  }
  if (!SUPPORTED_ENGINES.has(engine)) {
    throw new FenceNotConfirmed(`${source.id} runs ${engine}, which the database fence does not support (supported: ${[...SUPPORTED_ENGINES].join(', ')}); not promoting`);
  }
}

function failed(base: Omit<DatabaseFenceResult, 'status' | 'phase' | 'method' | 'confirmed' | 'reason'> & Partial<DatabaseFenceResult>, now: number): DatabaseFenceResult {
  return {
    ...base,
    status: 'failed',
    phase: 'confirmed',
    method: 'none',
    confirmed: true,
    confirmedAt: now,
    endedAt: now,
    reason: `${base.id} is failed, which RDS cannot recover (DB instance status table): it accepts no connection, fenced without action`,
  };
}

function attested(plan: Plan, group: Pick<GroupConfig, 'name'>, base: Pick<DatabaseFenceResult, 'id' | 'region' | 'dryRun' | 'polls' | 'startedAt'> & Partial<DatabaseFenceResult>, now: number, status: string, what: string): DatabaseFenceResult {
  if (!plan.attestation) {
    if (status === 'unreachable') {
      throw new RegionUnreachable(
        `${what} (connection or request timed out after retries): ${base.id} cannot be fenced or confirmed; not promoting. ` +
          `If it is fenced by other means, a manual failover can say so: failoverctl failover ${group.name} --attest-fenced "<how>"`,
      );
    }
    throw new FenceNotConfirmed(`${what}; not promoting`);
  }
  const { by, reason } = plan.attestation;
  return {
    ...base,
    status,
    phase: 'confirmed',
    method: 'attested',
    confirmed: true,
    endedAt: now,
    reason: `${what}; ${base.id} passed on the attestation of ${by}: ${reason}`,
  } as DatabaseFenceResult;
}

/**
 * Past fence.databaseTimeoutSeconds: fail; otherwise the result as is. Not even an attestation passes a
 * database RDS answers for and that is not behind the deny-all group: it is seen, and not fenced.
 */
function timedOut(group: Pick<GroupConfig, 'fence'>, result: DatabaseFenceResult, now: number): DatabaseFenceResult {
  const limit = group.fence.databaseTimeoutSeconds;
  const waited = (now - result.startedAt) / 1000;
  if (waited < limit) return result;
  throw new FenceNotConfirmed(`the database fence of ${result.id} was not confirmed in ${limit} s (${result.reason}); not promoting`);
}

const groupsOf = (db: DBInstance) => (db.VpcSecurityGroups ?? []).map((g) => g.VpcSecurityGroupId!).filter(Boolean);
// VpcSecurityGroups[].Status is always "active" (API_VpcSecurityGroupMembership), so the list itself is the signal.
const onlyFence = (db: DBInstance, sg: string) => {
  const groups = groupsOf(db);
  return groups.length === 1 && groups[0] === sg;
};

async function describe(source: Source, deps: Pick<Deps, 'rds'>): Promise<DBInstance | 'not-found' | 'unreachable'> {
  try {
    const out = await deps.rds(source.region).send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: source.id }));
    return out.DBInstances?.[0] ?? 'not-found';
  } catch (err) {
    if (awsErrorName(err) === 'DBInstanceNotFoundFault' || awsErrorName(err) === 'DBInstanceNotFound') return 'not-found';
    if (isUnreachable(err)) return 'unreachable';
    throw stepErrorFrom(err, `RDS DescribeDBInstances ${source.id}`, FenceNotConfirmed);
  }
}

async function findFenceGroup(group: Pick<GroupConfig, 'name' | 'replica'>, source: Source, deps: Deps): Promise<string> {
  const name = databaseFenceGroupName(group.name);
  const vpc = group.replica.sourceVpcId;
  try {
    const out = await deps.ec2(source.region).send(
      new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'group-name', Values: [name] }, { Name: 'vpc-id', Values: [vpc] }] }),
    );
    const id = out.SecurityGroups?.[0]?.GroupId;
    if (!id) throw new FenceNotConfirmed(`the deny-all security group ${name} was not found in ${vpc} (${source.region}): deploy the stack's isolation stack; cannot fence ${source.id}; not promoting`);
    return id;
  } catch (err) {
    if (isUnreachable(err)) {
      throw new RegionUnreachable(`EC2 in ${source.region} could not be reached to find ${name}; cannot fence ${source.id}; not promoting`);
    }
    throw stepErrorFrom(err, `EC2 DescribeSecurityGroups ${name}`, FenceNotConfirmed);
  }
}

async function modify(source: Source, sg: string, deps: Deps): Promise<'accepted' | 'refused' | 'unreachable'> {
  try {
    // ApplyImmediately is ignored for this setting (applied "as soon as possible"); set for clarity.
    await deps.rds(source.region).send(new ModifyDBInstanceCommand({ DBInstanceIdentifier: source.id, VpcSecurityGroupIds: [sg], ApplyImmediately: true }));
    return 'accepted';
  } catch (err) {
    if (isUnreachable(err)) return 'unreachable';
    // Not now (modifying, rebooting, backing-up): the next poll asks again.
    if (awsErrorName(err) === 'InvalidDBInstanceStateFault') return 'refused';
    throw stepErrorFrom(err, `RDS ModifyDBInstance ${source.id}`, FenceNotConfirmed);
  }
}

/** RebootDBInstance; the status RDS reports after it, or 'refused' (not `available` yet). */
async function reboot(source: Source, deps: Deps): Promise<string> {
  try {
    const out = await deps.rds(source.region).send(new RebootDBInstanceCommand({ DBInstanceIdentifier: source.id }));
    return out.DBInstance?.DBInstanceStatus ?? 'rebooting';
  } catch (err) {
    if (isUnreachable(err)) return 'unreachable';
    if (awsErrorName(err) === 'InvalidDBInstanceStateFault') return 'refused';
    throw stepErrorFrom(err, `RDS RebootDBInstance ${source.id}`, FenceNotConfirmed);
  }
}

// Pure: a step that imports this module's functions (verify-fences) does not bundle these clients.
const deps: Deps = { now: Date.now, groups: bakedGroups, rds: /* @__PURE__ */ fenceRds(), ec2: /* @__PURE__ */ fenceEc2() };
/** The step's actions, by the name the state machine passes (see lib/infra/workflow-states.ts). */
export const ACTIONS = { start: startDatabaseFence, check: checkDatabaseFence } as const;
export const run = (event: DatabaseFenceEvent, deps: Deps) => ACTIONS[event.action](event.state, deps);
export const handler = /* @__PURE__ */ stepHandler('fence-database', (event: DatabaseFenceEvent) => run(event, deps));
