/**
 * Readiness: would a failover of this group work if the primary died now? One evaluation, used by the
 * scheduled readiness function (lambdas/readiness/scheduled.ts) and by `failoverctl check`.
 *
 * Every check reads; nothing is changed (the fence's permission is asked with StopInstances DryRun).
 * Each problem names the check, the resource and a sentence that says what to do:
 *
 *   { check: 'dns', resource: 'CNAME db.orders.example.com',
 *     reason: 'its live TTL is 3600 s, above the configured 30 s: ... adds up to 3570 s ...' }
 *
 * A group is ready when it has no problem. Notes say what is fine but worth knowing (an Auto Scaling
 * group the fence will handle, a group with no probes). A check AWS could not answer is a problem with
 * `awsError` set: the group is not known to be ready.
 */
import { DescribeAutoScalingInstancesCommand } from '@aws-sdk/client-auto-scaling';
import { DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { DescribeInstancesCommand, DescribeSecurityGroupsCommand } from '@aws-sdk/client-ec2';
import { DescribeDBInstancesCommand, type DBInstance } from '@aws-sdk/client-rds';
import { GetHostedZoneCommand, ListResourceRecordSetsCommand, type ResourceRecordSet } from '@aws-sdk/client-route-53';
import type { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { GetFunctionCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import { normalizeDnsName, sameDnsValues, sourceDatabase, type DnsRecordConfig, type GroupConfig } from '../core/config';
import { replicaCandidates } from '../core/candidates';
import { awsErrorName } from '../core/errors';
import { databaseFenceGroupName } from '../core/isolation-group';
import { shardGroups, withHeartbeat, type ProbeHeartbeat } from '../core/probe-shards';
import { probesNotPassed } from '../probe/detect';
import type { VantageTarget } from '../core/vantage';
import { judgeReplicationStatus, LOOKBACK_MS } from '../core/replica-lag';
import type { StepDeps } from '../runtime/deps';
import { assessCandidate, observeCandidate } from '../steps/assess-replica';
import { SUSPENDED_PROCESSES, type DryRunAnswer } from '../steps/fence-primary';

/** The checks, in the order a report lists them. */
export const READINESS_CHECKS = ['primary', 'fence', 'database', 'replica', 'dns', 'alarms', 'probes', 'vantages', 'state'] as const;
export type ReadinessCheck = (typeof READINESS_CHECKS)[number];

export interface ReadinessProblem {
  check: ReadinessCheck;
  /** What the problem is about: an instance id and region, a record, an alarm name. */
  resource: string;
  /** What is wrong and what to do, in one or two sentences. */
  reason: string;
  /** Set when AWS (or the store) could not answer: the name of the error. */
  awsError?: string;
}

export interface ReadinessNote {
  check: ReadinessCheck;
  resource: string;
  note: string;
}

export interface GroupReadiness {
  group: string;
  ready: boolean;
  problems: ReadinessProblem[];
  notes: ReadinessNote[];
}

export interface ReadinessReport {
  checkedAt: string;
  groups: GroupReadiness[];
}

export type { DryRunAnswer };

export interface ReadinessDeps extends Pick<StepDeps, 'now' | 'ec2' | 'rds' | 'cloudwatch' | 'route53' | 'store'> {
  autoscaling(region: string): AutoScalingClient;
  /** The controller's own region: where the alarms a group listens to must be. */
  controllerRegion: string;
  /**
   * Would the fence be allowed to stop the group's writers? StopInstances with DryRun on those EC2
   * still knows, made with the permissions of whoever fences: the deployed fence function's role in the
   * stack (asked by group name: it takes the writers from its own deployed config), the operator's
   * credentials for `failoverctl check` (those a break-glass run would fence with).
   */
  fenceDryRun(group: GroupConfig): Promise<DryRunAnswer>;
  /**
   * Whose permission the DryRun asks: `fence` (the deployed fence function's role: a refusal means a
   * failover would end FENCE_FAILED) or `caller` (whoever runs `failoverctl check`: a refusal says only
   * that a break-glass run with these credentials could not fence, and is a note).
   * @default 'fence'
   */
  fenceAskedAs?: 'fence' | 'caller';
  /**
   * Every group of the config, to find a group's probe shard (whose heartbeat shows its last round).
   * @default the groups evaluated
   */
  allGroups?: GroupConfig[];
  /**
   * Every probe shard's heartbeat; evaluateReadiness reads them once per evaluation.
   * @default the store's item of each shard of `allGroups` (GetItem: the deployed config is the probe function's)
   */
  probeHeartbeats?(): Promise<ProbeHeartbeat[]>;
  /**
   * The vantage functions the confirmation asks (config.vantages) and a Lambda client per region to
   * find them: each is looked up once per evaluation. Without them, no vantage is checked.
   */
  vantages?: { targets: VantageTarget[]; lambda(region: string): LambdaClient };
}

/** The engines whose read replicas the controller promotes (RDS DB instances, not Aurora clusters). */
const SUPPORTED_ENGINES = new Set(['postgres', 'mysql', 'mariadb']);

/** How long without a counted probe round before nothing is known to watch the group. */
export function probeStalenessMs(group: Pick<GroupConfig, 'detection'>): number {
  return Math.max(3 * 60_000, 3 * group.detection.intervalSeconds * 1000);
}

/** Evaluate every group (a few at a time, to stay under the APIs' request rates). */
export async function evaluateReadiness(groups: GroupConfig[], deps: ReadinessDeps): Promise<ReadinessReport> {
  const checkedAt = new Date(deps.now()).toISOString();
  const results: GroupReadiness[] = new Array(groups.length);
  // The shards' heartbeats are read once per evaluation, when the first group asks.
  const all = deps.allGroups ?? groups;
  let heartbeats: Promise<ProbeHeartbeat[]> | undefined;
  const readHeartbeats = async () => {
    const items = await Promise.all(shardGroups(all).map((_, i) => deps.store().getProbeHeartbeat(i)));
    return items.filter((h): h is ProbeHeartbeat => h !== undefined);
  };
  const withShards: ReadinessDeps = { ...deps, allGroups: all, probeHeartbeats: () => (heartbeats ??= deps.probeHeartbeats?.() ?? readHeartbeats()) };
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < groups.length; i = next++) results[i] = await evaluateGroup(groups[i], withShards);
  };
  const [vantageProblems] = await Promise.all([checkVantages(deps), ...Array.from({ length: Math.min(4, groups.length) }, worker)]);
  // The confirmation asks the vantages for every group it confirms: those with probes to confirm against.
  for (const [i, g] of groups.entries()) {
    if (g.probes.length === 0 || vantageProblems.length === 0) continue;
    const problems = [...results[i].problems, ...vantageProblems].sort(byCheck);
    results[i] = { ...results[i], ready: false, problems };
  }
  return { checkedAt, groups: results };
}

/**
 * Is each vantage function there to be asked? Lambda GetFunction in its region: not found, not Active,
 * or that region's Lambda API not answering means the confirmation could not ask it either, and a view
 * that cannot be asked never helps confirm (lambdas/core/vantage.ts): with one vantage, every automatic
 * failover would end ABORTED. Whether the confirmation function's network reaches that region's Lambda
 * endpoint (probeVpc) is not something a lookup from here can tell.
 */
async function checkVantages(deps: ReadinessDeps): Promise<ReadinessProblem[]> {
  const v = deps.vantages;
  if (!v || v.targets.length === 0) return [];
  const problems = await Promise.all(v.targets.map(async (t): Promise<ReadinessProblem | undefined> => {
    const resource = `${t.functionName} (${t.region})`;
    const consequence = v.targets.length === 1
      ? 'with one vantage, every automatic failover would end ABORTED (one of two views is no majority)'
      : 'the confirmation would count it for neither side, leaving less room for another vantage that cannot be asked';
    try {
      const out = await v.lambda(t.region).send(new GetFunctionCommand({ FunctionName: t.functionName }));
      const state = out.Configuration?.State;
      if (state !== undefined && state !== 'Active') return { check: 'vantages', resource, reason: `the vantage function is ${state}${out.Configuration?.StateReason ? ` (${out.Configuration.StateReason})` : ''}, not Active: ${consequence}.` };
      return undefined;
    } catch (err) {
      const name = awsErrorName(err);
      const what = name === 'ResourceNotFoundException' ? `is not deployed in ${t.region} (deploy its stack, npx cdk deploy --all)` : `could not be looked up (Lambda GetFunction in ${t.region} failed with ${name}: ${(err as Error).message})`;
      return { check: 'vantages', resource, reason: `the vantage function ${what}: ${consequence}.` };
    }
  }));
  return problems.filter((p): p is ReadinessProblem => p !== undefined);
}

function byCheck(a: { check: ReadinessCheck }, b: { check: ReadinessCheck }): number {
  return READINESS_CHECKS.indexOf(a.check) - READINESS_CHECKS.indexOf(b.check);
}

/**
 * What one group's checks found, in a fixed order whatever order the calls answer in: each guarded
 * check gets its own slot when it starts, and the findings are read slot by slot.
 */
class Findings {
  private readonly entries: Array<{ problem: ReadinessProblem } | { note: ReadinessNote } | { slot: Findings }> = [];

  problem(check: ReadinessCheck, resource: string, reason: string): void {
    this.entries.push({ problem: { check, resource, reason } });
  }

  note(check: ReadinessCheck, resource: string, note: string): void {
    this.entries.push({ note: { check, resource, note } });
  }

  get problems(): ReadinessProblem[] {
    return this.entries.flatMap((e) => ('problem' in e ? [e.problem] : 'slot' in e ? e.slot.problems : []));
  }

  get notes(): ReadinessNote[] {
    return this.entries.flatMap((e) => ('note' in e ? [e.note] : 'slot' in e ? e.slot.notes : []));
  }

  /**
   * Run a check with findings of its own; what AWS could not answer becomes a problem naming the call
   * and the error (the SDK's, under the step's wrapping).
   */
  async guard(check: ReadinessCheck, resource: string, call: string, body: (f: Findings) => Promise<void>): Promise<void> {
    const slot = new Findings();
    this.entries.push({ slot });
    try {
      await body(slot);
    } catch (err) {
      const cause = (err as { cause?: unknown }).cause;
      const name = awsErrorName(cause ?? err);
      slot.entries.push({ problem: { check, resource, reason: `could not be checked: ${call} failed with ${name}: ${(err as Error).message}`, awsError: name } });
    }
  }
}

export async function evaluateGroup(group: GroupConfig, deps: ReadinessDeps): Promise<GroupReadiness> {
  const f = new Findings();
  // The databases first: the DNS check compares the records with their endpoints.
  const [endpoints] = await Promise.all([
    checkDatabases(group, deps, f),
    checkPrimary(group, deps, f),
    checkAlarms(group, deps, f),
    checkProbes(group, deps, f),
    checkState(group, deps, f),
  ]);
  await checkDns(group, endpoints, deps, f);
  const problems = f.problems.sort(byCheck);
  const notes = f.notes.sort(byCheck);
  return { group: group.name, ready: problems.length === 0, problems, notes };
}

// --- the EC2 writers and their fence ---------------------------------------------------------------

async function checkPrimary(group: GroupConfig, deps: ReadinessDeps, f: Findings): Promise<void> {
  const region = group.primary.region;
  const ids = [group.primary.instanceId, ...group.primary.additionalInstanceIds];
  const field = (id: string) => (id === group.primary.instanceId ? 'primary.instanceId' : 'primary.additionalInstanceIds');
  const found: Array<{ id: string; state: string }> = [];
  await Promise.all(
    ids.map((id) =>
      f.guard('primary', `${id} (${region})`, `EC2 DescribeInstances ${id}`, async (f) => {
        try {
          const out = await deps.ec2(region).send(new DescribeInstancesCommand({ InstanceIds: [id] }));
          const state = out.Reservations?.[0]?.Instances?.[0]?.State?.Name ?? 'unknown';
          found.push({ id, state });
          judgeInstanceState(id, region, state, f);
        } catch (err) {
          if (awsErrorName(err) !== 'InvalidInstanceID.NotFound') throw err;
          f.problem(
            'primary',
            `${id} (${region})`,
            `EC2 instance ${id} does not exist in ${region} (InvalidInstanceID.NotFound): check ${field(id)} and primary.region (an instance in another region or account answers the same). The fence could not stop it, so a failover would end FENCE_FAILED.`,
          );
        }
      }),
    ),
  );
  const live = ids.filter((id) => found.some((x) => x.id === id && x.state !== 'terminated' && x.state !== 'shutting-down'));
  if (live.length === 0) return;

  await f.guard('primary', `${live.join(', ')} (${region})`, 'Auto Scaling DescribeAutoScalingInstances', async (f) => {
    const out = await deps.autoscaling(region).send(new DescribeAutoScalingInstancesCommand({ InstanceIds: live }));
    for (const a of out.AutoScalingInstances ?? []) {
      f.note(
        'primary',
        `${a.InstanceId} (${region})`,
        `belongs to Auto Scaling group ${a.AutoScalingGroupName}: the fence suspends its ${SUSPENDED_PROCESSES.join(', ')} processes before stopping it, so the group does not replace it with a running instance (resume them after a failback)`,
      );
    }
  });

  await f.guard('fence', `${live.join(', ')} (${region})`, 'EC2 StopInstances (DryRun)', async (f) => {
    const answer = await deps.fenceDryRun(group);
    if (!answer.allowed && deps.fenceAskedAs === 'caller') {
      f.note(
        'fence',
        `${live.join(', ')} (${region})`,
        `your credentials may not stop ${live.length === 1 ? 'it' : 'them'} (StopInstances DryRun: ${answer.error}): a break-glass run (failover --local) with them would end FENCE_FAILED; the deployed fence's own permission is what the readiness function checks`,
      );
    } else if (!answer.allowed && answer.call === 'ModifyNetworkInterfaceAttribute') {
      f.problem(
        'fence',
        `${live.join(', ')} (${region})`,
        `ModifyNetworkInterfaceAttribute (DryRun) was refused with ${answer.error}: ${answer.message}. The fence could not isolate ${live.length === 1 ? 'it' : 'them'} (fence.onUnconfirmed "isolate"), so a failover whose stop is not confirmed would end FENCE_FAILED: check the fence's IAM policy (the isolation group's tag and VPC), service control policies and permission boundaries.`,
      );
    } else if (!answer.allowed) {
      f.problem(
        'fence',
        `${live.join(', ')} (${region})`,
        `StopInstances (DryRun) was refused with ${answer.error}: ${answer.message}. The fence could not stop ${live.length === 1 ? 'it' : 'them'}, so a failover would end FENCE_FAILED: check the fence's IAM policy, service control policies and permission boundaries.`,
      );
    }
  });
}

function judgeInstanceState(id: string, region: string, state: string, f: Findings): void {
  const resource = `${id} (${region})`;
  if (state === 'running') return;
  if (state === 'pending') {
    f.note('primary', resource, 'is pending (starting)');
  } else if (state === 'stopping' || state === 'stopped') {
    f.problem('primary', resource, `is ${state}: the primary is down, or was stopped on purpose (pause the group with failoverctl pause while it is).`);
  } else {
    f.problem('primary', resource, `is ${state}: it will never serve again; point the config at the instance that replaced it.`);
  }
}

// --- the old database and the candidate replicas ------------------------------------------------

/** The endpoints the DNS check compares records with. */
interface Endpoints {
  source?: string;
  candidates: string[];
}

function engineProblem(engine: string | undefined): string | undefined {
  if (!engine || SUPPORTED_ENGINES.has(engine)) return undefined;
  if (engine.startsWith('aurora')) {
    return `its engine is ${engine}: Aurora is not supported. Aurora replicas are members of a cluster, promoted with the cluster (PromoteReadReplicaDBCluster or a cluster failover), not as DB instances; the controller promotes RDS for PostgreSQL, MySQL and MariaDB read replicas only.`;
  }
  return `its engine is ${engine}, which is not supported: the controller promotes RDS for PostgreSQL, MySQL and MariaDB read replicas only.`;
}

async function describeDb(id: string, region: string, deps: ReadinessDeps): Promise<DBInstance | undefined> {
  try {
    const out = await deps.rds(region).send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: id }));
    return out.DBInstances?.[0];
  } catch (err) {
    if (awsErrorName(err) === 'DBInstanceNotFoundFault' || awsErrorName(err) === 'DBInstanceNotFound') return undefined;
    throw err;
  }
}

async function checkDatabases(group: GroupConfig, deps: ReadinessDeps, f: Findings): Promise<Endpoints> {
  const endpoints: Endpoints = { candidates: [] };
  const source = sourceDatabase(group.replica);
  const sourceResource = `${source.id} (${source.region})`;
  const vpc = group.replica.sourceVpcId;

  const checkSource = f.guard('database', sourceResource, `RDS DescribeDBInstances ${source.id}`, async (f) => {
    const db = await describeDb(source.id, source.region, deps);
    if (!db) {
      f.problem('database', sourceResource, `the old database ${source.id} (replica.source) does not exist in ${source.region}: check replica.source. The controller fences it before promoting, so a failover would not promote.`);
      return;
    }
    endpoints.source = db.Endpoint?.Address;
    const engine = engineProblem(db.Engine);
    if (engine) f.problem('database', sourceResource, engine);
    if (db.DBInstanceStatus !== 'available') {
      f.problem('database', sourceResource, `the old database is ${db.DBInstanceStatus}, not available: its replicas may not be receiving writes, and the database fence (a security-group change, then a reboot) needs it available.`);
    }
    const actualVpc = db.DBSubnetGroup?.VpcId;
    if (actualVpc && actualVpc !== vpc) {
      f.problem('database', sourceResource, `the old database is in ${actualVpc}, not replica.sourceVpcId ${vpc}: the stack makes the database fence's security group in ${vpc}, and RDS accepts only security groups of the instance's own VPC, so the fence would fail. Set replica.sourceVpcId to ${actualVpc} and deploy.`);
    }
  });

  const fenceGroup = databaseFenceGroupName(group.name);
  const checkFenceGroup = f.guard('database', `${fenceGroup} (${vpc}, ${source.region})`, `EC2 DescribeSecurityGroups ${fenceGroup}`, async (f) => {
    const out = await deps.ec2(source.region).send(
      new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'group-name', Values: [fenceGroup] }, { Name: 'vpc-id', Values: [vpc] }] }),
    );
    if (!out.SecurityGroups?.length) {
      f.problem('database', `${fenceGroup} (${vpc}, ${source.region})`, `the database fence's deny-all security group ${fenceGroup} is missing from ${vpc} in ${source.region}: deploy the stack's isolation stack for ${source.region}; without it the old database cannot be fenced and nothing is promoted.`);
    }
  });

  const candidates = replicaCandidates(group);
  const now = deps.now();
  const verdicts: Array<{ id: string; pass: boolean }> = [];
  const checkReplicas = Promise.all(
    candidates.map((c) => {
      const resource = `${c.dbInstanceIdentifier} (${c.region})`;
      return f.guard('replica', resource, `RDS DescribeDBInstances / CloudWatch ReplicaLag ${c.dbInstanceIdentifier}`, async (f) => {
        const obs = await observeCandidate(c, now - LOOKBACK_MS, deps);
        if (obs.replica?.endpointAddress) endpoints.candidates.push(obs.replica.endpointAddress);
        const engine = engineProblem(obs.replica?.engine);
        if (engine) {
          f.problem('replica', resource, engine);
          verdicts.push({ id: c.dbInstanceIdentifier, pass: false });
          return;
        }
        // The gate's own verdict for an outage beginning now: what an automatic failover would decide.
        const verdict = assessCandidate(obs, now);
        // Outside an outage a replication status that is not "replicating" is drift, whatever the
        // datapoints from before it say (during one the gate only suspects it: the outage may cause it).
        const replication = obs.replica?.isReplica ? judgeReplicationStatus(obs.replica) : undefined;
        const stopped = replication && replication.kind !== 'ok' && verdict.verdict === 'pass';
        verdicts.push({ id: c.dbInstanceIdentifier, pass: verdict.verdict === 'pass' && !stopped });
        if (verdict.verdict !== 'pass') {
          f.problem('replica', resource, `an automatic failover now would not promote it: ${verdict.reason}.`);
        } else if (stopped) {
          f.problem('replica', resource, `${replication.text}: it is not receiving the source's writes, so every minute adds to what a failover would lose, and the gate would refuse it once its lag datapoints show it. Fix the replication (or recreate the replica) now.`);
        }
      });
    }),
  );
  await Promise.all([checkSource, checkFenceGroup, checkReplicas]);
  if (candidates.length > 1 && verdicts.some((v) => !v.pass)) {
    const passing = verdicts.filter((v) => v.pass).map((v) => v.id);
    f.note('replica', group.replica.dbInstanceIdentifier, passing.length > 0 ? `a failover now would promote one of: ${passing.join(', ')}` : 'no candidate replica would be promoted now');
  }
  return endpoints;
}

// --- DNS ------------------------------------------------------------------------------------------

async function checkDns(group: GroupConfig, endpoints: Endpoints, deps: ReadinessDeps, f: Findings): Promise<void> {
  const { hostedZoneId: zoneId, zoneName } = group.dns;
  let zoneOk = false;
  await f.guard('dns', zoneId, `Route 53 GetHostedZone ${zoneId}`, async (f) => {
    try {
      const out = await deps.route53().send(new GetHostedZoneCommand({ Id: zoneId }));
      const name = normalizeDnsName(out.HostedZone?.Name ?? '');
      if (name !== zoneName) {
        f.problem('dns', zoneId, `hosted zone ${zoneId} is ${name}, not dns.zoneName ${zoneName}: check dns.hostedZoneId; the flip would change records in the wrong zone or be refused.`);
        return;
      }
      if (group.dns.mode === 'health-check' && out.HostedZone?.Config?.PrivateZone) {
        f.problem('dns', zoneId, `hosted zone ${zoneId} is private: dns.mode "health-check" confirms a failover by asking the zone's public name servers, which do not serve a private zone. Use dns.mode "records" for it.`);
      }
      zoneOk = true;
    } catch (err) {
      if (awsErrorName(err) !== 'NoSuchHostedZone') throw err;
      f.problem('dns', zoneId, `hosted zone ${zoneId} does not exist (NoSuchHostedZone): check dns.hostedZoneId; the flip could not change any record.`);
    }
  });
  if (!zoneOk) return;
  for (const record of group.dns.records) {
    const resource = `${record.type} ${record.name}`;
    await f.guard('dns', resource, `Route 53 ListResourceRecordSets ${record.name}`, async (f) => {
      const out = await deps.route53().send(
        new ListResourceRecordSetsCommand({ HostedZoneId: zoneId, StartRecordName: record.name, StartRecordType: record.type, MaxItems: 100 }),
      );
      const sets = (out.ResourceRecordSets ?? []).filter((s) => normalizeDnsName(s.Name ?? '') === record.name && s.Type === record.type);
      if (group.dns.mode === 'health-check') judgeFailoverPair(group, record, sets, endpoints, f);
      else judgeRecord(group, record, sets, endpoints, f);
    });
  }
}

function judgeRecord(group: GroupConfig, record: DnsRecordConfig, sets: ResourceRecordSet[], endpoints: Endpoints, f: Findings): void {
  const resource = `${record.type} ${record.name}`;
  if (sets.length === 0) {
    f.problem('dns', resource, `does not exist in ${group.dns.zoneName}: no client resolves it today, so flipping it would move nobody. Check dns.records (name and type) against the zone.`);
    return;
  }
  const routed = sets.find((s) => s.SetIdentifier !== undefined);
  if (routed) {
    f.problem('dns', resource, `is a routing-policy record (SetIdentifier ${JSON.stringify(routed.SetIdentifier)}), not a simple one: the controller flips simple records only, and Route 53 refuses a simple record beside routing-policy records of the same name. Make it a simple record, or leave it out of the group.`);
    return;
  }
  const set = sets[0];
  if (set.AliasTarget) {
    f.problem('dns', resource, `is an alias to ${(set.AliasTarget.DNSName ?? '').replace(/\.$/, '')}, not a simple record: an alias answers with its target's records and has no TTL or value of its own, and the controller flips simple records only. Make it a simple ${record.type} record with TTL ${record.ttl}, or point the alias's target instead and leave it out of the group.`);
    return;
  }
  const values = (set.ResourceRecords ?? []).map((r) => (r.Value ?? '').replace(/\.$/, ''));
  const ttl = set.TTL ?? 0;
  if (ttl > record.ttl) {
    f.problem(
      'dns',
      resource,
      `its live TTL is ${ttl} s, above the configured ${record.ttl} s: clients that resolved it before a flip keep the old answer for up to ${ttl} s, which adds up to ${ttl - record.ttl} s to the recovery time clients see. Lower the record's TTL to ${record.ttl} now; the flip sets it only for answers given after it.`,
    );
  }
  const failoverTargets =
    record.target === 'replicaEndpoint'
      ? endpoints.candidates.map((e) => [e])
      : [record.values ?? [], ...Object.values(record.valuesByReplica ?? {})];
  const flippedTo = failoverTargets.find((t) => t.length > 0 && sameDnsValues(t, values));
  if (flippedTo) {
    f.problem('dns', resource, `already points at ${flippedTo.join(', ')}, what a failover would set: the group was failed over, or the record was changed by hand. Point it back at the primary once it serves again, then rearm the group.`);
    return;
  }
  if (record.target === 'replicaEndpoint' && endpoints.source && !sameDnsValues([endpoints.source], values)) {
    f.note('dns', resource, `points at ${values.join(', ')}, not the old database's endpoint ${endpoints.source}: clients that follow this name may not reach the database the controller fences (fine if it is a proxy in front of it)`);
  }
}

/**
 * dns.mode "health-check": the stack's failover pair must be there as configured, the PRIMARY tied to a
 * health check, and the SECONDARY must answer the replica's endpoint (a failover cannot change it: it
 * was set at deploy time).
 */
function judgeFailoverPair(group: GroupConfig, record: DnsRecordConfig, sets: ResourceRecordSet[], endpoints: Endpoints, f: Findings): void {
  const resource = `${record.type} ${record.name}`;
  const valuesOf = (set: ResourceRecordSet) => (set.ResourceRecords ?? []).map((r) => (r.Value ?? '').replace(/\.$/, '').toLowerCase());
  const primary = sets.find((s) => s.Failover === 'PRIMARY');
  const secondary = sets.find((s) => s.Failover === 'SECONDARY');
  if (!primary || !secondary) {
    f.problem('dns', resource, `has no ${!primary ? 'PRIMARY' : 'SECONDARY'} failover record: dns.mode "health-check" fails over by the pair the stack makes (HealthCheckDns); deploy the stack, or check that nobody removed the record.`);
    return;
  }
  if (!primary.HealthCheckId) {
    f.problem('dns', resource, 'its PRIMARY failover record has no health check: Route 53 would answer it whatever the controller writes, so a failover would move nobody. Deploy the stack again.');
  }
  const secondaryValues = valuesOf(secondary);
  if (!sameDnsValues(record.values ?? [], secondaryValues)) {
    f.problem('dns', resource, `its SECONDARY answers ${secondaryValues.join(', ')}, not the configured values ${(record.values ?? []).join(', ')}: a failover would send clients there. Deploy the stack again.`);
  } else if (record.type === 'CNAME' && endpoints.candidates[0] && !sameDnsValues([endpoints.candidates[0]], secondaryValues)) {
    f.note('dns', resource, `its SECONDARY answers ${secondaryValues.join(', ')}, not the replica's endpoint ${endpoints.candidates[0]}: clients that follow this name after a failover may not reach the promoted database (fine if it is a proxy in front of it)`);
  }
  if ((primary.TTL ?? 0) > record.ttl) {
    f.problem('dns', resource, `its live TTL is ${primary.TTL} s, above the configured ${record.ttl} s: clients keep the old answer that long after a failover. Deploy the stack again.`);
  }
}

// --- alarms, probes, the group's state ------------------------------------------------------------

async function checkAlarms(group: GroupConfig, deps: ReadinessDeps, f: Findings): Promise<void> {
  if (group.alarms.length === 0) return;
  const region = deps.controllerRegion;
  await f.guard('alarms', group.alarms.join(', '), 'CloudWatch DescribeAlarms', async (f) => {
    // Without AlarmTypes only metric alarms are returned; a group may listen to a composite alarm.
    const out = await deps.cloudwatch(region).send(new DescribeAlarmsCommand({ AlarmNames: group.alarms, AlarmTypes: ['MetricAlarm', 'CompositeAlarm'] }));
    const existing = new Set([...(out.MetricAlarms ?? []), ...(out.CompositeAlarms ?? [])].map((a) => a.AlarmName));
    for (const name of group.alarms.filter((a) => !existing.has(a))) {
      f.problem('alarms', name, `no alarm named ${JSON.stringify(name)} exists in ${region}, the controller's region, where the stack's rule listens: it would never start a failover. Check alarms[] (alarms are regional, and a renamed alarm is a new one).`);
    }
  });
}

async function checkProbes(group: GroupConfig, deps: ReadinessDeps, f: Findings): Promise<void> {
  if (group.probes.length === 0) {
    f.note('probes', group.name, group.alarms.length > 0 ? 'no probes: only its alarms can start an automatic failover' : 'no probes and no alarms: only a manual failover can start');
    return;
  }
  await f.guard('probes', group.name, 'DynamoDB GetItem (probe state, shard heartbeat)', async (f) => {
    // The group's counters are written when they change; its shard's heartbeat shows the later rounds it passed.
    const [stored, heartbeats] = await Promise.all([deps.store().getProbeState(group.name), deps.probeHeartbeats?.() ?? []]);
    const state = withHeartbeat(group.name, stored, heartbeats);
    const now = deps.now();
    if (!state?.lastRoundAt) {
      f.problem('probes', group.name, 'no probe round has been counted yet: is the probe function deployed and running? Nothing watches the primary.');
      return;
    }
    const age = now - state.lastRoundAt;
    if (age > probeStalenessMs(group)) {
      f.problem('probes', group.name, `the last probe round was ${Math.round(age / 1000)} s ago (${new Date(state.lastRoundAt).toISOString()}): nothing is watching the primary. Check the probe function's schedule and errors.`);
    }
    // A failure counts toward an automatic failover only once the probes have passed (detect.ts). Whether
    // they passed as configured now is the probe function's to judge (this config may be an operator's
    // edited copy): it says so in what it did about the outage (handledAs), shown below.
    const notPassed = probesNotPassed(state);
    if (notPassed) {
      f.problem('probes', group.name, `its probes have ${notPassed}: this controller has never seen the primary healthy, so an outage they report is told to the topic, not failed over automatically. Check the probes (URL, port, expected status, and the probe's ca for an HTTPS endpoint whose certificate a private CA issued) and the probe function's network path to the primary.`);
    }
    if (state.lastRound?.failed || state.consecutiveFailures > 0) {
      const done = stored?.outageStartedAt != null && stored.handledAs ? ` The probe function's action on it: ${stored.handledAs}.` : '';
      f.problem('probes', group.name, `the probes fail now (${state.consecutiveFailures} failed round(s) in a row: ${state.lastRound?.reason ?? 'no reason recorded'}): the primary is failing, so the group is failing over or should be, not ready for the next outage.${done}`);
    }
  });
}

async function checkState(group: GroupConfig, deps: ReadinessDeps, f: Findings): Promise<void> {
  await f.guard('state', group.name, 'DynamoDB GetItem (group state, lock)', async (f) => {
    const [state, lock] = await Promise.all([deps.store().getGroupState(group.name), deps.store().getLock(group.name)]);
    if (state?.status === 'PAUSED') {
      f.problem('state', group.name, `the group is PAUSED${state.reason ? ` (${state.reason})` : ''}: no automatic failover starts. Resume it with failoverctl resume ${group.name}.`);
    } else if (state?.status === 'FAILED_OVER') {
      f.problem('state', group.name, `the group is FAILED_OVER${state.primary ? ` (it runs on ${state.primary.id})` : ''}: the config still describes the old primary. Fail back, then rearm it with failoverctl rearm ${group.name}.`);
    }
    if (lock && lock.expiresAt > deps.now()) {
      f.problem('state', `lock of ${group.name}`, `the lock is held by ${lock.holder} until ${new Date(lock.expiresAt).toISOString()}: a failover is running, or one died holding it; a new one would end SKIPPED. See failoverctl status; failoverctl unlock releases a dead holder's lock.`);
    }
  });
}
