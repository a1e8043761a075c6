/**
 * The replicas a group may promote: `replica`, then `additionalReplicas` in config order. Every
 * candidate shares `replica.source` and `replica.maxLagSeconds`. The assess step chooses one
 * (state.assess.chosen); every later step acts on that one, once it is found among the deployed
 * group's candidates, and a state without a choice (an execution recorded by an older version) means
 * `replica`.
 *
 *   replicaCandidates(group).map((c) => c.dbInstanceIdentifier) // ['orders-replica', 'orders-replica-east']
 */
import type { DnsRecordConfig, GroupConfig } from './config';
import { InvalidInput } from './errors';
import type { WorkflowState } from './workflow-state';

export interface ReplicaCandidate {
  dbInstanceIdentifier: string;
  region: string;
  source?: string;
  maxLagSeconds: number;
}

export function replicaCandidates(group: Pick<GroupConfig, 'replica'> & Partial<Pick<GroupConfig, 'additionalReplicas'>>): ReplicaCandidate[] {
  const { replica } = group;
  const first: ReplicaCandidate = {
    dbInstanceIdentifier: replica.dbInstanceIdentifier,
    region: replica.region,
    source: replica.source,
    maxLagSeconds: replica.maxLagSeconds,
  };
  return [
    first,
    ...(group.additionalReplicas ?? []).map((r) => ({ dbInstanceIdentifier: r.dbInstanceIdentifier, region: r.region, source: replica.source, maxLagSeconds: replica.maxLagSeconds })),
  ];
}

/**
 * The candidate this execution promotes (or would): the assess step's choice, else `replica`. The choice
 * comes from the event, so it is only a name: what is acted on is the deployed group's candidate of that
 * name and region, and a choice that is none of them is refused (InvalidInput).
 */
export function chosenReplica(group: Pick<GroupConfig, 'name' | 'replica'> & Partial<Pick<GroupConfig, 'additionalReplicas'>>, state: Pick<WorkflowState, 'assess'>): ReplicaCandidate {
  const candidates = replicaCandidates(group);
  const chosen = state.assess?.chosen;
  if (!chosen) return candidates[0];
  const found = candidates.find((c) => c.dbInstanceIdentifier === chosen.id && c.region === chosen.region);
  if (!found) {
    throw new InvalidInput(
      `assess.chosen: ${JSON.stringify(chosen.id)} in ${JSON.stringify(chosen.region)} is not a candidate replica of ${group.name} ` +
        `(${candidates.map((c) => `${c.dbInstanceIdentifier} in ${c.region}`).join(', ')}); not acting on it`,
    );
  }
  return found;
}

/** The region of a candidate named by identifier (a history item or group state names it so). */
export function candidateRegion(group: Pick<GroupConfig, 'replica'> & Partial<Pick<GroupConfig, 'additionalReplicas'>>, id: string): string | undefined {
  return replicaCandidates(group).find((c) => c.dbInstanceIdentifier === id)?.region;
}

/** A record's fixed values when `replicaId` is promoted: its own entry in valuesByReplica, else `values`. */
export function recordValuesFor(record: DnsRecordConfig, replicaId: string): string[] | undefined {
  return record.valuesByReplica?.[replicaId] ?? record.values;
}
