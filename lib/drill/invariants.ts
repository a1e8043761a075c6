/**
 * The controller's safety rules, checked after every drill scenario from what the simulated account
 * and the store observed, not from what the controller says it did.
 */
import type { Drill } from './drill';

const FENCED = new Set(['stopped', 'terminated', 'gone']);

/** Returns one sentence per violated rule; empty when every rule held. */
export async function checkInvariants(drill: Drill): Promise<string[]> {
  const { account, config } = drill;
  const violations: string[] = [];
  const calls = account.apiCalls.filter((c) => !c.error && !c.dryRun);

  for (const group of config.groups) {
    const instanceId = group.primary.instanceId;
    const replicaId = group.replica.dbInstanceIdentifier;

    // Never two writers: no promotion while the old primary might still be running.
    for (const promote of calls.filter((c) => c.operation === 'PromoteReadReplica' && (c.input as any)?.DBInstanceIdentifier === replicaId)) {
      const stateThen = instanceStateAt(drill, instanceId, promote.at);
      if (!FENCED.has(stateThen) && !isolatedAt(drill, instanceId, promote.at)) {
        violations.push(`PromoteReadReplica ${replicaId} at t+${drill.secondsSinceStart(promote.at)} s while ${instanceId} was ${stateThen}, not confirmed stopped or isolated`);
      }
    }

    // Never two writers, judged on data: once a promotion began, the old database accepts no write.
    const topology = drill.topology.get(group.name)!;
    const replica = account.dbInstance(replicaId, group.replica.region);
    if (replica?.promotionStartedAt !== undefined) {
      const late = account.rds.writesOf(topology.sourceDbId, topology.sourceRegion).filter((w) => w.at >= replica.promotionStartedAt!);
      if (late.length > 0) {
        violations.push(`the old database ${topology.sourceDbId} accepted ${late.length} write(s) after the promotion of ${replicaId} began at t+${drill.secondsSinceStart(replica.promotionStartedAt)} s `
          + `(the first at t+${drill.secondsSinceStart(late[0].at)} s from ${late[0].client})`);
      }
    }
    // And at the end, at most one database accepts writes.
    const writable = databasesOf(drill, group.name).filter((d) => d.acceptsWrites);
    if (writable.length > 1) violations.push(`${writable.length} databases accept writes at the end: ${writable.map((d) => d.id).join(', ')}`);

    // DNS never points at a replica that was not promoted.
    const endpoint = account.dbInstance(replicaId)?.endpointAddress;
    const promotedAt = account.dbInstance(replicaId)?.promotedAt;
    for (const change of calls.filter((c) => c.operation === 'ChangeResourceRecordSets')) {
      const values = ((change.input as any)?.ChangeBatch?.Changes ?? []).flatMap((ch: any) =>
        (ch.ResourceRecordSet?.ResourceRecords ?? []).map((r: any) => r.Value),
      );
      if (endpoint && values.includes(endpoint) && (promotedAt === undefined || promotedAt > change.at)) {
        violations.push(`DNS pointed at ${replicaId} at t+${drill.secondsSinceStart(change.at)} s before it was promoted`);
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

/**
 * The group's databases (the old one and the replica) and whether each accepts writes now: it would
 * take a write, and a client can reach it (a new connection, or one still open).
 */
export function databasesOf(drill: Drill, group: string): Array<{ id: string; region: string; acceptsWrites: boolean }> {
  const config = drill.config.groups.find((g) => g.name === group)!;
  const topology = drill.topology.get(group)!;
  return [
    { id: topology.sourceDbId, region: topology.sourceRegion },
    { id: config.replica.dbInstanceIdentifier, region: config.replica.region },
  ].map((d) => ({
    ...d,
    acceptsWrites: drill.account.rds.acceptsWrites(d.id, d.region)
      && (drill.account.rds.acceptsConnections(d.id, d.region) || drill.account.clients.hasOpenConnection(d.id, d.region)),
  }));
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


