/**
 * Simulated Route 53: hosted zones, their record sets, changes that go INSYNC on the clock, health
 * checks that follow CloudWatch alarms, and the data plane: what each of the zone's authoritative name
 * servers answers, from the records' data and the health checks' status as that server knows it.
 */
import type * as r53 from '@aws-sdk/client-route-53';
import type { Handler, SimCore, SimServiceModule } from './core';
import type { AlarmState } from './cloudwatch';

export interface SimRecord {
  name: string; type: string; ttl: number; values: string[];
  /**
   * An alias record: Route 53 answers with the target's own records and the record has no TTL or values
   * of its own (Route 53 Developer Guide, "Choosing between alias and non-alias records").
   */
  alias?: { dnsName: string; hostedZoneId: string; evaluateTargetHealth: boolean };
  /** A routing-policy record (weighted, failover, latency...): one of several with the same name and type. */
  setIdentifier?: string;
  weight?: number;
  /** A failover record (ResourceRecordSet.Failover) and the health check that decides whether it answers. */
  failover?: 'PRIMARY' | 'SECONDARY';
  healthCheckId?: string;
}

/**
 * A CLOUDWATCH_METRIC health check: healthy while its alarm is OK, unhealthy while it is ALARM, and
 * `insufficientDataHealthStatus` while the alarm has INSUFFICIENT_DATA; LastKnownStatus keeps the
 * status from the last time the alarm had data, healthy for a new health check (Route 53 API reference,
 * HealthCheckConfig, InsufficientDataHealthStatus).
 */
export interface SimHealthCheck {
  id: string;
  alarm: { name: string; region: string };
  insufficientDataHealthStatus: 'Healthy' | 'Unhealthy' | 'LastKnownStatus';
}

/** What one authoritative name server answers for a name and type. */
export interface SimDnsAnswer { server: string; answers: string[]; ttl: number | null }

/** Where health checks read their alarm's state changes from (the simulated CloudWatch). */
export type AlarmStream = (name: string, region: string) => Array<{ at: number; state: AlarmState }>;

interface Zone { id: string; name: string; records: Map<string, SimRecord> }
interface Change { id: string; status: 'PENDING' | 'INSYNC'; submittedAt: number; comment?: string }

const recordKey = (name: string, type: string, setIdentifier?: string) => `${name}|${type}${setIdentifier ? `|${setIdentifier}` : ''}`;
const normalizeName = (n: string) => n.trim().toLowerCase().replace(/\.$/, '');
const fqdn = (n: string) => `${n}.`;
/** Route 53 lists records by name with labels reversed (com.example.www), then by type. */
const sortKey = (r: { name: string; type: string }) => `${r.name.split('.').reverse().join('.')}\u0000${r.type}`;
/** Plain code-point order: localeCompare would ignore the separator and mis-order apex records. */
const bySortKey = (a: { name: string; type: string }, b: { name: string; type: string }) =>
  (sortKey(a) < sortKey(b) ? -1 : sortKey(a) > sortKey(b) ? 1 : 0);
const IPV4 = /^((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;
const stripPrefix = (id: string, prefix: string) => (id.startsWith(prefix) ? id.slice(prefix.length) : id);

export class SimRoute53 implements SimServiceModule {
  readonly handlers: Record<string, Handler> = {
    ListResourceRecordSets: (i) => this.listResourceRecordSets(i),
    ChangeResourceRecordSets: (i) => this.changeResourceRecordSets(i),
    GetChange: (i) => this.getChange(i),
    GetHostedZone: (i) => this.getHostedZone(i),
  };
  readonly mutating: ReadonlySet<string> = new Set(['ChangeResourceRecordSets']);

  private readonly zones = new Map<string, Zone>();
  private readonly changes = new Map<string, Change>();
  private readonly healthChecks = new Map<string, SimHealthCheck>();
  private alarmStream: AlarmStream = () => [];

  constructor(private readonly core: SimCore) {}

  /** Health checks read their alarms' data stream from here. */
  followAlarms(stream: AlarmStream): void {
    this.alarmStream = stream;
  }

  addHealthCheck(h: SimHealthCheck): void {
    this.healthChecks.set(h.id, { ...h, alarm: { ...h.alarm } });
  }

  /**
   * Healthy or not at `at`, as Route 53's health checkers see it: the alarm's state as it was
   * healthCheckFollowsAlarmSeconds earlier (the checkers follow the alarm's data stream, not at once).
   */
  healthy(healthCheckId: string, at = this.core.clock.now()): boolean {
    const h = this.healthChecks.get(healthCheckId);
    if (!h) throw new Error(`SimulatedAccount: no health check ${healthCheckId}`);
    const seen = at - this.core.latencies.healthCheckFollowsAlarmSeconds * 1000;
    const stream = this.alarmStream(h.alarm.name, h.alarm.region).filter((e) => e.at <= seen);
    const state = stream.at(-1)?.state ?? 'INSUFFICIENT_DATA';
    if (state === 'OK') return true;
    if (state === 'ALARM') return false;
    if (h.insufficientDataHealthStatus !== 'LastKnownStatus') return h.insufficientDataHealthStatus === 'Healthy';
    const known = stream.filter((e) => e.state !== 'INSUFFICIENT_DATA').at(-1);
    return known ? known.state === 'OK' : true;
  }

  /** The zone's authoritative name servers (its apex NS record), without the trailing dot. */
  nameServers(zoneName: string): string[] {
    const zone = [...this.zones.values()].find((z) => z.name === normalizeName(zoneName));
    return zone?.records.get(recordKey(zone.name, 'NS'))?.values.map((v) => v.replace(/\.$/, '')) ?? [];
  }

  /**
   * The data plane: what each authoritative name server of the zone holding `name` answers for it now.
   * Routing follows the records and the health checks' status as each server has it: the servers learn
   * a status change one after another, the last route53HealthPropagationSeconds after it. Failover
   * records (Route 53 API reference, ResourceRecordSet, Failover): the PRIMARY while it is healthy; else
   * the SECONDARY while it is healthy (always, without a health check); when the SECONDARY is unhealthy,
   * the PRIMARY "regardless of the health of the primary". A simple record answers its values (changes
   * through the API take effect at once here; GetChange reports INSYNC later). No record: no answer.
   */
  resolve(name: string, type: string, at?: number): SimDnsAnswer[] {
    this.core.settle();
    const wanted = normalizeName(name);
    const zone = [...this.zones.values()]
      .filter((z) => wanted === z.name || wanted.endsWith(`.${z.name}`))
      .sort((a, b) => b.name.length - a.name.length)[0];
    if (!zone) return [];
    const servers = this.nameServers(zone.name);
    const now = at ?? this.core.clock.now();
    const spread = this.core.latencies.route53HealthPropagationSeconds * 1000;
    const sets = [...zone.records.values()].filter((r) => r.name === wanted && r.type === type);
    return servers.map((server, i) => {
      // Server i knows the health status as it was this long ago.
      const known = now - (spread * (i + 1)) / servers.length;
      const answer = (r: SimRecord | undefined): SimDnsAnswer => ({ server, answers: r ? [...r.values] : [], ttl: r ? r.ttl : null });
      const simple = sets.find((r) => r.setIdentifier === undefined);
      if (simple) return answer(simple);
      const primary = sets.find((r) => r.failover === 'PRIMARY');
      const secondary = sets.find((r) => r.failover === 'SECONDARY');
      const healthy = (r: SimRecord | undefined) => !!r && (r.healthCheckId === undefined || this.healthy(r.healthCheckId, known));
      if (primary && (healthy(primary) || !secondary)) return answer(primary);
      if (secondary && healthy(secondary)) return answer(secondary);
      return answer(primary ?? secondary);
    });
  }

  // --- seeding and observation -----------------------------------------------------------------

  /** A new zone gets the apex NS and SOA records every Route 53 zone has. */
  addHostedZone(z: { id: string; name: string }): void {
    const zone: Zone = { id: stripPrefix(z.id, '/hostedzone/'), name: normalizeName(z.name), records: new Map() };
    this.zones.set(zone.id, zone);
    const ns = ['ns-101.awsdns-12.com.', 'ns-602.awsdns-11.net.', 'ns-1203.awsdns-22.org.', 'ns-1804.awsdns-33.co.uk.'];
    zone.records.set(recordKey(zone.name, 'NS'), { name: zone.name, type: 'NS', ttl: 172800, values: ns });
    zone.records.set(recordKey(zone.name, 'SOA'), {
      name: zone.name, type: 'SOA', ttl: 900, values: [`${ns[0]} awsdns-hostmaster.amazon.com. 1 7200 900 1209600 86400`],
    });
  }

  putRecord(zoneId: string, r: SimRecord): void {
    const zone = this.zones.get(stripPrefix(zoneId, '/hostedzone/'));
    if (!zone) throw new Error(`SimulatedAccount: no hosted zone ${zoneId}`);
    const name = normalizeName(r.name);
    // A record of another kind with the same name and type replaces it (what a person editing the zone
    // does); routing-policy records of one name and type sit side by side, one per SetIdentifier.
    for (const [key, old] of zone.records) {
      if (old.name === name && old.type === r.type && (old.setIdentifier === undefined || r.setIdentifier === undefined)) zone.records.delete(key);
    }
    zone.records.set(recordKey(name, r.type, r.setIdentifier), { ...r, name, values: [...r.values], ...(r.alias && { alias: { ...r.alias } }) });
  }

  records(zoneId: string): SimRecord[] {
    const zone = this.zones.get(stripPrefix(zoneId, '/hostedzone/'));
    if (!zone) return [];
    return [...zone.records.values()].sort(bySortKey)
      .map((r) => ({ ...r, values: [...r.values], ...(r.alias && { alias: { ...r.alias } }) }));
  }

  record(zoneId: string, name: string, type: string): SimRecord | undefined {
    return this.records(zoneId).find((r) => r.name === normalizeName(name) && r.type === type);
  }

  // --- operations ------------------------------------------------------------------------------

  private findZone(id: string | undefined): Zone {
    const zoneId = stripPrefix(id ?? '', '/hostedzone/');
    const zone = this.zones.get(zoneId);
    if (!zone) throw this.core.awsError('route53', 'NoSuchHostedZone', `No hosted zone found with ID: ${zoneId}`);
    return zone;
  }

  private listResourceRecordSets(input: r53.ListResourceRecordSetsRequest): r53.ListResourceRecordSetsResponse {
    const zone = this.findZone(input.HostedZoneId);
    if (input.StartRecordType && !input.StartRecordName) {
      throw this.core.awsError('route53', 'InvalidInput', 'The input is not valid: StartRecordType requires StartRecordName');
    }
    const maxItems = input.MaxItems ?? 300;
    const start = input.StartRecordName ? sortKey({ name: normalizeName(input.StartRecordName), type: input.StartRecordType ?? '' }) : '';
    const all = this.records(zone.id).filter((r) => sortKey(r) >= start);
    const page = all.slice(0, maxItems);
    const next = all[maxItems];
    return {
      ResourceRecordSets: page.map((r) => ({
        Name: fqdn(r.name), Type: r.type as r53.RRType,
        ...(r.setIdentifier !== undefined && (r.failover
          ? { SetIdentifier: r.setIdentifier, Failover: r.failover, ...(r.healthCheckId && { HealthCheckId: r.healthCheckId }) }
          : { SetIdentifier: r.setIdentifier, Weight: r.weight ?? 0 })),
        // An alias record has an AliasTarget and neither TTL nor ResourceRecords.
        ...(r.alias
          ? { AliasTarget: { DNSName: fqdn(r.alias.dnsName), HostedZoneId: r.alias.hostedZoneId, EvaluateTargetHealth: r.alias.evaluateTargetHealth } }
          : { TTL: r.ttl, ResourceRecords: r.values.map((Value) => ({ Value })) }),
      })),
      IsTruncated: next !== undefined, MaxItems: maxItems,
      ...(next && { NextRecordName: fqdn(next.name), NextRecordType: next.type as r53.RRType }),
    };
  }

  /** Validates the whole batch against a working copy, then swaps it in: all or nothing, like Route 53. */
  private changeResourceRecordSets(input: r53.ChangeResourceRecordSetsRequest): r53.ChangeResourceRecordSetsResponse {
    const zone = this.findZone(input.HostedZoneId);
    const working = new Map(zone.records);
    const problems: string[] = [];
    for (const change of input.ChangeBatch?.Changes ?? []) {
      const set = change.ResourceRecordSet;
      if (!set?.Name || !set.Type) throw this.core.awsError('route53', 'InvalidInput', 'Invalid request: ResourceRecordSet requires Name and Type');
      if (set.AliasTarget || set.SetIdentifier) throw new Error('SimulatedAccount: alias and routing-policy records are not simulated');
      const name = normalizeName(set.Name);
      const label = `[name='${fqdn(name)}', type='${set.Type}']`;
      if (set.TTL === undefined || !set.ResourceRecords?.length) {
        throw this.core.awsError('route53', 'InvalidInput', 'Invalid request: Expected exactly one of [AliasTarget, all of [TTL, and '
          + `ResourceRecords], or TrafficPolicyInstanceId], but found none in Change with [Action=${change.Action}, `
          + `Name=${fqdn(name)}, Type=${set.Type}, SetIdentifier=null]`);
      }
      const values = set.ResourceRecords.map((r) => r.Value ?? '');
      const existing = working.get(recordKey(name, set.Type));
      if (name !== zone.name && !name.endsWith(`.${zone.name}`)) {
        problems.push(`RRSet with DNS name ${fqdn(name)} is not permitted in zone ${fqdn(zone.name)}`);
      } else if (set.Type === 'CNAME' && name === zone.name) {
        problems.push(`RRSet of type CNAME with DNS name ${fqdn(name)} is not permitted at apex in zone ${fqdn(zone.name)}`);
      } else if (set.Type === 'A' && values.some((v) => !IPV4.test(v))) {
        const bad = values.find((v) => !IPV4.test(v));
        problems.push('Invalid Resource Record: \'FATAL problem: ARRDATAIllegalIPv4Address '
          + `(Value is not a valid IPv4 address) encountered with '${bad}''`);
      } else if (change.Action !== 'DELETE' && [...working.values()].some((r) => r.name === name && r.type === set.Type && r.setIdentifier !== undefined)) {
        // A simple record cannot sit beside routing-policy records of the same name and type (this simulator's wording).
        problems.push(`RRSet ${label} conflicts with an existing routing-policy (SetIdentifier) record of the same name and type`);
      } else if (change.Action === 'CREATE' && existing) {
        problems.push(`Tried to create resource record set ${label} but it already exists`);
      } else if (change.Action === 'DELETE' && !existing) {
        problems.push(`Tried to delete resource record set ${label} but it was not found`);
      } else if (change.Action === 'DELETE' && existing && (existing.ttl !== set.TTL || existing.values.join('\n') !== values.join('\n'))) {
        problems.push(`Tried to delete resource record set ${label} but the values provided do not match the current values`);
      } else if (change.Action === 'DELETE') {
        working.delete(recordKey(name, set.Type));
      } else {
        working.set(recordKey(name, set.Type), { name, type: set.Type, ttl: set.TTL, values });
      }
    }
    if (problems.length) {
      throw this.core.awsError('route53', 'InvalidChangeBatch', `[${problems.join(', ')}]`, { messages: problems });
    }
    zone.records = working;
    // Records answer immediately; the change reports INSYNC once all Route 53 name servers have it.
    // Deterministic ids keep drill reports reproducible; the shape matches Route 53's ('C' + 13 characters).
    const id = `C${(0x2f1a3c + this.changes.size * 7919).toString(36).toUpperCase().padStart(13, '0')}`;
    const change: Change = { id, status: 'PENDING', submittedAt: this.core.clock.now(), comment: input.ChangeBatch?.Comment };
    this.changes.set(change.id, change);
    this.core.schedule(change.submittedAt + this.core.latencies.route53SyncSeconds * 1000, `/change/${change.id}`, 'INSYNC',
      () => { const from = change.status; change.status = 'INSYNC'; return from; });
    return { ChangeInfo: this.changeInfo(change) };
  }

  private changeInfo(c: Change): r53.ChangeInfo {
    return { Id: `/change/${c.id}`, Status: c.status, SubmittedAt: new Date(c.submittedAt), Comment: c.comment };
  }

  private getChange(input: r53.GetChangeRequest): r53.GetChangeResponse {
    const id = stripPrefix(input.Id ?? '', '/change/');
    const change = this.changes.get(id);
    if (!change) throw this.core.awsError('route53', 'NoSuchChange', `A change with the specified change ID does not exist: ${id}`);
    return { ChangeInfo: this.changeInfo(change) };
  }

  private getHostedZone(input: r53.GetHostedZoneRequest): r53.GetHostedZoneResponse {
    const zone = this.findZone(input.Id);
    return {
      HostedZone: {
        Id: `/hostedzone/${zone.id}`, Name: fqdn(zone.name), CallerReference: `sim-${zone.id}`,
        Config: { PrivateZone: false }, ResourceRecordSetCount: zone.records.size,
      },
      DelegationSet: { NameServers: zone.records.get(recordKey(zone.name, 'NS'))?.values.map((v) => v.replace(/\.$/, '')) ?? [] },
    };
  }
}
