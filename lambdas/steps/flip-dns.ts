/**
 * Step 6: point the group's records at the new primary. `prepare` reads each record's current value
 * (kept for the history) and computes the new one; `apply` sends one ChangeResourceRecordSets batch of
 * UPSERTs with the configured short TTLs; `check` polls GetChange until INSYNC. Reading before applying,
 * in separate calls, keeps the old values right even when `apply` is retried.
 *
 * Every name, type, TTL and value comes from the deployed group, and the promoted replica's address from
 * RDS (DescribeDBInstances of the chosen candidate, in its configured region): IAM limits the change
 * to the configured names, types and UPSERT, not to values, so a value from the event could point a
 * name anywhere.
 */
import { CLIENT_CONFIG } from '../runtime/client-config';
import {
  ChangeResourceRecordSetsCommand,
  GetChangeCommand,
  ListResourceRecordSetsCommand,
  Route53Client,
  type RRType,
} from '@aws-sdk/client-route-53';
import { RDSClient } from '@aws-sdk/client-rds';
import { normalizeDnsName, type GroupConfig } from '../core/config';
import { chosenReplica, recordValuesFor, type ReplicaCandidate } from '../core/candidates';
import { deployedGroup } from '../core/deployed-group';
import { bakedGroups } from '../runtime/baked-groups';
import { once, perRegion, type StepDeps } from '../runtime/deps';
import { DnsChangeFailed, InvalidInput, stepErrorFrom } from '../core/errors';
import { stepHandler } from '../runtime/powertools';
import type { DnsChange, DnsResult, WorkflowState } from '../core/workflow-state';
import { describeReplica } from './assess-replica';

export type DnsEvent = { action: 'prepare' | 'apply' | 'check'; state: WorkflowState };

type Deps = Pick<StepDeps, 'now' | 'route53' | 'rds' | 'groups'>;

/**
 * Which records change, and to what: a pure function of the deployed group's records and the promoted
 * replica (the chosen candidate): its endpoint for `target: replicaEndpoint`, its own `valuesByReplica`
 * entry, else `values`. `before` is what prepare read, for the record only.
 */
export function plannedChanges(
  group: Pick<GroupConfig, 'dns'>,
  chosen: Pick<ReplicaCandidate, 'dbInstanceIdentifier'>,
  endpoint: string | undefined,
  before: Map<string, DnsChange['before']>,
): DnsChange[] {
  return group.dns.records.map((record) => {
    const after = recordValuesFor(record, chosen.dbInstanceIdentifier) ?? (endpoint ? [endpoint] : []);
    if (after.length === 0) {
      throw new DnsChangeFailed(`no endpoint address known for ${chosen.dbInstanceIdentifier}; cannot point ${record.name} at it`);
    }
    return { name: record.name, type: record.type, ttl: record.ttl, before: before.get(`${record.name} ${record.type}`) ?? null, after };
  });
}

/**
 * The chosen candidate's endpoint address as RDS reports it now, in the candidate's configured region:
 * never taken from the event, so no forged address reaches DNS. With `promoted`, the candidate must be
 * standalone (promoted) too: DNS never points at a database that still replicates. Read only when a
 * record needs the endpoint, or when `promoted` is asked.
 */
async function endpointOf(group: GroupConfig, chosen: ReplicaCandidate, deps: Pick<Deps, 'rds'>, options: { promoted: boolean }): Promise<string | undefined> {
  const needed = group.dns.records.some((r) => recordValuesFor(r, chosen.dbInstanceIdentifier) === undefined);
  if (!needed && !options.promoted) return undefined;
  const replica = await describeReplica(chosen, deps);
  const id = `${chosen.dbInstanceIdentifier} (${chosen.region})`;
  if (!replica) throw new DnsChangeFailed(`${id} does not exist: not pointing DNS at it`);
  if (options.promoted && replica.isReplica) {
    throw new DnsChangeFailed(`${id} is still a read replica of ${replica.sourceId}: not pointing DNS at a database that has not been promoted`);
  }
  return replica.endpointAddress;
}

/** Route 53 lists characters other than a-z, 0-9, - and _ as octal escapes: a wildcard `*` comes back as `\052`. */
const listedName = (name: string) =>
  normalizeDnsName(name.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8))));

export async function prepareDns(state: WorkflowState, deps: Deps): Promise<DnsResult> {
  // The zone, names, types, TTLs and values: the deployed group's; the replica: the deployed candidate chosen.
  const group = deployedGroup(deps.groups(), state.plan);
  const chosen = chosenReplica(group, state);
  const { dns } = group;
  const startedAt = deps.now();
  const before = new Map<string, DnsChange['before']>();
  for (const record of dns.records) {
    try {
      const out = await deps.route53().send(
        new ListResourceRecordSetsCommand({ HostedZoneId: dns.hostedZoneId, StartRecordName: record.name, StartRecordType: record.type as RRType, MaxItems: 1 }),
      );
      const found = out.ResourceRecordSets?.[0];
      if (found && listedName(found.Name ?? '') === record.name && found.Type === record.type) {
        // An UPSERT of a simple record cannot replace these; better to stop here than to record a wrong "before".
        if (found.AliasTarget || found.SetIdentifier) {
          throw new DnsChangeFailed(
            `${record.type} ${record.name} is ${found.AliasTarget ? 'an alias record' : `a routing-policy record (set ${found.SetIdentifier})`}; the controller flips simple records only`,
          );
        }
        before.set(`${record.name} ${record.type}`, { ttl: found.TTL ?? 0, values: (found.ResourceRecords ?? []).map((r) => r.Value ?? '') });
      }
    } catch (err) {
      throw stepErrorFrom(err, `Route 53 ListResourceRecordSets ${record.name}`, DnsChangeFailed);
    }
  }
  const changes = plannedChanges(group, chosen, await endpointOf(group, chosen, deps, { promoted: false }), before);
  const dryRun = state.plan.dryRun;
  return {
    startedAt,
    endedAt: dryRun ? deps.now() : undefined,
    changes,
    confirmed: dryRun,
    dryRun,
    polls: 0,
    reason: dryRun
      ? `dry run: would UPSERT ${changes.length} record(s) in ${dns.hostedZoneId}`
      : `read ${changes.length} record(s) in ${dns.hostedZoneId} before the change`,
  };
}

/**
 * The change itself, computed again here from the deployed group and RDS: the changes `prepare` put in
 * the state are only kept for their `before` values (what the record shows was there).
 */
export async function applyDns(state: WorkflowState, deps: Deps): Promise<DnsResult> {
  const previous = state.dns;
  if (!previous) throw new InvalidInput('dns: the records were not read (ReadDnsRecords) before the change; not changing them');
  const group = deployedGroup(deps.groups(), state.plan);
  const chosen = chosenReplica(group, state);
  const { hostedZoneId } = group.dns;
  const before = new Map((previous.changes ?? []).map((c) => [`${c.name} ${c.type}`, c.before] as const));
  const changes = plannedChanges(group, chosen, await endpointOf(group, chosen, deps, { promoted: true }), before);
  try {
    const out = await deps.route53().send(
      new ChangeResourceRecordSetsCommand({
        HostedZoneId: hostedZoneId,
        ChangeBatch: {
          Comment: `failover-controller ${state.plan.executionName}: ${group.name}`.slice(0, 256),
          Changes: changes.map((c) => ({
            Action: 'UPSERT',
            ResourceRecordSet: { Name: c.name, Type: c.type as RRType, TTL: c.ttl, ResourceRecords: c.after.map((Value) => ({ Value })) },
          })),
        },
      }),
    );
    const changeId = out.ChangeInfo?.Id ?? '';
    return { ...previous, changes, changeId, submittedAt: deps.now(), status: out.ChangeInfo?.Status, reason: `UPSERT of ${changes.length} record(s) submitted as ${changeId}` };
  } catch (err) {
    throw stepErrorFrom(err, `Route 53 ChangeResourceRecordSets in ${hostedZoneId}`, DnsChangeFailed);
  }
}

export async function checkDns(state: WorkflowState, deps: Deps): Promise<DnsResult> {
  const previous = state.dns!;
  const timeout = deployedGroup(deps.groups(), state.plan).dns.syncTimeoutSeconds;
  let status: string | undefined;
  try {
    const out = await deps.route53().send(new GetChangeCommand({ Id: previous.changeId }));
    status = out.ChangeInfo?.Status;
  } catch (err) {
    throw stepErrorFrom(err, `Route 53 GetChange ${previous.changeId}`, DnsChangeFailed);
  }
  const now = deps.now();
  const polls = previous.polls + 1;
  if (status === 'INSYNC') {
    return { ...previous, polls, status, confirmed: true, endedAt: now, reason: `${previous.changes.length} record(s) INSYNC` };
  }
  const waited = (now - (previous.submittedAt ?? previous.startedAt)) / 1000;
  if (waited >= timeout) {
    throw new DnsChangeFailed(`change ${previous.changeId} still ${status} ${Math.round(waited)} s after it was submitted (timeout ${timeout} s)`);
  }
  return { ...previous, polls, status, confirmed: false, reason: `change ${previous.changeId} is ${status}` };
}

// Route 53 is a global service, served from us-east-1.
const deps: Deps = {
  now: Date.now,
  groups: bakedGroups,
  route53: once(() => new Route53Client({ region: 'us-east-1', ...CLIENT_CONFIG })),
  rds: perRegion((region) => new RDSClient({ region, ...CLIENT_CONFIG })),
};
/** The step's actions, by the name the state machine passes (see lib/infra/workflow-states.ts). */
export const ACTIONS = { prepare: prepareDns, apply: applyDns, check: checkDns } as const;
export const run = (event: DnsEvent, deps: Deps) => ACTIONS[event.action](event.state, deps);
export const handler = stepHandler('flip-dns', (event: DnsEvent) => run(event, deps));
