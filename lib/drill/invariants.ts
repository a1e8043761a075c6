/**
 * The controller's safety rules, checked after every drill scenario from what the simulated account
 * and the store observed, not from what the controller says it did.
 */
import type { Drill } from './drill';
import { databasesOf } from './truth';

const FENCED = new Set(['stopped', 'terminated', 'gone']);

/** Returns one sentence per violated rule; empty when every rule held. */
export async function checkInvariants(drill: Drill): Promise<string[]> {
  const { account, config } = drill;
  const violations: string[] = [];
  const calls = account.apiCalls.filter((c) => !c.error && !c.dryRun);

  for (const group of config.groups) {
    const instanceIds = [group.primary.instanceId, ...group.primary.additionalInstanceIds];
    const candidateIds = drill.candidates(group.name).map((c) => c.dbInstanceIdentifier);

    // Never two writers: no promotion while an instance of the group might still be running. (An
    // attested execution is the operator's word for a region the controller cannot see.)
    for (const promote of calls.filter((c) => c.operation === 'PromoteReadReplica' && candidateIds.includes((c.input as any)?.DBInstanceIdentifier))) {
      for (const instanceId of instanceIds) {
        const stateThen = instanceStateAt(drill, instanceId, promote.at);
        if (!FENCED.has(stateThen) && !isolatedAt(drill, instanceId, promote.at) && !attested(drill)) {
          violations.push(`PromoteReadReplica ${(promote.input as any).DBInstanceIdentifier} at t+${drill.secondsSinceStart(promote.at)} s while ${instanceId} was ${stateThen}, not confirmed stopped or isolated`);
        }
      }
    }

    // Never two writers, judged on data: once a promotion began, the old database accepts no write.
    const topology = drill.topology.get(group.name)!;
    const promoted = drill.candidates(group.name).map((c) => account.dbInstance(c.dbInstanceIdentifier, c.region)!).filter((d) => d.promotionStartedAt !== undefined);
    if (promoted.length > 1) violations.push(`${promoted.length} replicas were promoted: ${promoted.map((d) => d.id).join(', ')}`);
    for (const replica of promoted) {
      const late = account.rds.writesOf(topology.sourceDbId, topology.sourceRegion).filter((w) => w.at >= replica.promotionStartedAt!);
      if (late.length > 0) {
        violations.push(`the old database ${topology.sourceDbId} accepted ${late.length} write(s) after the promotion of ${replica.id} began at t+${drill.secondsSinceStart(replica.promotionStartedAt!)} s `
          + `(the first at t+${drill.secondsSinceStart(late[0].at)} s from ${late[0].client})`);
      }
    }
    // And once the controller promoted one, at most one database accepts writes at the end.
    const writable = databasesOf(drill, group.name).filter((d) => d.acceptsWrites);
    if (promoted.length > 0 && writable.length > 1) violations.push(`${writable.length} databases accept writes at the end: ${writable.map((d) => d.id).join(', ')}`);

    // DNS never points at a replica that was not promoted.
    for (const candidate of drill.candidates(group.name)) {
      const db = account.dbInstance(candidate.dbInstanceIdentifier, candidate.region)!;
      for (const change of calls.filter((c) => c.operation === 'ChangeResourceRecordSets')) {
        const values = ((change.input as any)?.ChangeBatch?.Changes ?? []).flatMap((ch: any) =>
          (ch.ResourceRecordSet?.ResourceRecords ?? []).map((r: any) => r.Value),
        );
        if (values.includes(db.endpointAddress) && (db.promotedAt === undefined || db.promotedAt > change.at)) {
          violations.push(`DNS pointed at ${db.id} at t+${drill.secondsSinceStart(change.at)} s before it was promoted`);
        }
      }
    }

    // No lock left held by a finished execution.
    const lock = await drill.store.getLock(group.name);
    if (lock && drill.executions.some((e) => e.executionArn === lock.holder)) {
      violations.push(`the lock of ${group.name} is still held by finished execution ${lock.holder}`);
    }
  }

  // Every execution that got past input validation has exactly one history item, with an outcome and timings.
  const history = await drill.store.listHistory({ limit: 1000 });
  for (const execution of drill.executions) {
    const items = history.filter((h) => h.executionArn === execution.executionArn);
    if (execution.error === 'InvalidInput') {
      if (items.length > 0) violations.push(`${execution.executionName} had invalid input but left a history item`);
      continue;
    }
    if (execution.error === 'RecordNotStored') {
      // The store refused the record: it must have gone out in a notification instead, complete.
      const sent = drill.account.published.some((m) => m.message.includes(`"executionArn":"${execution.executionArn}"`) && m.message.includes('COULD NOT BE STORED'));
      if (items.length > 0 || !sent) violations.push(`${execution.executionName}'s record was neither stored nor sent in a notification`);
      continue;
    }
    if (items.length !== 1) {
      violations.push(`${execution.executionName} has ${items.length} history items, not exactly one`);
      continue;
    }
    const item = items[0];
    if (!item.outcome || !item.startedAt || !item.endedAt || item.steps.some((s) => !s.startedAt)) {
      violations.push(`${execution.executionName}'s history item lacks an outcome or timings`);
    }
  }
  return violations;
}

/** Did an execution carry an operator's attestation that the writers were fenced by other means? */
function attested(drill: Drill): boolean {
  return drill.executions.some((e) => (e.input as { attestation?: unknown } | undefined)?.attestation !== undefined);
}

/** The instance's state at a simulated time, from the account's transitions ('gone' if it never existed). */
function instanceStateAt(drill: Drill, instanceId: string, at: number): string {
  const transitions = drill.account.events.filter((e) => e.resource === instanceId);
  const last = transitions.filter((e) => e.at <= at).at(-1);
  if (last) return last.to;
  return transitions[0]?.from ?? drill.account.instance(instanceId)?.state ?? 'gone';
}

/** Were all the instance's network interfaces in an isolation security group (only) at that time? */
function isolatedAt(drill: Drill, instanceId: string, at: number): boolean {
  const interfaces = drill.account.networkInterfacesOf(instanceId);
  return (
    interfaces.length > 0 &&
    interfaces.every(({ id }) => {
      const last = drill.account.events.filter((e) => e.resource === id && e.at <= at).at(-1);
      return last !== undefined && drill.isolationGroupIds.has(last.to);
    })
  );
}


