/**
 * A simulated AWS account (EC2, RDS, Route 53, CloudWatch, SNS) behind real AWS SDK v3 clients.
 *
 * There is no AWS account in the drill or the tests, so the code under test talks to real SDK clients
 * whose middleware stack answers from this in-memory account instead of the network. State changes
 * happen on a simulated clock, and errors are real SDK exception classes with the names, faults and
 * HTTP status codes that the SDK produces against real AWS.
 */
import * as ec2 from '@aws-sdk/client-ec2';
import * as rds from '@aws-sdk/client-rds';
import * as r53 from '@aws-sdk/client-route-53';
import * as cw from '@aws-sdk/client-cloudwatch';
import * as sns from '@aws-sdk/client-sns';
import * as sfn from '@aws-sdk/client-sfn';

/** Simulated time. Nothing moves unless someone advances it (every API call does, by `apiCallMs`). */
export class SimClock {
  private current: number;
  constructor(readonly startMs: number = Date.parse('2026-01-01T00:00:00.000Z')) {
    this.current = startMs;
  }
  now(): number {
    return this.current;
  }
  advance(ms: number): void {
    if (!(ms >= 0)) throw new Error(`SimClock cannot go backwards (advance(${ms}))`);
    this.current += ms;
  }
  elapsedSeconds(): number {
    return (this.current - this.startMs) / 1000;
  }
}

export interface Latencies {
  apiCallMs: number;
  ec2ForceStopSeconds: number;
  ec2StopSeconds: number;
  rdsPromoteModifyingSeconds: number;
  rdsPromoteRebootingSeconds: number;
  route53SyncSeconds: number;
}

export const DEFAULT_LATENCIES: Readonly<Latencies> = {
  apiCallMs: 100,
  ec2ForceStopSeconds: 15,
  ec2StopSeconds: 60,
  rdsPromoteModifyingSeconds: 60,
  rdsPromoteRebootingSeconds: 120,
  route53SyncSeconds: 45,
};

export type SimService = 'ec2' | 'rds' | 'route53' | 'cloudwatch' | 'sns' | 'sfn';
export type Ec2State = 'pending' | 'running' | 'shutting-down' | 'stopping' | 'stopped' | 'terminated';

export interface SimRecord { name: string; type: string; ttl: number; values: string[] }
export interface SimInstanceSeed {
  instanceId: string; region: string; state?: Ec2State; privateIpAddress?: string; vpcId?: string;
  /** How many network interfaces (default 1), each with the security group `sg-0app...` of its VPC. */
  networkInterfaces?: number;
}
export interface SimInstanceView { instanceId: string; region: string; state: Ec2State; privateIpAddress: string; vpcId: string }
export interface SimDbSeed {
  id: string; region: string; replicaOf?: string; status?: string; engine?: string; port?: number; endpointAddress?: string;
}
export interface SimDbView {
  id: string; region: string; status: string; replicaOf?: string; endpointAddress: string; promotedAt?: number;
}
export interface SimBehavior { stopNeverCompletes?: boolean; promotionFails?: boolean }
export interface SimFault {
  service: SimService;
  operation: string;
  error: string;
  message?: string;
  times?: number;
  when?: (input: any) => boolean;
}
/** One SDK call; `at` is when it was answered (after `apiCallMs`), `error` the error name if it failed. */
export interface SimApiCall {
  service: SimService; operation: string; region: string; at: number;
  mutating: boolean; dryRun: boolean; input: unknown; error?: string;
}
export interface SimEvent { at: number; resource: string; from: string; to: string }
/** An execution started through StartExecution; the drill runs it on the local workflow runner. */
export interface SimExecution { at: number; stateMachineArn: string; name: string; executionArn: string; input: unknown }
export interface SimPublished {
  at: number; topicArn: string; subject?: string; message: string; attributes?: Record<string, unknown>;
}

// ---------------------------------------------------------------------------------------------
// Errors: built exactly as the SDK's protocol deserializers would build them.
// ---------------------------------------------------------------------------------------------

interface ExceptionOptions {
  name: string; message: string; $fault: 'client' | 'server';
  $metadata: { httpStatusCode: number; requestId: string; attempts: number; totalRetryDelay: number };
  [extra: string]: unknown;
}
type ExceptionCtor = new (opts: ExceptionOptions) => Error;

const SERVICES: Record<SimService, {
  sdk: Record<string, unknown>; base: ExceptionCtor; client: unknown;
  throttle: { name: string; message: string }; queryProtocol: boolean;
}> = {
  ec2: { sdk: ec2, base: ec2.EC2ServiceException as unknown as ExceptionCtor, client: ec2.EC2Client,
    throttle: { name: 'RequestLimitExceeded', message: 'Request limit exceeded.' }, queryProtocol: false },
  rds: { sdk: rds, base: rds.RDSServiceException as unknown as ExceptionCtor, client: rds.RDSClient,
    throttle: { name: 'Throttling', message: 'Rate exceeded' }, queryProtocol: true },
  route53: { sdk: r53, base: r53.Route53ServiceException as unknown as ExceptionCtor, client: r53.Route53Client,
    throttle: { name: 'Throttling', message: 'Rate exceeded' }, queryProtocol: false },
  cloudwatch: { sdk: cw, base: cw.CloudWatchServiceException as unknown as ExceptionCtor, client: cw.CloudWatchClient,
    throttle: { name: 'Throttling', message: 'Rate exceeded' }, queryProtocol: true },
  // SNS's wire code is 'Throttled'; the SDK maps it to its modelled ThrottledException class.
  sns: { sdk: sns, base: sns.SNSServiceException as unknown as ExceptionCtor, client: sns.SNSClient,
    throttle: { name: 'ThrottledException', message: 'Rate exceeded' }, queryProtocol: true },
  sfn: { sdk: sfn, base: sfn.SFNServiceException as unknown as ExceptionCtor, client: sfn.SFNClient,
    throttle: { name: 'ThrottlingException', message: 'Rate exceeded' }, queryProtocol: false },
};

/**
 * HTTP status AWS answers with, where it is not 400. EC2 codes: EC2 API error reference (DryRun is a
 * 412, throttling a 503). Others: the httpError / awsQueryError traits in each SDK's error schema.
 */
const HTTP_STATUS: Record<string, number> = {
  'ec2:DryRunOperation': 412, 'ec2:UnauthorizedOperation': 403, 'ec2:RequestLimitExceeded': 503,
  'ec2:InternalError': 500, 'ec2:Unavailable': 503,
  'rds:DBInstanceNotFoundFault': 404, 'rds:InternalFailure': 500, 'rds:ServiceUnavailable': 503,
  'route53:NoSuchHostedZone': 404, 'route53:NoSuchChange': 404, 'route53:ServiceUnavailable': 503,
  'cloudwatch:InternalServiceFault': 500, 'cloudwatch:ServiceUnavailable': 503,
  'sns:NotFoundException': 404, 'sns:ThrottledException': 429, 'sns:InternalErrorException': 500,
};

/** The SDK's own class for a modelled error; for query protocols the wire code ('NotFound') works too. */
function modeledClass(service: SimService, name: string): ExceptionCtor | undefined {
  const { sdk, base, queryProtocol } = SERVICES[service];
  const candidates = queryProtocol ? [name, `${name}Exception`, `${name}Fault`] : [name];
  for (const c of candidates) {
    const v = sdk[c];
    if (typeof v === 'function' && base.prototype.isPrototypeOf(v.prototype)) return v as ExceptionCtor;
  }
  return undefined;
}

let requestCounter = 0;
function nextRequestId(): string {
  requestCounter += 1;
  return `00000000-0000-4000-8000-${requestCounter.toString(16).padStart(12, '0')}`;
}

/** An error as the SDK throws it: service exception class, `name`, `$fault`, `$metadata`. */
function awsError(service: SimService, name: string, message: string, extra: Record<string, unknown> = {}): Error {
  const Modeled = modeledClass(service, name);
  const sdkName = Modeled ? Modeled.name : name;
  const status = HTTP_STATUS[`${service}:${sdkName}`]
    ?? (/^(Internal|ServiceUnavailable|Unavailable)/.test(sdkName) ? 500 : 400);
  const opts: ExceptionOptions = {
    name: sdkName, message, $fault: status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: status, requestId: nextRequestId(), attempts: 1, totalRetryDelay: 0 },
    ...extra,
  };
  return Modeled ? new Modeled(opts) : new SERVICES[service].base(opts);
}

// ---------------------------------------------------------------------------------------------
// Internal resource state
// ---------------------------------------------------------------------------------------------

const EC2_STATE_CODES: Record<Ec2State, number> = {
  pending: 0, running: 16, 'shutting-down': 32, terminated: 48, stopping: 64, stopped: 80,
};
const ec2StateOf = (s: Ec2State): ec2.InstanceState => ({ Code: EC2_STATE_CODES[s], Name: s });

interface Instance { instanceId: string; region: string; state: Ec2State; privateIpAddress: string; vpcId: string; stopAt?: Transition; eniIds: string[] }
interface NetworkInterface { id: string; region: string; vpcId: string; instanceId: string; groups: string[] }
interface SecurityGroup { id: string; name: string; region: string; vpcId: string }
interface DbInstance {
  id: string; region: string; status: string; engine: string; port: number; endpointAddress: string;
  source?: { region: string; id: string }; promotedAt?: number; lag?: number | ((nowMs: number) => number);
}
interface Zone { id: string; name: string; records: Map<string, SimRecord> }
interface Change { id: string; status: 'PENDING' | 'INSYNC'; submittedAt: number; comment?: string }
interface Transition { at: number; seq: number; resource: string; to: string; apply: () => string; cancelled?: boolean }

const recordKey = (name: string, type: string) => `${name}|${type}`;
const normalizeName = (n: string) => n.trim().toLowerCase().replace(/\.$/, '');
const fqdn = (n: string) => `${n}.`;
/** Route 53 lists records by name with labels reversed (com.example.www), then by type. */
const sortKey = (r: { name: string; type: string }) => `${r.name.split('.').reverse().join('.')}\u0000${r.type}`;
/** Plain code-point order: localeCompare would ignore the separator and mis-order apex records. */
const bySortKey = (a: { name: string; type: string }, b: { name: string; type: string }) =>
  (sortKey(a) < sortKey(b) ? -1 : sortKey(a) > sortKey(b) ? 1 : 0);
const IPV4 = /^((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;
const parseRdsArn = (s: string) => /^arn:aws[\w-]*:rds:([\w-]+):\d+:db:(.+)$/.exec(s);
const stripPrefix = (id: string, prefix: string) => (id.startsWith(prefix) ? id.slice(prefix.length) : id);

type Handler = (input: any, region: string) => object;

/**
 * One simulated AWS account shared by the drill and the tests.
 *
 * @example
 * const account = new SimulatedAccount();
 * account.addInstance({ instanceId: 'i-0abc', region: 'us-east-1' });
 * const ec2 = account.client(EC2Client, 'us-east-1');
 * await ec2.send(new StopInstancesCommand({ InstanceIds: ['i-0abc'], Force: true }));
 * account.instance('i-0abc')?.state;   // 'stopping'
 * account.clock.advance(15_000);
 * account.instance('i-0abc')?.state;   // 'stopped'
 */
export class SimulatedAccount {
  readonly clock: SimClock;
  readonly latencies: Latencies;
  readonly accountId: string;
  readonly published: SimPublished[] = [];
  readonly apiCalls: SimApiCall[] = [];
  readonly startedExecutions: SimExecution[] = [];

  private readonly settledEvents: SimEvent[] = [];
  private readonly instances = new Map<string, Instance>();
  private readonly enis = new Map<string, NetworkInterface>();
  private readonly securityGroups = new Map<string, SecurityGroup>();
  private readonly dbs: DbInstance[] = [];
  private readonly zones = new Map<string, Zone>();
  private readonly changes = new Map<string, Change>();
  private readonly topics = new Set<string>();
  private readonly behaviors = new Map<string, SimBehavior>();
  private readonly faults: Array<SimFault & { remaining: number }> = [];
  private readonly calledOperations = new Set<string>();
  private throttleFirstCalls = false;
  private queue: Transition[] = [];
  private seq = 0;

  private readonly handlers: Record<SimService, Record<string, Handler>> = {
    ec2: {
      DescribeInstances: (i, r) => this.describeInstances(i, r),
      StopInstances: (i, r) => this.stopInstances(i, r),
      DescribeNetworkInterfaces: (i, r) => this.describeNetworkInterfaces(i, r),
      ModifyNetworkInterfaceAttribute: (i, r) => this.modifyNetworkInterfaceAttribute(i, r),
      DescribeSecurityGroups: (i, r) => this.describeSecurityGroups(i, r),
      StartInstances: (i, r) => this.startInstances(i, r),
    },
    rds: {
      DescribeDBInstances: (i, r) => this.describeDbInstances(i, r),
      PromoteReadReplica: (i, r) => this.promoteReadReplica(i, r),
    },
    route53: {
      ListResourceRecordSets: (i) => this.listResourceRecordSets(i),
      ChangeResourceRecordSets: (i) => this.changeResourceRecordSets(i),
      GetChange: (i) => this.getChange(i),
      GetHostedZone: (i) => this.getHostedZone(i),
    },
    cloudwatch: { GetMetricStatistics: (i, r) => this.getMetricStatistics(i, r) },
    sns: { Publish: (i, r) => this.publish(i, r) },
    sfn: { StartExecution: (i, r) => this.startExecution(i, r) },
  };
  private static readonly MUTATING = new Set([
    'ec2:StopInstances', 'ec2:StartInstances', 'ec2:ModifyNetworkInterfaceAttribute', 'rds:PromoteReadReplica',
    'route53:ChangeResourceRecordSets', 'sns:Publish', 'sfn:StartExecution',
  ]);

  constructor(opts: { clock?: SimClock; latencies?: Partial<Latencies>; accountId?: string } = {}) {
    this.clock = opts.clock ?? new SimClock();
    this.latencies = { ...DEFAULT_LATENCIES, ...opts.latencies };
    this.accountId = opts.accountId ?? '123456789012';
  }

  // --- seeding -------------------------------------------------------------------------------

  addInstance(i: SimInstanceSeed): void {
    const vpcId = i.vpcId ?? 'vpc-0sim0000000000001';
    const suffix = i.instanceId.replace(/^i-/, '').slice(-12);
    const eniIds = Array.from({ length: i.networkInterfaces ?? 1 }, (_, n) => `eni-${n}${suffix}`);
    for (const id of eniIds) this.enis.set(id, { id, region: i.region, vpcId, instanceId: i.instanceId, groups: ['sg-0app0000000000001'] });
    this.instances.set(i.instanceId, {
      instanceId: i.instanceId, region: i.region, state: i.state ?? 'running',
      privateIpAddress: i.privateIpAddress ?? `10.0.0.${this.instances.size + 10}`, vpcId, eniIds,
    });
  }

  /** A security group, as a stack would create it (the controller's isolation group, say). */
  addSecurityGroup(g: { id: string; name: string; region: string; vpcId: string }): void {
    this.securityGroups.set(g.id, { ...g });
  }

  /** The security groups of each of the instance's network interfaces. */
  networkInterfacesOf(instanceId: string): Array<{ id: string; groups: string[] }> {
    return (this.instances.get(instanceId)?.eniIds ?? []).map((id) => ({ id, groups: [...this.enis.get(id)!.groups] }));
  }

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

  setReplicaLag(dbInstanceId: string, lag: number | ((nowMs: number) => number)): void {
    this.requireDb(dbInstanceId).lag = lag;
  }

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
    zone.records.set(recordKey(name, r.type), { name, type: r.type, ttl: r.ttl, values: [...r.values] });
  }

  addTopic(arn: string): void {
    this.topics.add(arn);
  }

  // --- behaviours and faults -------------------------------------------------------------------

  setBehavior(resourceId: string, b: SimBehavior): void {
    this.behaviors.set(resourceId, { ...this.behaviors.get(resourceId), ...b });
  }

  /** The next `times` matching calls fail with `error` before doing anything. */
  inject(f: SimFault): void {
    this.faults.push({ ...f, remaining: f.times ?? 1 });
  }

  /** Every operation's first call fails with the service's real throttling error, as under load. */
  throttleFirstCallOfEachOperation(): void {
    this.throttleFirstCalls = true;
  }

  // --- observation -----------------------------------------------------------------------------

  /** Every state transition, in the order it took effect. Reading it applies transitions that are due. */
  get events(): SimEvent[] {
    this.settle();
    return this.settledEvents;
  }

  instance(id: string): SimInstanceView | undefined {
    this.settle();
    const i = this.instances.get(id);
    return i && { instanceId: i.instanceId, region: i.region, state: i.state, privateIpAddress: i.privateIpAddress, vpcId: i.vpcId };
  }

  /**
   * `promotedAt` is when the promotion completed (the instance became standalone).
   * `region` disambiguates when the same identifier exists in two regions.
   */
  dbInstance(id: string, region?: string): SimDbView | undefined {
    this.settle();
    const d = this.dbs.find((x) => x.id === id && (region === undefined || x.region === region));
    return d && {
      id: d.id, region: d.region, status: d.status, replicaOf: this.sourceLabel(d),
      endpointAddress: d.endpointAddress, promotedAt: d.promotedAt,
    };
  }

  records(zoneId: string): SimRecord[] {
    const zone = this.zones.get(stripPrefix(zoneId, '/hostedzone/'));
    if (!zone) return [];
    return [...zone.records.values()].sort(bySortKey)
      .map((r) => ({ ...r, values: [...r.values] }));
  }

  record(zoneId: string, name: string, type: string): SimRecord | undefined {
    return this.records(zoneId).find((r) => r.name === normalizeName(name) && r.type === type);
  }

  // --- SDK clients -----------------------------------------------------------------------------

  /** A real SDK client whose requests are answered by this account instead of the network. */
  client<C>(ctor: new (config: any) => C, region: string): C {
    const service = (Object.keys(SERVICES) as SimService[]).find((s) => SERVICES[s].client === ctor);
    if (!service) throw new Error(`SimulatedAccount: ${ctor.name} is not a simulated service`);
    const client = new ctor({ region, credentials: { accessKeyId: 'sim', secretAccessKey: 'sim' } });
    const internals = client as unknown as SdkClientInternals;
    // At 'initialize' the request never reaches the SDK's retry or the network: a throttle reaches the caller.
    internals.middlewareStack.add(
      (_next, context) => async (args) => {
        const operation = String(context.commandName ?? '').replace(/Command$/, '');
        const output = this.call(service, operation, await internals.config.region(), args.input);
        const $metadata = { httpStatusCode: 200, requestId: nextRequestId(), attempts: 1, totalRetryDelay: 0 };
        return { output: { ...output, $metadata }, response: {} };
      },
      { step: 'initialize', priority: 'high', name: 'simulatedAws' },
    );
    return client;
  }

  /** One API call: advance the clock, apply due transitions, check faults, run, record. */
  private call(service: SimService, operation: string, region: string, rawInput: unknown): object {
    const handler = this.handlers[service][operation];
    if (!handler) throw new Error(`SimulatedAccount: ${service} operation ${operation} is not simulated`);
    const input = (rawInput ?? {}) as Record<string, unknown>;
    this.clock.advance(this.latencies.apiCallMs);
    this.settle();
    const entry: SimApiCall = {
      service, operation, region, at: this.clock.now(), input,
      mutating: SimulatedAccount.MUTATING.has(`${service}:${operation}`), dryRun: input.DryRun === true,
    };
    this.apiCalls.push(entry);
    try {
      this.checkFaults(service, operation, input);
      return handler(input, region);
    } catch (e) {
      entry.error = e instanceof Error ? e.name : String(e);
      throw e;
    }
  }

  private checkFaults(service: SimService, operation: string, input: Record<string, unknown>): void {
    const key = `${service}:${operation}`;
    const first = !this.calledOperations.has(key);
    this.calledOperations.add(key);
    if (this.throttleFirstCalls && first) {
      throw awsError(service, SERVICES[service].throttle.name, SERVICES[service].throttle.message);
    }
    const fault = this.faults.find((f) => f.remaining > 0 && f.service === service
      && (f.operation === '*' || f.operation === operation) && (!f.when || f.when(input)));
    if (!fault) return;
    fault.remaining -= 1;
    const throttle = SERVICES[service].throttle;
    throw awsError(service, fault.error, fault.message ?? (fault.error === throttle.name ? throttle.message : `Simulated ${fault.error}`));
  }

  // --- the scheduler ---------------------------------------------------------------------------

  /** Schedules `apply` (which sets the new state and returns the old one) at simulated time `at`. */
  private schedule(at: number, resource: string, to: string, apply: () => string): Transition {
    const t: Transition = { at, seq: this.seq++, resource, to, apply };
    this.queue.push(t);
    return t;
  }

  /** Applies, in time order, every transition that is due; transitions happen lazily, when state is read. */
  private settle(): void {
    const now = this.clock.now();
    const due = this.queue.filter((t) => t.at <= now && !t.cancelled).sort((a, b) => a.at - b.at || a.seq - b.seq);
    this.queue = this.queue.filter((t) => t.at > now && !t.cancelled);
    for (const t of due) this.settledEvents.push({ at: t.at, resource: t.resource, from: t.apply(), to: t.to });
  }

  private setInstanceState(i: Instance, to: Ec2State, at = this.clock.now()): Transition {
    return this.schedule(at, i.instanceId, to, () => { const from = i.state; i.state = to; return from; });
  }

  private setDbStatus(d: DbInstance, to: string, at: number, extra: () => void = () => {}): void {
    this.schedule(at, d.id, to, () => { const from = d.status; d.status = to; extra(); return from; });
  }

  // --- EC2 -------------------------------------------------------------------------------------

  /** Instances visible in `region`; any unknown id fails the whole call, as EC2 does. */
  private findInstances(ids: string[] | undefined, region: string): Instance[] {
    if (!ids?.length) return [...this.instances.values()].filter((i) => i.region === region);
    const missing = ids.filter((id) => this.instances.get(id)?.region !== region);
    if (missing.length === 1) throw awsError('ec2', 'InvalidInstanceID.NotFound', `The instance ID '${missing[0]}' does not exist`);
    if (missing.length > 1) throw awsError('ec2', 'InvalidInstanceID.NotFound', `The instance IDs '${missing.join(', ')}' do not exist`);
    return ids.map((id) => this.instances.get(id) as Instance);
  }

  private dryRunCheck(input: { DryRun?: boolean }): void {
    if (input.DryRun) throw awsError('ec2', 'DryRunOperation', 'Request would have succeeded, but DryRun flag is set.');
  }

  private describeInstances(input: ec2.DescribeInstancesRequest, region: string): ec2.DescribeInstancesResult {
    if (input.Filters?.length) throw new Error('SimulatedAccount: DescribeInstances Filters are not simulated');
    const found = this.findInstances(input.InstanceIds, region);
    this.dryRunCheck(input);
    return {
      Reservations: found.map((i, n) => ({
        ReservationId: `r-0sim${String(n).padStart(12, '0')}`, OwnerId: this.accountId,
        Instances: [{
          InstanceId: i.instanceId, State: ec2StateOf(i.state), PrivateIpAddress: i.privateIpAddress, VpcId: i.vpcId,
          NetworkInterfaces: i.eniIds.map((id, index) => ({
            NetworkInterfaceId: id, VpcId: i.vpcId, Attachment: { DeviceIndex: index, InstanceOwnerId: this.accountId },
            Groups: this.enis.get(id)!.groups.map((g) => ({ GroupId: g, GroupName: this.securityGroups.get(g)?.name ?? g })),
          })),
        }],
      })),
    };
  }

  private describeNetworkInterfaces(input: ec2.DescribeNetworkInterfacesRequest, region: string): ec2.DescribeNetworkInterfacesResult {
    if (input.Filters?.length) throw new Error('SimulatedAccount: DescribeNetworkInterfaces Filters are not simulated');
    const ids = input.NetworkInterfaceIds ?? [...this.enis.keys()];
    const found = ids.map((id) => {
      const eni = this.enis.get(id);
      if (!eni || eni.region !== region) throw awsError('ec2', 'InvalidNetworkInterfaceID.NotFound', `The networkInterface ID '${id}' does not exist`);
      return eni;
    });
    return {
      NetworkInterfaces: found.map((e) => ({
        NetworkInterfaceId: e.id, VpcId: e.vpcId, Attachment: { InstanceId: e.instanceId },
        Groups: e.groups.map((g) => ({ GroupId: g, GroupName: this.securityGroups.get(g)?.name ?? g })),
      })),
    };
  }

  /** Replacing an interface's security groups takes effect at once, as in EC2. */
  private modifyNetworkInterfaceAttribute(input: ec2.ModifyNetworkInterfaceAttributeRequest, region: string): object {
    const eni = this.enis.get(input.NetworkInterfaceId ?? '');
    if (!eni || eni.region !== region) {
      throw awsError('ec2', 'InvalidNetworkInterfaceID.NotFound', `The networkInterface ID '${input.NetworkInterfaceId}' does not exist`);
    }
    this.dryRunCheck(input);
    if (!input.Groups?.length) throw new Error('SimulatedAccount: only ModifyNetworkInterfaceAttribute Groups is simulated');
    for (const g of input.Groups) {
      const group = this.securityGroups.get(g);
      if (!group || group.region !== region) throw awsError('ec2', 'InvalidGroup.NotFound', `The security group '${g}' does not exist`);
      if (group.vpcId !== eni.vpcId) throw awsError('ec2', 'InvalidParameterValue', `Security group ${g} and interface ${eni.id} belong to different networks.`);
    }
    const from = eni.groups.join(',');
    eni.groups = [...input.Groups];
    this.settledEvents.push({ at: this.clock.now(), resource: eni.id, from, to: eni.groups.join(',') });
    return {};
  }

  private describeSecurityGroups(input: ec2.DescribeSecurityGroupsRequest, region: string): ec2.DescribeSecurityGroupsResult {
    const filters = input.Filters ?? [];
    const matches = (g: SecurityGroup) =>
      g.region === region &&
      (!input.GroupIds || input.GroupIds.includes(g.id)) &&
      filters.every((f) => {
        if (f.Name === 'group-name') return (f.Values ?? []).includes(g.name);
        if (f.Name === 'vpc-id') return (f.Values ?? []).includes(g.vpcId);
        throw new Error(`SimulatedAccount: DescribeSecurityGroups filter ${f.Name} is not simulated`);
      });
    return { SecurityGroups: [...this.securityGroups.values()].filter(matches).map((g) => ({ GroupId: g.id, GroupName: g.name, VpcId: g.vpcId })) };
  }

  private stopInstances(input: ec2.StopInstancesRequest, region: string): ec2.StopInstancesResult {
    const found = this.findInstances(input.InstanceIds ?? [], region);
    const stuck = found.find((i) => i.state === 'pending' || i.state === 'shutting-down' || i.state === 'terminated');
    if (stuck) throw awsError('ec2', 'IncorrectInstanceState', `This instance '${stuck.instanceId}' is not in a state from which it can be stopped.`);
    this.dryRunCheck(input);
    // SkipOsShutdown skips the graceful OS shutdown, so it stops as fast as a forced stop.
    const seconds = input.Force || input.SkipOsShutdown ? this.latencies.ec2ForceStopSeconds : this.latencies.ec2StopSeconds;
    const doneAt = this.clock.now() + seconds * 1000;
    const result = found.map((i) => {
      const previous = i.state;
      if (i.state === 'running') {
        this.setInstanceState(i, 'stopping');
        this.settle();
      }
      // Like AWS, a forced stop also hurries an instance that is already stopping; stopping/stopped is no error.
      const hurry = i.state === 'stopping' && (!i.stopAt || i.stopAt.at > doneAt);
      if (hurry && !this.behaviors.get(i.instanceId)?.stopNeverCompletes) {
        if (i.stopAt) i.stopAt.cancelled = true;
        i.stopAt = this.setInstanceState(i, 'stopped', doneAt);
      }
      return { InstanceId: i.instanceId, PreviousState: ec2StateOf(previous), CurrentState: ec2StateOf(i.state) };
    });
    return { StoppingInstances: result };
  }

  private startInstances(input: ec2.StartInstancesRequest, region: string): ec2.StartInstancesResult {
    const found = this.findInstances(input.InstanceIds ?? [], region);
    const stuck = found.find((i) => i.state !== 'stopped' && i.state !== 'running' && i.state !== 'pending');
    if (stuck) throw awsError('ec2', 'IncorrectInstanceState', `The instance '${stuck.instanceId}' is not in a state from which it can be started.`);
    this.dryRunCheck(input);
    const result = found.map((i) => {
      const previous = i.state;
      if (i.state === 'stopped') {
        i.stopAt = undefined;
        this.setInstanceState(i, 'pending');
        this.settle();
        this.setInstanceState(i, 'running', this.clock.now() + 10_000);
      }
      return { InstanceId: i.instanceId, PreviousState: ec2StateOf(previous), CurrentState: ec2StateOf(i.state) };
    });
    return { StartingInstances: result };
  }

  // --- RDS -------------------------------------------------------------------------------------

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
    if (!d) throw awsError('rds', 'DBInstanceNotFoundFault', `DBInstance ${id} not found.`);
    return d;
  }

  private arnOf(d: { region: string; id: string }): string {
    return `arn:aws:rds:${d.region}:${this.accountId}:db:${d.id}`;
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
    if (!d.source) throw awsError('rds', 'InvalidDBInstanceStateFault', 'DB Instance is not a read replica.');
    if (d.status !== 'available') {
      throw awsError('rds', 'InvalidDBInstanceStateFault', `DB instance ${d.id} is not in available state (current state: ${d.status}).`);
    }
    const now = this.clock.now();
    const rebootAt = now + this.latencies.rdsPromoteModifyingSeconds * 1000;
    this.setDbStatus(d, 'modifying', now);
    if (this.behaviors.get(d.id)?.promotionFails) {
      this.setDbStatus(d, 'failed', rebootAt);
    } else {
      this.setDbStatus(d, 'rebooting', rebootAt);
      const doneAt = rebootAt + this.latencies.rdsPromoteRebootingSeconds * 1000;
      this.setDbStatus(d, 'available', doneAt, () => { d.source = undefined; d.promotedAt = doneAt; });
    }
    this.settle();
    return { DBInstance: this.toSdkDb(d) };
  }

  // --- Route 53 --------------------------------------------------------------------------------

  private findZone(id: string | undefined): Zone {
    const zoneId = stripPrefix(id ?? '', '/hostedzone/');
    const zone = this.zones.get(zoneId);
    if (!zone) throw awsError('route53', 'NoSuchHostedZone', `No hosted zone found with ID: ${zoneId}`);
    return zone;
  }

  private listResourceRecordSets(input: r53.ListResourceRecordSetsRequest): r53.ListResourceRecordSetsResponse {
    const zone = this.findZone(input.HostedZoneId);
    if (input.StartRecordType && !input.StartRecordName) {
      throw awsError('route53', 'InvalidInput', 'The input is not valid: StartRecordType requires StartRecordName');
    }
    const maxItems = input.MaxItems ?? 300;
    const start = input.StartRecordName ? sortKey({ name: normalizeName(input.StartRecordName), type: input.StartRecordType ?? '' }) : '';
    const all = this.records(zone.id).filter((r) => sortKey(r) >= start);
    const page = all.slice(0, maxItems);
    const next = all[maxItems];
    return {
      ResourceRecordSets: page.map((r) => ({
        Name: fqdn(r.name), Type: r.type as r53.RRType, TTL: r.ttl, ResourceRecords: r.values.map((Value) => ({ Value })),
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
      if (!set?.Name || !set.Type) throw awsError('route53', 'InvalidInput', 'Invalid request: ResourceRecordSet requires Name and Type');
      if (set.AliasTarget || set.SetIdentifier) throw new Error('SimulatedAccount: alias and routing-policy records are not simulated');
      const name = normalizeName(set.Name);
      const label = `[name='${fqdn(name)}', type='${set.Type}']`;
      if (set.TTL === undefined || !set.ResourceRecords?.length) {
        throw awsError('route53', 'InvalidInput', 'Invalid request: Expected exactly one of [AliasTarget, all of [TTL, and '
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
      throw awsError('route53', 'InvalidChangeBatch', `[${problems.join(', ')}]`, { messages: problems });
    }
    zone.records = working;
    // Records answer immediately; the change reports INSYNC once all Route 53 name servers have it.
    // Deterministic ids keep drill reports reproducible; the shape matches Route 53's ('C' + 13 characters).
    const id = `C${(0x2f1a3c + this.changes.size * 7919).toString(36).toUpperCase().padStart(13, '0')}`;
    const change: Change = { id, status: 'PENDING', submittedAt: this.clock.now(), comment: input.ChangeBatch?.Comment };
    this.changes.set(change.id, change);
    this.schedule(change.submittedAt + this.latencies.route53SyncSeconds * 1000, `/change/${change.id}`, 'INSYNC',
      () => { const from = change.status; change.status = 'INSYNC'; return from; });
    return { ChangeInfo: this.changeInfo(change) };
  }

  private changeInfo(c: Change): r53.ChangeInfo {
    return { Id: `/change/${c.id}`, Status: c.status, SubmittedAt: new Date(c.submittedAt), Comment: c.comment };
  }

  private getChange(input: r53.GetChangeRequest): r53.GetChangeResponse {
    const id = stripPrefix(input.Id ?? '', '/change/');
    const change = this.changes.get(id);
    if (!change) throw awsError('route53', 'NoSuchChange', `A change with the specified change ID does not exist: ${id}`);
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

  // --- CloudWatch ------------------------------------------------------------------------------

  /**
   * AWS/RDS ReplicaLag: one sample per whole minute in [StartTime, EndTime) up to now, aggregated per
   * Period. A DB with no lag set (not a replica), or minutes after its promotion, has no data.
   */
  private getMetricStatistics(input: cw.GetMetricStatisticsInput, region: string): cw.GetMetricStatisticsOutput {
    const out: cw.GetMetricStatisticsOutput = { Label: input.MetricName, Datapoints: [] };
    const dbId = input.Dimensions?.find((d) => d.Name === 'DBInstanceIdentifier')?.Value;
    const db = this.dbs.find((d) => d.id === dbId && d.region === region);
    if (input.Namespace !== 'AWS/RDS' || input.MetricName !== 'ReplicaLag' || !db || db.lag === undefined) return out;
    const period = (input.Period ?? 60) * 1000;
    const end = Math.min(new Date(input.EndTime ?? 0).getTime(), this.clock.now() + 1);
    const buckets = new Map<number, number[]>();
    for (let t = Math.ceil(new Date(input.StartTime ?? 0).getTime() / 60_000) * 60_000; t < end; t += 60_000) {
      if (db.promotedAt !== undefined && t >= db.promotedAt) break;
      const value = typeof db.lag === 'function' ? db.lag(t) : db.lag;
      const bucket = Math.floor(t / period) * period;
      buckets.set(bucket, [...(buckets.get(bucket) ?? []), value]);
    }
    const stats = new Set(input.Statistics ?? []);
    out.Datapoints = [...buckets].map(([at, v]) => ({
      Timestamp: new Date(at), Unit: 'Seconds' as const,
      ...(stats.has('Average') && { Average: v.reduce((a, b) => a + b, 0) / v.length }),
      ...(stats.has('Maximum') && { Maximum: Math.max(...v) }),
      ...(stats.has('Minimum') && { Minimum: Math.min(...v) }),
      ...(stats.has('Sum') && { Sum: v.reduce((a, b) => a + b, 0) }),
      ...(stats.has('SampleCount') && { SampleCount: v.length }),
    }));
    return out;
  }

  // --- SNS -------------------------------------------------------------------------------------

  private publish(input: sns.PublishInput, region: string): sns.PublishResponse {
    const arn = input.TopicArn ?? '';
    if (!this.topics.has(arn) || arn.split(':')[3] !== region) throw awsError('sns', 'NotFoundException', 'Topic does not exist');
    if (!input.Message) throw awsError('sns', 'InvalidParameterException', 'Invalid parameter: Empty message');
    this.published.push({
      at: this.clock.now(), topicArn: arn, subject: input.Subject, message: input.Message,
      attributes: input.MessageAttributes as Record<string, unknown> | undefined,
    });
    return { MessageId: nextRequestId() };
  }

  // --- Step Functions ----------------------------------------------------------------------------

  /**
   * Execution names are unique per state machine (for 90 days): a second StartExecution with a used
   * name fails with ExecutionAlreadyExists, which is what makes a deterministic name a dedupe key.
   */
  private startExecution(input: sfn.StartExecutionInput, region: string): sfn.StartExecutionOutput {
    const machine = input.stateMachineArn ?? '';
    const parts = machine.split(':');
    if (parts[2] !== 'states' || parts[3] !== region || parts[5] !== 'stateMachine') {
      throw awsError('sfn', 'StateMachineDoesNotExist', `State Machine Does Not Exist: '${machine}'`);
    }
    const name = input.name ?? nextRequestId();
    const executionArn = `arn:aws:states:${region}:${this.accountId}:execution:${parts[6]}:${name}`;
    if (this.startedExecutions.some((e) => e.executionArn === executionArn)) {
      throw awsError('sfn', 'ExecutionAlreadyExists', `Execution Already Exists: '${executionArn}'`);
    }
    this.startedExecutions.push({ at: this.clock.now(), stateMachineArn: machine, name, executionArn, input: JSON.parse(input.input ?? '{}') });
    return { executionArn, startDate: new Date(this.clock.now()) };
  }
}

/** The two SDK client internals the simulation needs, typed structurally. */
interface SdkClientInternals {
  config: { region: () => Promise<string> };
  middlewareStack: {
    add(
      middleware: (next: unknown, context: { commandName?: string }) => (args: { input: unknown }) => Promise<{ output: object; response: object }>,
      options: { step: 'initialize'; priority: 'high'; name: string },
    ): void;
  };
}
