/**
 * Step 4c: re-verify every fence from AWS's answers, immediately before PromoteReadReplica (`promotion`)
 * and again before the DNS change (`dns`). Between "stopped" and the promotion a person, a script or an
 * Auto Scaling group can start an instance again, and someone can put the old database's security
 * groups back; nothing else re-reads them.
 *
 * - An EC2 writer found running, pending or (in a failover) still stopping is stopped again, and must be
 *   confirmed stopped within fence.timeoutSeconds of this check, else FenceNotConfirmed; the state
 *   machine waits and checks again meanwhile, and never promotes while one is unconfirmed.
 * - An instance that is only isolated (fence.onUnconfirmed "isolate") passes only when its interfaces are
 *   still in the isolation group and the database fence rebooted the old database after the isolation:
 *   isolation blocks new connections, the reboot closed the established ones, so it cannot write.
 * - The old database must still be behind only the deny-all group (or failed, or gone): otherwise
 *   FenceNotConfirmed at once (its connections could have been re-established).
 * - A region that cannot be reached fails (RegionUnreachable) unless the operator attested.
 */
import type { StepDeps } from '../runtime/deps';
import { bakedGroups } from '../runtime/baked-groups';
import { fenceEc2, fenceRds } from '../runtime/fence-clients';
import { deployedGroup } from '../core/deployed-group';
import { FenceNotConfirmed, RegionUnreachable } from '../core/errors';
import { stepHandler } from '../runtime/powertools';
import type { VerifyResult, WorkflowState } from '../core/workflow-state';
import { databaseWriter, fencedInstances, instanceWriter } from '../core/writers';
import { observe, restopIfNeeded } from './fence-primary';
import { databaseStillFenced } from './fence-database';

export type VerifyEvent = { action: 'promotion' | 'dns'; state: WorkflowState };

type Deps = Pick<StepDeps, 'now' | 'ec2' | 'rds' | 'groups'>;

const NEXT: Record<VerifyResult['stage'], string> = { promotion: 'not promoting', dns: 'not changing DNS' };

export async function verifyFences(stage: VerifyResult['stage'], state: WorkflowState, deps: Deps): Promise<VerifyResult> {
  const { plan } = state;
  // The deployed group's writers and source database; the fences' results say what was found and done.
  const group = deployedGroup(deps.groups(), plan);
  const now = deps.now();
  const same = state.verify?.stage === stage ? state.verify : undefined;
  const previous = [
    ...(state.verify?.previous ?? []),
    ...(state.verify && !same ? [{ stage: state.verify.stage, confirmed: state.verify.confirmed, reason: state.verify.reason, startedAt: state.verify.startedAt, endedAt: state.verify.endedAt }] : []),
  ];
  const base = { stage, startedAt: same?.startedAt ?? now, polls: (same?.polls ?? -1) + 1, ...(previous.length > 0 ? { previous } : {}) };
  const instances = fencedInstances(group, state.fence);
  const database = state.databaseFence;

  if (plan.dryRun) {
    const writers = [...instances.map((i) => instanceWriter(group, i)), ...(database ? [databaseWriter(database)] : [])];
    return { ...base, confirmed: true, endedAt: now, writers, restopped: [], reason: `dry run: would re-check ${writers.length} writer(s) before the ${stage === 'promotion' ? 'promotion' : 'DNS change'}` };
  }
  if (!database) throw new FenceNotConfirmed(`the old database was never fenced; ${NEXT[stage]}`);

  const unreachable = (what: string): never => {
    throw new RegionUnreachable(`${what} could not be reached to re-check the fences (connection or request timed out after retries); ${NEXT[stage]}`);
  };
  const attestedBy = plan.attestation ? `passed on the attestation of ${plan.attestation.by}` : undefined;

  // The database first: the isolation of an instance is judged by it.
  let db = await databaseStillFenced(group, database, deps);
  if (db === 'unreachable') {
    if (!attestedBy) unreachable(`RDS in ${database.region}`);
    db = { ...databaseWriter(database), state: 'unreachable', fenced: false, method: 'attested' };
  }
  if (!db.fenced && db.method !== 'attested') {
    throw new FenceNotConfirmed(`${database.id} is no longer fenced: it is ${db.state} with security groups other than only the deny-all group ${database.fenceSecurityGroupId}; ${NEXT[stage]}`);
  }

  const restopped: string[] = [];
  const problems: string[] = [];
  for (const [n, i] of instances.entries()) {
    if (i.method === 'attested') continue;
    const seen = await observe(i.id, group.primary.region, deps);
    if (seen === 'unreachable') {
      if (!attestedBy) unreachable(`EC2 in ${group.primary.region}`);
      instances[n] = { ...i, state: 'unreachable', fenced: false, method: 'attested', reason: `EC2 could not be reached; ${attestedBy}` };
      continue;
    }
    if (i.isolatedAt !== undefined && !['stopped', 'terminated', 'not-found', 'running', 'pending'].includes(seen.state)) {
      const sg = i.isolation?.securityGroupId;
      const stillIsolated = seen.interfaces.length > 0 && seen.interfaces.every((eni) => eni.Groups?.length === 1 && eni.Groups[0].GroupId === sg);
      const cut = database.method === 'none' || db.state === 'gone' || database.method === 'attested' || (database.confirmedAt !== undefined && database.confirmedAt >= i.isolatedAt);
      if (!stillIsolated) problems.push(`${i.id} is ${seen.state} and no longer only in the isolation group ${sg}`);
      else if (!cut) problems.push(`${i.id} is only isolated (${seen.state}), and the old database was not rebooted after the isolation, so its established connections may remain`);
      instances[n] = { ...i, state: seen.state };
      continue;
    }
    const next = await restopIfNeeded({ ...i, isolatedAt: undefined }, seen, plan, group, deps);
    if (next === 'unreachable') {
      if (!attestedBy) unreachable(`EC2 in ${group.primary.region}`);
      continue;
    }
    if (next.stops > i.stops) restopped.push(i.id);
    instances[n] = { ...next, ...(i.isolatedAt !== undefined && !next.fenced ? { isolatedAt: i.isolatedAt } : {}) };
  }
  if (problems.length > 0) throw new FenceNotConfirmed(`${problems.join('; ')}; ${NEXT[stage]}`);

  const writers = [...instances.map((i) => instanceWriter(group, i)), db];
  const open = instances.filter((i) => !i.fenced && i.method !== 'attested' && i.isolatedAt === undefined);
  const allRestopped = [...new Set([...(same?.restopped ?? []), ...restopped])];
  if (open.length === 0) {
    const again = allRestopped.length > 0 ? `; stopped again: ${allRestopped.join(', ')}` : '';
    const attested = writers.filter((w) => w.method === 'attested');
    const held = writers.filter((w) => w.method !== 'attested');
    const before = stage === 'promotion' ? 'promotion' : 'DNS change';
    const reason =
      attested.length === 0
        ? `every fence holds before the ${before}: ${writers.map((w) => `${w.id} ${w.state}`).join(', ')}${again}`
        : `before the ${before}: ${held.length ? `${held.map((w) => `${w.id} ${w.state}`).join(', ')} fenced; ` : ''}NOT confirmed, passed on the attestation of ${plan.attestation?.by}: ${attested.map((w) => `${w.id} (${w.state})`).join(', ')}${again}`;
    return { ...base, confirmed: true, endedAt: now, writers, restopped: allRestopped, reason };
  }
  const limit = group.fence.timeoutSeconds;
  const waited = (now - base.startedAt) / 1000;
  const what = open.map((i) => `${i.id} ${i.state}`).join(', ');
  if (waited >= limit) {
    throw new FenceNotConfirmed(`${what}: found unfenced before the ${stage === 'promotion' ? 'promotion' : 'DNS change'} and not confirmed stopped within ${limit} s of stopping it again; ${NEXT[stage]}`);
  }
  return { ...base, confirmed: false, writers, restopped: allRestopped, reason: `found unfenced, stopped again, waiting: ${what}` };
}

// `$.fence` stays what the fence step found; the re-checks keep their own result in `$.verify`.
const deps: Deps = { now: Date.now, groups: bakedGroups, ec2: fenceEc2(), rds: fenceRds() };
/** The step's actions, by the name the state machine passes (see lib/infra/workflow-states.ts). */
export const ACTIONS = {
  promotion: (state: WorkflowState, d: Deps) => verifyFences('promotion', state, d),
  dns: (state: WorkflowState, d: Deps) => verifyFences('dns', state, d),
} as const;
export const run = (event: VerifyEvent, deps: Deps) => ACTIONS[event.action](event.state, deps);
export const handler = stepHandler('verify-fences', (event: VerifyEvent) => run(event, deps));
