/**
 * Simulated RDS: DB instances, their read replicas and the data they hold.
 *
 * Every instance keeps the writes it accepted (commit times, in simulated ms). A read replica receives
 * its source's writes after a replication delay while replication runs, and what it has applied is a
 * commit-time position: every source write committed at or before it. The lag RDS reports is derived
 * from that truth per engine (see `reportedLag`), so the controller sees what AWS would show, and the
 * drill knows what was really lost.
 */
import type * as rds from '@aws-sdk/client-rds';
import type { Handler, SimCore, SimServiceModule } from './core';

export interface SimDbSeed {
  id: string; region: string; replicaOf?: string; status?: string; engine?: string; engineVersion?: string; port?: number; endpointAddress?: string;
  /** The instance's VPC and security groups (default: one group that lets the application in). */
  vpcId?: string; securityGroupIds?: string[];
}
export interface SimDbView {
  id: string; region: string; status: string; engine: string; replicaOf?: string; endpointAddress: string;
  /** When PromoteReadReplica was accepted, and when the instance became standalone. */
  promotionStartedAt?: number; promotedAt?: number;
  securityGroupIds: string[]; replication?: ReplicationState;
}
/** Seconds, fixed or as a function of simulated time (ms). */
export type Seconds = number | ((nowMs: number) => number);
export type ReplicationState = 'replicating' | 'replication degraded' | 'error' | 'stopped' | 'terminated';
/** One write a database acknowledged: who wrote it and when it committed. */
export interface SimWrite { seq: number; at: number; client: string }

interface Replication {
  state: ReplicationState;
  /** When each state began, oldest first (metrics are read for past minutes). */
  history: Array<{ at: number; state: ReplicationState }>;
  /** How far behind the source the replica receives and applies writes (the truth, not the metric). */
  delay: Seconds;
  /** Commit-time position beyond which nothing more arrives: the source died, or replication stopped. */
  cutoff?: number;
}

interface DbInstance {
  id: string; region: string; status: string; engine: string; engineVersion: string; port: number; endpointAddress: string;
  vpcId: string; securityGroupIds: string[];
  source?: { region: string; id: string }; replication?: Replication;
  /** The source it replicated from, kept after a promotion: CloudWatch keeps the datapoints of before. */
  replicatedFrom?: { region: string; id: string };
  promotionStartedAt?: number; promotedAt?: number; failedAt?: number;
  /** Position frozen at the start of the promotion: RDS stops replication before it promotes. */
  promotedPosition?: number;
  writes: SimWrite[];
  /** Bumped whenever the engine drops every client connection (reboot, failure, promotion's reboot). */
  connectionEpoch: number;
}

const parseRdsArn = (s: string) => /^arn:aws[\w-]*:rds:([\w-]+):\d+:db:(.+)$/.exec(s);
const secondsAt = (s: Seconds, t: number) => (typeof s === 'function' ? s(t) : s);

/** The commit time of the last write at or before `position` (writes are in commit order). */
function lastCommitAtOrBefore(writes: readonly SimWrite[], position: number): number {
  for (let i = writes.length - 1; i >= 0; i--) if (writes[i].at <= position) return writes[i].at;
  return -Infinity;
}

/**
 * RDS for PostgreSQL switches the WAL segment every 5 minutes, which makes a transaction record: on an
 * idle source the replica's ReplicaLag climbs to about 300 s, then drops (RDS User Guide, "Working with
 * read replicas for Amazon RDS for PostgreSQL", limitations: "up to five minutes" of lag with no user
 * transactions).
 */
export const PG_WAL_SWITCH_MS = 5 * 60_000;

/** Statuses in which an instance serves connections and accepts writes (when it is no replica). */
const SERVING = new Set(['available', 'modifying', 'backing-up', 'configuring-enhanced-monitoring', 'storage-optimization']);
/** Bytes of WAL one simulated write produces (for OldestReplicationSlotLag). */
export const WAL_BYTES_PER_WRITE = 8192;
/** Security groups that let clients in unless a scenario says otherwise (the application's). */
const DEFAULT_DB_GROUP = 'sg-0db00000000000001';

export class SimRds implements SimServiceModule {
  readonly handlers: Record<string, Handler> = {
    DescribeDBInstances: (i, r) => this.describeDbInstances(i, r),
    PromoteReadReplica: (i, r) => this.promoteReadReplica(i, r),
    ModifyDBInstance: (i, r) => this.modifyDbInstance(i, r),
    RebootDBInstance: (i, r) => this.rebootDbInstance(i, r),
    StopDBInstance: (i, r) => this.stopDbInstance(i, r),
  };
  readonly mutating: ReadonlySet<string> = new Set(['PromoteReadReplica', 'ModifyDBInstance', 'RebootDBInstance', 'StopDBInstance']);

  private readonly dbs: DbInstance[] = [];
  private writeSeq = 0;
  /** Security groups with no inbound rule (the controller's isolation groups): a new connection is refused. */
  private readonly denyAllGroups = new Set<string>();
  /** Which security groups exist, by id → VPC (the EC2 module's, plus each instance's own). */
  private readonly knownGroups = new Map<string, string>();

  constructor(private readonly core: SimCore) {}

  // --- seeding and observation -----------------------------------------------------------------

  /** `replicaOf` is the source's identifier (same region) or its ARN (cross-region replica). */
  addDbInstance(d: SimDbSeed): void {
    let source: DbInstance['source'];
    if (d.replicaOf) {
      const arn = parseRdsArn(d.replicaOf);
      source = arn ? { region: arn[1], id: arn[2] } : { region: d.region, id: d.replicaOf };
    }
    // Seeding an identifier again in the same region replaces it (a scenario reshaping the seeded account).
    const existing = this.dbs.findIndex((x) => x.id === d.id && x.region === d.region);
    const before = existing >= 0 ? this.dbs.splice(existing, 1)[0] : undefined;
    const vpcId = d.vpcId ?? before?.vpcId ?? `vpc-0db${d.region.replace(/\W/g, '').slice(-10).padStart(14, '0')}`;
    const securityGroupIds = d.securityGroupIds ?? before?.securityGroupIds ?? [DEFAULT_DB_GROUP];
    for (const g of securityGroupIds) if (!this.knownGroups.has(g)) this.knownGroups.set(g, vpcId);
    this.dbs.push({
      id: d.id, region: d.region, status: d.status ?? 'available', engine: d.engine ?? 'postgres',
      engineVersion: d.engineVersion ?? (d.engine === undefined || d.engine === 'postgres' ? '16.4' : d.engine === 'mariadb' ? '10.11.9' : '8.0.39'),
      port: d.port ?? (d.engine?.startsWith('mysql') || d.engine === 'mariadb' ? 3306 : 5432),
      endpointAddress: d.endpointAddress ?? defaultEndpointAddress(d.id, d.region),
      vpcId, securityGroupIds, source, replicatedFrom: source,
      replication: source ? { state: 'replicating', history: [], delay: before?.replication?.delay ?? 1 } : undefined,
      writes: before?.writes ?? [], connectionEpoch: (before?.connectionEpoch ?? 0) + 1,
    });
  }

  /** A security group RDS may be given: `denyAll` for one with no inbound rule (an isolation group). */
  addSecurityGroup(g: { id: string; vpcId: string; denyAll: boolean }): void {
    this.knownGroups.set(g.id, g.vpcId);
    if (g.denyAll) this.denyAllGroups.add(g.id);
  }

  /** The true replication delay of a replica, in seconds (fixed or over time). */
  setReplicationDelay(dbInstanceId: string, delay: Seconds): void {
    const d = this.requireDb(dbInstanceId);
    if (!d.replication) throw new Error(`SimulatedAccount: ${dbInstanceId} is not a read replica`);
    d.replication.delay = delay;
  }

  /**
   * Replication of a replica goes to `state` at `at` (now by default): anything other than
   * `replicating` stops it there, so the replica keeps what it had received (RDS User Guide,
   * "Monitoring read replication": replication states).
   */
  setReplicationState(dbInstanceId: string, state: ReplicationState, at = this.core.clock.now()): void {
    const d = this.requireDb(dbInstanceId);
    this.core.schedule(at, `${d.id}/replication`, state, () => {
      const r = d.replication!;
      const from = r.state;
      if (state !== 'replicating' && state !== 'replication degraded') r.cutoff = Math.min(r.cutoff ?? Infinity, this.receivedUpTo(d, at));
      r.state = state;
      r.history.push({ at, state });
      return from;
    });
    this.core.settle();
  }

  /**
   * The instance fails at `at`: status `failed`, which RDS describes as an instance it cannot recover
   * (RDS User Guide, "Viewing Amazon RDS DB instance status"). Its connections drop, it accepts nothing
   * more, and its replicas keep only what they had received by then.
   */
  fail(dbInstanceId: string, at = this.core.clock.now()): void {
    const d = this.requireDb(dbInstanceId);
    this.core.schedule(at, d.id, 'failed', () => {
      const from = d.status;
      d.status = 'failed';
      d.failedAt = at;
      d.connectionEpoch += 1;
      for (const r of this.replicasOf(d)) r.replication!.cutoff = Math.min(r.replication!.cutoff ?? Infinity, this.receivedUpTo(r, at));
      return from;
    });
    this.core.settle();
  }

  /**
   * `promotedAt` is when the promotion completed (the instance became standalone).
   * `region` disambiguates when the same identifier exists in two regions.
   */
  dbInstance(id: string, region?: string): SimDbView | undefined {
    this.core.settle();
    const d = this.find(id, region);
    return d && {
      id: d.id, region: d.region, status: d.status, engine: d.engine, replicaOf: this.sourceLabel(d),
      endpointAddress: d.endpointAddress, promotionStartedAt: d.promotionStartedAt, promotedAt: d.promotedAt,
      securityGroupIds: [...d.securityGroupIds], replication: d.source ? d.replication?.state : undefined,
    };
  }

  // --- data: writes, replication, connections ----------------------------------------------------

  /** The instance an endpoint address belongs to. */
  byEndpoint(address: string): { id: string; region: string } | undefined {
    const d = this.dbs.find((x) => x.endpointAddress === address);
    return d && { id: d.id, region: d.region };
  }

  /** Does the instance accept a write now: serving, and not a read replica (replicas are read-only). */
  acceptsWrites(id: string, region: string): boolean {
    const d = this.find(id, region);
    return d !== undefined && SERVING.has(d.status) && !d.source;
  }

  /**
   * May a new connection be made? Only to a serving instance with a security group that lets clients
   * in. Established connections are not checked again: security groups are stateful and a change does
   * not interrupt tracked connections (EC2 User Guide, "Security group connection tracking").
   */
  acceptsConnections(id: string, region: string): boolean {
    const d = this.find(id, region);
    return d !== undefined && SERVING.has(d.status) && d.securityGroupIds.some((g) => !this.denyAllGroups.has(g));
  }

  /** Changes whenever the instance dropped every connection; a connection opened at another epoch is gone. */
  connectionEpoch(id: string, region: string): number {
    return this.find(id, region)?.connectionEpoch ?? -1;
  }

  /** Record a write the instance acknowledged at simulated time `at`. */
  write(id: string, region: string, client: string, at: number): SimWrite {
    const d = this.find(id, region)!;
    const w = { seq: ++this.writeSeq, at, client };
    d.writes.push(w);
    return w;
  }

  /** Every write the instance acknowledged itself (a replica's copies of its source's writes are not listed). */
  writesOf(id: string, region?: string): readonly SimWrite[] {
    this.core.settle();
    return this.find(id, region)?.writes ?? [];
  }

  /**
   * The commit-time position up to which a replica has its source's writes at `t`: what arrived after
   * the replication delay, never more than the cutoff (source failure, replication stopped), frozen
   * when its promotion began.
   */
  appliedPosition(id: string, t: number, region?: string): number | undefined {
    const d = this.find(id, region);
    if (!d?.replication && d?.promotedPosition === undefined) return undefined;
    if (d.promotionStartedAt !== undefined && t >= d.promotionStartedAt) return d.promotedPosition;
    return this.receivedUpTo(d, t);
  }

  private receivedUpTo(d: DbInstance, t: number): number {
    const r = d.replication!;
    return Math.min(t - secondsAt(r.delay, t) * 1000, r.cutoff ?? Infinity);
  }

  /**
   * ReplicaLag as RDS reports it at `t`, per engine; undefined where RDS reports nothing (not a
   * replica, promoted).
   * - PostgreSQL: `extract(epoch from now() - pg_last_xact_replay_timestamp())` (RDS User Guide,
   *   USER_PostgreSQL.Replication.ReadReplicas.Monitor): time since the last replayed commit, so it
   *   grows 1 s/s when nothing new arrives (a dead source) and saw-tooths up to ~300 s on an idle one.
   * - MySQL/MariaDB: Seconds_Behind_Master, and -1 when replication is not running (RDS User Guide,
   *   USER_MySQL.Replication.ReadReplicas.Monitor); 0 when caught up.
   */
  reportedLag(id: string, region: string, t: number): number | undefined {
    const d = this.find(id, region);
    if (!d?.replication || (d.promotionStartedAt !== undefined && t >= d.promotionStartedAt)) return undefined;
    const source = this.sourceOf(d);
    const position = this.receivedUpTo(d, t);
    if (d.engine === 'postgres') {
      const replayed = Math.max(this.lastWalSwitch(source, Math.min(position, t)), lastCommitAtOrBefore(source?.writes ?? [], position));
      return Math.max(0, Math.round((t - replayed) / 1000));
    }
    const state = d.replication.history.filter((h) => h.at <= t).at(-1)?.state ?? 'replicating';
    if (state !== 'replicating' || (source?.failedAt !== undefined && source.failedAt <= t)) return -1;
    const behind = (source?.writes ?? []).some((w) => w.at > position && w.at <= t);
    return behind ? Math.round(secondsAt(d.replication.delay, t)) : 0;
  }

  /**
   * OldestReplicationSlotLag of a PostgreSQL source at `t`: bytes of WAL its most-lagging replica has
   * not received (RDS User Guide, CloudWatch metrics for RDS). Undefined for other engines or a
   * source with no replica.
   */
  slotLagBytes(id: string, region: string, t: number): number | undefined {
    const d = this.find(id, region);
    if (!d || d.engine !== 'postgres' || d.status === 'failed') return undefined;
    const replicas = this.replicasOf(d).filter((r) => r.promotionStartedAt === undefined || r.promotionStartedAt > t);
    if (replicas.length === 0) return undefined;
    return Math.max(...replicas.map((r) => d.writes.filter((w) => w.at > this.receivedUpTo(r, t) && w.at <= t).length * WAL_BYTES_PER_WRITE));
  }

  /** The latest WAL switch at or before `t` while the source was up (none after it failed). */
  private lastWalSwitch(source: DbInstance | undefined, t: number): number {
    if (!source) return -Infinity;
    return Math.floor(Math.min(t, source.failedAt ?? Infinity) / PG_WAL_SWITCH_MS) * PG_WAL_SWITCH_MS;
  }

  // --- operations ------------------------------------------------------------------------------

  private find(id: string, region?: string): DbInstance | undefined {
    return this.dbs.find((x) => x.id === id && (region === undefined || x.region === region));
  }

  private requireDb(id: string): DbInstance {
    const d = this.find(id);
    if (!d) throw new Error(`SimulatedAccount: no DB instance ${id}`);
    return d;
  }

  private sourceOf(d: DbInstance): DbInstance | undefined {
    const from = d.replicatedFrom ?? d.source;
    return from && this.find(from.id, from.region);
  }

  /** The replicas RDS lists for a source: promoted ones are standalone and no longer listed. */
  private replicasOf(d: DbInstance): DbInstance[] {
    return this.dbs.filter((r) => r.source?.id === d.id && r.source.region === d.region);
  }

  /** An identifier or an ARN, visible only in its own region. */
  private findDb(idOrArn: string, region: string): DbInstance {
    const arn = parseRdsArn(idOrArn);
    const [dbRegion, id] = arn ? [arn[1], arn[2]] : [region, idOrArn];
    const d = dbRegion === region ? this.find(id, region) : undefined;
    if (!d) throw this.core.awsError('rds', 'DBInstanceNotFoundFault', `DBInstance ${id} not found.`);
    return d;
  }

  private arnOf(d: { region: string; id: string }): string {
    return `arn:aws:rds:${d.region}:${this.core.accountId}:db:${d.id}`;
  }

  /** How RDS names a replication partner: its identifier in the same region, its ARN across regions. */
  private sourceLabel(d: DbInstance): string | undefined {
    if (!d.source) return undefined;
    return d.source.region === d.region ? d.source.id : this.arnOf(d.source);
  }

  private toSdkDb(d: DbInstance): rds.DBInstance {
    const replicas = this.replicasOf(d).map((r) => (r.region === d.region ? r.id : this.arnOf(r)));
    const r = d.replication;
    return {
      DBInstanceIdentifier: d.id, DBInstanceArn: this.arnOf(d), DBInstanceStatus: d.status, Engine: d.engine, EngineVersion: d.engineVersion,
      Endpoint: { Address: d.endpointAddress, Port: d.port }, ReadReplicaSourceDBInstanceIdentifier: this.sourceLabel(d),
      ReadReplicaDBInstanceIdentifiers: replicas,
      // VpcSecurityGroupMembership.Status: "Currently, the only valid status is active" (RDS API reference).
      VpcSecurityGroups: d.securityGroupIds.map((g) => ({ VpcSecurityGroupId: g, Status: 'active' })),
      DBSubnetGroup: { DBSubnetGroupName: `${d.id}-subnets`, VpcId: d.vpcId },
      ...(r && d.source && {
        StatusInfos: [{ StatusType: 'read replication', Normal: r.state === 'replicating', Status: r.state, ...(r.state === 'error' && { Message: 'Replication has stopped because of an error.' }) }],
      }),
    };
  }

  private setDbStatus(d: DbInstance, to: string, at: number, extra: () => void = () => {}): void {
    this.core.schedule(at, d.id, to, () => { const from = d.status; d.status = to; extra(); return from; });
  }

  private requireAvailable(d: DbInstance): void {
    if (d.status !== 'available') {
      throw this.core.awsError('rds', 'InvalidDBInstanceStateFault', `DB instance ${d.id} is not in available state (current state: ${d.status}).`);
    }
  }

  private describeDbInstances(input: rds.DescribeDBInstancesMessage, region: string): rds.DBInstanceMessage {
    if (input.Filters?.length) throw new Error('SimulatedAccount: DescribeDBInstances Filters are not simulated');
    const found = input.DBInstanceIdentifier ? [this.findDb(input.DBInstanceIdentifier, region)] : this.dbs.filter((d) => d.region === region);
    return { DBInstances: found.map((d) => this.toSdkDb(d)) };
  }

  /**
   * available -> modifying -> rebooting -> available and standalone. RDS stops replication when the
   * promotion begins, so the replica keeps what it had received then. With the `promotionFails`
   * behaviour the instance ends in RDS's terminal 'failed' status after the modifying phase and is
   * still a replica: the caller sees the promotion never complete and must not flip DNS.
   */
  private promoteReadReplica(input: rds.PromoteReadReplicaMessage, region: string): rds.PromoteReadReplicaResult {
    const d = this.findDb(input.DBInstanceIdentifier ?? '', region);
    if (!d.source) throw this.core.awsError('rds', 'InvalidDBInstanceStateFault', 'DB Instance is not a read replica.');
    this.requireAvailable(d);
    const { latencies, clock } = this.core;
    const now = clock.now();
    d.promotedPosition = this.receivedUpTo(d, now);
    d.promotionStartedAt = now;
    const rebootAt = now + latencies.rdsPromoteModifyingSeconds * 1000;
    this.setDbStatus(d, 'modifying', now);
    if (this.core.behaviorOf(d.id)?.promotionFails) {
      this.setDbStatus(d, 'failed', rebootAt);
    } else {
      this.setDbStatus(d, 'rebooting', rebootAt, () => { d.connectionEpoch += 1; });
      const doneAt = rebootAt + latencies.rdsPromoteRebootingSeconds * 1000;
      this.setDbStatus(d, 'available', doneAt, () => { d.source = undefined; d.promotedAt = doneAt; });
    }
    this.core.settle();
    return { DBInstance: this.toSdkDb(d) };
  }

  /**
   * Only a change of VPC security groups is simulated. RDS applies it "asynchronously, as soon as
   * possible", whatever ApplyImmediately says (RDS User Guide, USER_ModifyInstance.Settings): the
   * instance is `modifying`, and the new groups are listed once it is done. Connections already open
   * stay open (connection tracking); only new ones meet the new groups.
   */
  private modifyDbInstance(input: rds.ModifyDBInstanceMessage, region: string): rds.ModifyDBInstanceResult {
    const d = this.findDb(input.DBInstanceIdentifier ?? '', region);
    const groups = input.VpcSecurityGroupIds;
    if (!groups?.length) throw new Error('SimulatedAccount: only ModifyDBInstance VpcSecurityGroupIds is simulated');
    for (const g of groups) {
      // The wording the RDS API answers an unknown group with (InvalidParameterValue).
      if (this.knownGroups.get(g) !== d.vpcId) throw this.core.awsError('rds', 'InvalidParameterValue', `Invalid security group , groupId= ${g}, groupName=.`);
    }
    this.requireAvailable(d);
    const now = this.core.clock.now();
    const doneAt = now + this.core.latencies.rdsModifySeconds * 1000;
    this.setDbStatus(d, 'modifying', now);
    this.core.schedule(doneAt, `${d.id}/security-groups`, groups.join(','), () => {
      const from = d.securityGroupIds.join(',');
      d.securityGroupIds = [...groups];
      return from;
    });
    this.setDbStatus(d, 'available', doneAt);
    this.core.settle();
    return { DBInstance: this.toSdkDb(d) };
  }

  /**
   * The engine restarts: status `rebooting`, then `available`; every client connection is closed. A
   * source with read replicas may be rebooted, and replication resumes afterwards (RDS User Guide,
   * USER_RebootInstance). Only from `available` (InvalidDBInstanceState otherwise).
   */
  private rebootDbInstance(input: rds.RebootDBInstanceMessage, region: string): rds.RebootDBInstanceResult {
    const d = this.findDb(input.DBInstanceIdentifier ?? '', region);
    this.requireAvailable(d);
    const now = this.core.clock.now();
    this.setDbStatus(d, 'rebooting', now, () => { d.connectionEpoch += 1; });
    this.setDbStatus(d, 'available', now + this.core.latencies.rdsRebootSeconds * 1000);
    this.core.settle();
    return { DBInstance: this.toSdkDb(d) };
  }

  /**
   * "You can't stop a DB instance that has a read replica, or that is a read replica" (RDS User Guide,
   * USER_StopInstance, limitations). The API answers InvalidDBInstanceState; the message for a replica
   * is the one seen in the wild, the one for a source is this simulator's wording.
   */
  private stopDbInstance(input: rds.StopDBInstanceMessage, region: string): rds.StopDBInstanceResult {
    const d = this.findDb(input.DBInstanceIdentifier ?? '', region);
    if (d.source) throw this.core.awsError('rds', 'InvalidDBInstanceStateFault', 'Cannot stop or start a Read-Replica instance');
    if (this.replicasOf(d).length > 0) throw this.core.awsError('rds', 'InvalidDBInstanceStateFault', `Cannot stop DB instance ${d.id} because it has read replicas.`);
    this.requireAvailable(d);
    const now = this.core.clock.now();
    this.setDbStatus(d, 'stopping', now, () => { d.connectionEpoch += 1; });
    this.setDbStatus(d, 'stopped', now + this.core.latencies.rdsRebootSeconds * 1000);
    this.core.settle();
    return { DBInstance: this.toSdkDb(d) };
  }
}

/** The endpoint address RDS gives a seeded instance unless the seed says otherwise (it survives a promotion). */
export function defaultEndpointAddress(id: string, region: string): string {
  return `${id}.c0abcdefghij.${region}.rds.amazonaws.com`;
}
