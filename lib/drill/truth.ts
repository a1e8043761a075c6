/**
 * What the simulated account says happened, whatever the controller recorded: which databases would
 * take a write, what the clients wrote where, and how much acknowledged data the promoted replica
 * lacks. The invariant checker, the report and the scenarios judge the controller by these.
 */
import { replicaCandidates } from '../../lambdas/core/candidates';
import type { Drill } from './drill';

export interface WriterTruth { kind: 'ec2' | 'rds'; id: string; region: string; state: string; fenced: boolean }

/**
 * Every writer of the group as the account holds it: each EC2 instance (fenced when stopped,
 * terminated, gone or isolated) and the old database (fenced when it would take no client's write).
 */
export function writersOf(drill: Drill, group: string): WriterTruth[] {
  const config = drill.config.groups.find((g) => g.name === group)!;
  const topology = drill.topology.get(group)!;
  const { account } = drill;
  const instances = [config.primary.instanceId, ...config.primary.additionalInstanceIds].map((id) => {
    const state = account.instance(id)?.state ?? 'gone';
    return { kind: 'ec2' as const, id, region: config.primary.region, state, fenced: ['stopped', 'terminated', 'gone'].includes(state) || drill.isolated(id) };
  });
  const old = databasesOf(drill, group)[0];
  const status = account.dbInstance(topology.sourceDbId, topology.sourceRegion)?.status ?? 'gone';
  return [...instances, { kind: 'rds', id: old.id, region: old.region, state: status, fenced: !old.acceptsWrites }];
}

export interface ClientWrites { attempted: number; acceptedByOld: number; acceptedByNew: number; acceptedByOldAfterPromotionStarted: number }

/**
 * The group's databases (the old one and the replica) and whether each accepts writes now: it would
 * take a write, and a client can reach it (a new connection, or one still open).
 */
export function databasesOf(drill: Drill, group: string): Array<{ id: string; region: string; acceptsWrites: boolean }> {
  const config = drill.config.groups.find((g) => g.name === group)!;
  const topology = drill.topology.get(group)!;
  return [
    { id: topology.sourceDbId, region: topology.sourceRegion },
    ...replicaCandidates(config).map((c) => ({ id: c.dbInstanceIdentifier, region: c.region })),
  ].map((d) => ({
    ...d,
    acceptsWrites: drill.account.rds.acceptsWrites(d.id, d.region)
      && (drill.account.rds.acceptsConnections(d.id, d.region) || drill.account.clients.hasOpenConnection(d.id, d.region)),
  }));
}

export function clientWritesOf(drill: Drill, group: string): ClientWrites {
  const config = drill.config.groups.find((g) => g.name === group)!;
  const topology = drill.topology.get(group)!;
  const { rds } = drill.account;
  const replica = drill.promotedCandidate(group) ?? drill.account.dbInstance(config.replica.dbInstanceIdentifier, config.replica.region);
  const oldWrites = rds.writesOf(topology.sourceDbId, topology.sourceRegion);
  return {
    attempted: drill.account.clients.attempts.length,
    acceptedByOld: oldWrites.length,
    acceptedByNew: replica ? rds.writesOf(replica.id, replica.region).length : 0,
    acceptedByOldAfterPromotionStarted: replica?.promotionStartedAt === undefined ? 0 : oldWrites.filter((w) => w.at >= replica.promotionStartedAt!).length,
  };
}

/**
 * The real loss, from the simulated writes: how far past what the promoted replica had when its
 * promotion began the old database went on acknowledging writes (0 when it has them all); null when
 * nothing was promoted.
 */
export function actualLossSeconds(drill: Drill, group: string): number | null {
  const topology = drill.topology.get(group)!;
  const replica = drill.promotedCandidate(group);
  if (replica?.promotionStartedAt === undefined) return null;
  const position = drill.account.rds.appliedPosition(replica.id, replica.promotionStartedAt, replica.region)!;
  const lost = drill.account.rds.writesOf(topology.sourceDbId, topology.sourceRegion).filter((w) => w.at > position);
  return lost.length === 0 ? 0 : Math.round((lost.at(-1)!.at - position) / 100) / 10;
}

