/**
 * Step 6: point the group's records at the new primary, in the group's `dns.mode`.
 *
 * `records` (the default): `prepare` reads each record's current value
 * (kept for the history) and computes the new one; `apply` sends one ChangeResourceRecordSets batch of
 * UPSERTs with the configured short TTLs; `check` polls GetChange until INSYNC. Reading before applying,
 * in separate calls, keeps the old values right even when `apply` is retried.
 *
 * Every name, type, TTL and value comes from the deployed group, and the promoted replica's address from
 * RDS (DescribeDBInstances of the chosen candidate, in its configured region): IAM limits the change
 * to the configured names, types and UPSERT, not to values, so a value from the event could point a
 * name anywhere.
 *
 * `health-check` (no Route 53 API call): the stack made a PRIMARY/SECONDARY failover pair per record,
 * the PRIMARY tied to a health check that follows an alarm on the group's DnsFailedOver metric in the
 * controller's region (lib/infra/health-check-dns.ts). `prepare` asks the zone's authoritative name
 * servers what they answer now; `apply` checks that the replica is promoted and writes the metric
 * (PutMetricData, CloudWatch's data plane); `check` writes it again (a datapoint the alarm missed is
 * not lost) and asks the name servers until they answer the SECONDARY's values. The outcome rests on
 * what the name servers answer, never on a Route 53 API read.
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
import { CloudWatchClient, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { DNS_SWITCH_DIMENSION, DNS_SWITCH_METRIC, DNS_SWITCH_NAMESPACE, type AuthoritativeAnswer } from '../core/dns-switch';
import { authoritativeDataPlane } from '../runtime/dns-data-plane';
import { normalizeDnsName, sameDnsValues, type GroupConfig } from '../core/config';
import { chosenReplica, recordValuesFor, type ReplicaCandidate } from '../core/candidates';
import { deployedGroup } from '../core/deployed-group';
import { bakedGroups } from '../runtime/baked-groups';
import { once, perRegion, type StepDeps } from '../runtime/deps';
import { DnsChangeFailed, InvalidInput, stepErrorFrom } from '../core/errors';
import { stepHandler } from '../runtime/powertools';
import type { DnsChange, DnsResult, WorkflowState } from '../core/workflow-state';
import { describeReplica } from './assess-replica';

export type DnsEvent = { action: 'prepare' | 'apply' | 'check'; state: WorkflowState };

type Deps = Pick<StepDeps, 'now' | 'route53' | 'rds' | 'groups'> & Partial<Pick<StepDeps, 'cloudwatch' | 'dnsDataPlane' | 'controllerRegion'>>;

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

// --- dns.mode "health-check": the data plane only --------------------------------------------------

type HealthCheckDeps = Required<Pick<Deps, 'cloudwatch' | 'dnsDataPlane' | 'controllerRegion'>>;

function healthCheckDeps(deps: Deps): HealthCheckDeps {
  if (!deps.cloudwatch || !deps.dnsDataPlane || !deps.controllerRegion) {
    throw new InvalidInput('dns.mode "health-check" needs CloudWatch, the DNS data plane and the controller\'s region; this deployment of flip-dns has none');
  }
  return { cloudwatch: deps.cloudwatch, dnsDataPlane: deps.dnsDataPlane, controllerRegion: deps.controllerRegion };
}

/** What the zone's name servers answer for each record now. */
async function askNameServers(group: GroupConfig, deps: HealthCheckDeps): Promise<Array<{ record: GroupConfig['dns']['records'][number]; servers: AuthoritativeAnswer[] }>> {
  return Promise.all(group.dns.records.map(async (record) => {
    try {
      return { record, servers: await deps.dnsDataPlane().query(group.dns.zoneName, record.name, record.type) };
    } catch (err) {
      throw new DnsChangeFailed(`cannot ask the name servers of ${group.dns.zoneName} for ${record.type} ${record.name}: ${(err as Error).message}`, { cause: err });
    }
  }));
}

/** The answer most servers give (for the record's `before`). */
function commonAnswer(servers: AuthoritativeAnswer[]): string[] | undefined {
  const answered = servers.filter((s) => !s.error && s.answers.length > 0);
  const counts = new Map<string, { values: string[]; n: number }>();
  for (const s of answered) {
    const key = [...s.answers].sort().join('\n');
    counts.set(key, { values: s.answers, n: (counts.get(key)?.n ?? 0) + 1 });
  }
  return [...counts.values()].sort((a, b) => b.n - a.n)[0]?.values;
}

/**
 * Have the name servers switched? Every server that answered gives the new values for every record,
 * and a majority of the zone's servers answered (one that cannot be asked is not counted as switched).
 */
export function dataPlaneSwitched(changes: DnsChange[], seen: Array<{ servers: AuthoritativeAnswer[] }>): { switched: boolean; reason: string } {
  const lagging: string[] = [];
  const silent: string[] = [];
  let fewest = Infinity;
  let total = 0;
  changes.forEach((c, i) => {
    const servers = seen[i]?.servers ?? [];
    const answered = servers.filter((s) => !s.error);
    total = Math.max(total, servers.length);
    fewest = Math.min(fewest, answered.length);
    for (const s of answered) {
      if (!sameDnsValues(s.answers, c.after)) lagging.push(`${s.server} answers ${c.type} ${c.name} with ${s.answers.join(',') || '(nothing)'}`);
    }
    for (const s of servers.filter((x) => x.error)) silent.push(`${s.server} did not answer for ${c.name} (${s.error})`);
  });
  const majority = total > 0 && fewest > total / 2;
  if (majority && lagging.length === 0) {
    return { switched: true, reason: `${changes.length} record(s) answered with the new values by ${fewest} of ${total} authoritative name servers` };
  }
  const why = [...lagging, ...silent];
  return { switched: false, reason: why.length ? why.slice(0, 4).join('; ') : `only ${Number.isFinite(fewest) ? fewest : 0} of ${total} name servers answered` };
}

async function writeSwitchMetric(group: GroupConfig, deps: HealthCheckDeps, now: number): Promise<void> {
  await deps.cloudwatch(deps.controllerRegion).send(new PutMetricDataCommand({
    Namespace: DNS_SWITCH_NAMESPACE,
    MetricData: [{ MetricName: DNS_SWITCH_METRIC, Dimensions: [{ Name: DNS_SWITCH_DIMENSION, Value: group.name }], Value: 1, Unit: 'Count', Timestamp: new Date(now) }],
  }));
}

async function prepareHealthCheck(state: WorkflowState, group: GroupConfig, deps: Deps): Promise<DnsResult> {
  const hc = healthCheckDeps(deps);
  const chosen = chosenReplica(group, state);
  const startedAt = deps.now();
  const seen = await askNameServers(group, hc);
  const before = new Map<string, DnsChange['before']>(seen.flatMap(({ record, servers }) => {
    const values = commonAnswer(servers);
    return values ? [[`${record.name} ${record.type}`, { ttl: record.ttl, values }] as const] : [];
  }));
  const changes = plannedChanges(group, chosen, undefined, before);
  const dryRun = state.plan.dryRun;
  return {
    startedAt, endedAt: dryRun ? deps.now() : undefined, changes, confirmed: dryRun, dryRun, polls: 0,
    reason: dryRun
      ? `dry run: would write ${DNS_SWITCH_METRIC}=1 for ${group.name} in ${hc.controllerRegion}, failing ${changes.length} record(s) over to their SECONDARY`
      : `asked the name servers of ${group.dns.zoneName} for ${changes.length} record(s) before the switch`,
  };
}

async function applyHealthCheck(state: WorkflowState, group: GroupConfig, deps: Deps): Promise<DnsResult> {
  const hc = healthCheckDeps(deps);
  const previous = state.dns!;
  const chosen = chosenReplica(group, state);
  // The SECONDARY's values were set at deploy time; the switch still waits for a standalone database.
  await endpointOf(group, chosen, deps, { promoted: true });
  const before = new Map((previous.changes ?? []).map((c) => [`${c.name} ${c.type}`, c.before] as const));
  const changes = plannedChanges(group, chosen, undefined, before);
  try {
    await writeSwitchMetric(group, hc, deps.now());
  } catch (err) {
    throw stepErrorFrom(err, `CloudWatch PutMetricData ${DNS_SWITCH_NAMESPACE}/${DNS_SWITCH_METRIC} in ${hc.controllerRegion}`, DnsChangeFailed);
  }
  return {
    ...previous, changes, changeId: `${DNS_SWITCH_NAMESPACE}/${DNS_SWITCH_METRIC} Group=${group.name}`, submittedAt: deps.now(), status: 'METRIC_WRITTEN',
    reason: `${DNS_SWITCH_METRIC}=1 written for ${group.name} in ${hc.controllerRegion}: the alarm, then the health check, fail ${changes.length} record(s) over to their SECONDARY`,
  };
}

async function checkHealthCheck(state: WorkflowState, group: GroupConfig, deps: Deps): Promise<DnsResult> {
  const hc = healthCheckDeps(deps);
  const previous = state.dns!;
  // Again every sixth poll (every 30 s at the default interval): the alarm evaluates the datapoints
  // that arrived in time for its evaluation, so one that arrived late is written again, not lost.
  if (previous.polls % 6 === 5) {
    try {
      await writeSwitchMetric(group, hc, deps.now());
    } catch {
      // The first write was accepted; the name servers decide below.
    }
  }
  const { switched, reason } = dataPlaneSwitched(previous.changes, await askNameServers(group, hc));
  const now = deps.now();
  const polls = previous.polls + 1;
  if (switched) return { ...previous, polls, status: 'ANSWERING', confirmed: true, endedAt: now, reason };
  const waited = (now - (previous.submittedAt ?? previous.startedAt)) / 1000;
  const timeout = group.dns.syncTimeoutSeconds;
  if (waited >= timeout) {
    throw new DnsChangeFailed(`the name servers of ${group.dns.zoneName} still do not answer the SECONDARY ${Math.round(waited)} s after ${DNS_SWITCH_METRIC} was written (timeout ${timeout} s): ${reason}`);
  }
  return { ...previous, polls, status: 'SWITCHING', confirmed: false, reason: `waiting for the health check: ${reason}` };
}

// --- dns.mode "records": the Route 53 API --------------------------------------------------------

export async function prepareDns(state: WorkflowState, deps: Deps): Promise<DnsResult> {
  // The zone, names, types, TTLs and values: the deployed group's; the replica: the deployed candidate chosen.
  const group = deployedGroup(deps.groups(), state.plan);
  if (group.dns.mode === 'health-check') return prepareHealthCheck(state, group, deps);
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
  if (group.dns.mode === 'health-check') return applyHealthCheck(state, group, deps);
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
  const group = deployedGroup(deps.groups(), state.plan);
  if (group.dns.mode === 'health-check') return checkHealthCheck(state, group, deps);
  const timeout = group.dns.syncTimeoutSeconds;
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

// Route 53 is a global service, served from us-east-1. The health-check mode's metric is in the
// function's own region (AWS_REGION, set by Lambda), where the stack made the alarm.
const deps: Deps = {
  now: Date.now,
  groups: bakedGroups,
  route53: once(() => new Route53Client({ region: 'us-east-1', ...CLIENT_CONFIG })),
  rds: perRegion((region) => new RDSClient({ region, ...CLIENT_CONFIG })),
  cloudwatch: perRegion((region) => new CloudWatchClient({ region, ...CLIENT_CONFIG })),
  dnsDataPlane: once(() => authoritativeDataPlane()),
  controllerRegion: process.env.AWS_REGION,
};
/** The step's actions, by the name the state machine passes (see lib/infra/workflow-states.ts). */
export const ACTIONS = { prepare: prepareDns, apply: applyDns, check: checkDns } as const;
export const run = (event: DnsEvent, deps: Deps) => ACTIONS[event.action](event.state, deps);
export const handler = stepHandler('flip-dns', (event: DnsEvent) => run(event, deps));
