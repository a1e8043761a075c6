/** Simulated RDS: DB instances, their read replicas, promotion, and the replica lag CloudWatch reports. */
import type * as rds from '@aws-sdk/client-rds';
import type { Handler, SimCore, SimServiceModule } from './core';

export interface SimDbSeed {
  id: string; region: string; replicaOf?: string; status?: string; engine?: string; port?: number; endpointAddress?: string;
}
export interface SimDbView {
  id: string; region: string; status: string; replicaOf?: string; endpointAddress: string; promotedAt?: number;
}
/** Replica lag in seconds, fixed or as a function of simulated time. */
export type ReplicaLag = number | ((nowMs: number) => number);

interface DbInstance {
  id: string; region: string; status: string; engine: string; port: number; endpointAddress: string;
  source?: { region: string; id: string }; promotedAt?: number; lag?: ReplicaLag;
}

const parseRdsArn = (s: string) => /^arn:aws[\w-]*:rds:([\w-]+):\d+:db:(.+)$/.exec(s);

export class SimRds implements SimServiceModule {
  readonly handlers: Record<string, Handler> = {
    DescribeDBInstances: (i, r) => this.describeDbInstances(i, r),
    PromoteReadReplica: (i, r) => this.promoteReadReplica(i, r),
  };
  readonly mutating: ReadonlySet<string> = new Set(['PromoteReadReplica']);

  private readonly dbs: DbInstance[] = [];

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
    if (existing >= 0) this.dbs.splice(existing, 1);
    this.dbs.push({
      id: d.id, region: d.region, status: d.status ?? 'available', engine: d.engine ?? 'postgres',
      port: d.port ?? 5432, endpointAddress: d.endpointAddress ?? `${d.id}.c0abcdefghij.${d.region}.rds.amazonaws.com`, source,
    });
  }

  setReplicaLag(dbInstanceId: string, lag: ReplicaLag): void {
    this.requireDb(dbInstanceId).lag = lag;
  }

  /**
   * `promotedAt` is when the promotion completed (the instance became standalone).
   * `region` disambiguates when the same identifier exists in two regions.
   */
  dbInstance(id: string, region?: string): SimDbView | undefined {
    this.core.settle();
    const d = this.dbs.find((x) => x.id === id && (region === undefined || x.region === region));
    return d && {
      id: d.id, region: d.region, status: d.status, replicaOf: this.sourceLabel(d),
      endpointAddress: d.endpointAddress, promotedAt: d.promotedAt,
    };
  }

  /** The lag set on a DB instance in `region` and when it was promoted; undefined if no lag is set. */
  replicaLag(id: string | undefined, region: string): { lag: ReplicaLag; promotedAt?: number } | undefined {
    const db = this.dbs.find((d) => d.id === id && d.region === region);
    return db?.lag === undefined ? undefined : { lag: db.lag, promotedAt: db.promotedAt };
  }

  // --- operations ------------------------------------------------------------------------------

  private requireDb(id: string): DbInstance {
    const d = this.dbs.find((x) => x.id === id);
    if (!d) throw new Error(`SimulatedAccount: no DB instance ${id}`);
    return d;
  }

  /** An identifier or an ARN, visible only in its own region. */
  private findDb(idOrArn: string, region: string): DbInstance {
    const arn = parseRdsArn(idOrArn);
    const [dbRegion, id] = arn ? [arn[1], arn[2]] : [region, idOrArn];
    const d = dbRegion === region ? this.dbs.find((x) => x.id === id && x.region === region) : undefined;
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
    const replicas = this.dbs.filter((r) => r.source?.id === d.id && r.source.region === d.region)
      .map((r) => (r.region === d.region ? r.id : this.arnOf(r)));
    return {
      DBInstanceIdentifier: d.id, DBInstanceArn: this.arnOf(d), DBInstanceStatus: d.status, Engine: d.engine,
      Endpoint: { Address: d.endpointAddress, Port: d.port }, ReadReplicaSourceDBInstanceIdentifier: this.sourceLabel(d),
      ReadReplicaDBInstanceIdentifiers: replicas,
    };
  }

  private setDbStatus(d: DbInstance, to: string, at: number, extra: () => void = () => {}): void {
    this.core.schedule(at, d.id, to, () => { const from = d.status; d.status = to; extra(); return from; });
  }

  private describeDbInstances(input: rds.DescribeDBInstancesMessage, region: string): rds.DBInstanceMessage {
    if (input.Filters?.length) throw new Error('SimulatedAccount: DescribeDBInstances Filters are not simulated');
    const found = input.DBInstanceIdentifier ? [this.findDb(input.DBInstanceIdentifier, region)] : this.dbs.filter((d) => d.region === region);
    return { DBInstances: found.map((d) => this.toSdkDb(d)) };
  }

  /**
   * available -> modifying -> rebooting -> available and standalone. With the `promotionFails`
   * behaviour the instance ends in RDS's terminal 'failed' status after the modifying phase and is
   * still a replica: the caller sees the promotion never complete and must not flip DNS.
   */
  private promoteReadReplica(input: rds.PromoteReadReplicaMessage, region: string): rds.PromoteReadReplicaResult {
    const d = this.findDb(input.DBInstanceIdentifier ?? '', region);
    if (!d.source) throw this.core.awsError('rds', 'InvalidDBInstanceStateFault', 'DB Instance is not a read replica.');
    if (d.status !== 'available') {
      throw this.core.awsError('rds', 'InvalidDBInstanceStateFault', `DB instance ${d.id} is not in available state (current state: ${d.status}).`);
    }
    const { latencies, clock } = this.core;
    const now = clock.now();
    const rebootAt = now + latencies.rdsPromoteModifyingSeconds * 1000;
    this.setDbStatus(d, 'modifying', now);
    if (this.core.behaviorOf(d.id)?.promotionFails) {
      this.setDbStatus(d, 'failed', rebootAt);
    } else {
      this.setDbStatus(d, 'rebooting', rebootAt);
      const doneAt = rebootAt + latencies.rdsPromoteRebootingSeconds * 1000;
      this.setDbStatus(d, 'available', doneAt, () => { d.source = undefined; d.promotedAt = doneAt; });
    }
    this.core.settle();
    return { DBInstance: this.toSdkDb(d) };
  }
}
