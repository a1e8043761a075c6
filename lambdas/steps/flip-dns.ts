/**
 * Step 6: point the group's records at the new primary. `prepare` reads each record's current value
 * (kept for the history) and computes the new one; `apply` sends one ChangeResourceRecordSets batch of
 * UPSERTs with the configured short TTLs; `check` polls GetChange until INSYNC. Reading before applying,
 * in separate calls, keeps the old values right even when `apply` is retried.
 */
import {
  ChangeResourceRecordSetsCommand,
  GetChangeCommand,
  ListResourceRecordSetsCommand,
  Route53Client,
  type RRType,
} from '@aws-sdk/client-route-53';
import { normalizeDnsName } from '../core/config';
import { chosenReplica, recordValuesFor } from '../core/candidates';
import { once, type StepDeps } from '../runtime/deps';
import { DnsChangeFailed, stepErrorFrom } from '../core/errors';
import { stepHandler } from '../runtime/powertools';
import type { DnsChange, DnsResult, WorkflowState } from '../core/workflow-state';

export type DnsEvent = { action: 'prepare' | 'apply' | 'check'; state: WorkflowState };

type Deps = Pick<StepDeps, 'now' | 'route53'>;

/**
 * Which records change, and to what: a pure function of the config and the promoted replica (the chosen
 * candidate): its endpoint for `target: replicaEndpoint`, its own `valuesByReplica` entry, else `values`.
 */
export function plannedChanges(state: WorkflowState, before: Map<string, DnsChange['before']>): DnsChange[] {
  const endpoint = state.promote?.endpointAddress ?? state.assess?.replica?.endpointAddress;
  const chosen = chosenReplica(state).dbInstanceIdentifier;
  return state.plan.group.dns.records.map((record) => {
    const after = recordValuesFor(record, chosen) ?? (endpoint ? [endpoint] : []);
    if (after.length === 0) {
      throw new DnsChangeFailed(`no endpoint address known for ${chosen}; cannot point ${record.name} at it`);
    }
    return { name: record.name, type: record.type, ttl: record.ttl, before: before.get(`${record.name} ${record.type}`) ?? null, after };
  });
}

/** Route 53 lists characters other than a-z, 0-9, - and _ as octal escapes: a wildcard `*` comes back as `\052`. */
const listedName = (name: string) =>
  normalizeDnsName(name.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8))));

export async function prepareDns(state: WorkflowState, deps: Deps): Promise<DnsResult> {
  const { dns } = state.plan.group;
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
  const changes = plannedChanges(state, before);
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

export async function applyDns(state: WorkflowState, deps: Deps): Promise<DnsResult> {
  const previous = state.dns!;
  const { hostedZoneId } = state.plan.group.dns;
  try {
    const out = await deps.route53().send(
      new ChangeResourceRecordSetsCommand({
        HostedZoneId: hostedZoneId,
        ChangeBatch: {
          Comment: `failover-controller ${state.plan.executionName}: ${state.plan.group.name}`.slice(0, 256),
          Changes: previous.changes.map((c) => ({
            Action: 'UPSERT',
            ResourceRecordSet: { Name: c.name, Type: c.type as RRType, TTL: c.ttl, ResourceRecords: c.after.map((Value) => ({ Value })) },
          })),
        },
      }),
    );
    const changeId = out.ChangeInfo?.Id ?? '';
    return { ...previous, changeId, submittedAt: deps.now(), status: out.ChangeInfo?.Status, reason: `UPSERT of ${previous.changes.length} record(s) submitted as ${changeId}` };
  } catch (err) {
    throw stepErrorFrom(err, `Route 53 ChangeResourceRecordSets in ${hostedZoneId}`, DnsChangeFailed);
  }
}

export async function checkDns(state: WorkflowState, deps: Deps): Promise<DnsResult> {
  const previous = state.dns!;
  const timeout = state.plan.group.dns.syncTimeoutSeconds;
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
const deps: Deps = { now: Date.now, route53: once(() => new Route53Client({ region: 'us-east-1' })) };
/** The step's actions, by the name the state machine passes (see lib/infra/workflow-states.ts). */
export const ACTIONS = { prepare: prepareDns, apply: applyDns, check: checkDns } as const;
export const run = (event: DnsEvent, deps: Deps) => ACTIONS[event.action](event.state, deps);
export const handler = stepHandler('flip-dns', (event: DnsEvent) => run(event, deps));
