/**
 * A simulated AWS account (EC2, RDS, Route 53, CloudWatch, SNS, Step Functions, Lambda, SQS) behind real AWS SDK v3
 * clients.
 *
 * There is no AWS account in the drill or the tests, so the code under test talks to real SDK clients
 * whose middleware stack answers from this in-memory account instead of the network. State changes
 * happen on a simulated clock, and errors are real SDK exception classes with the names, faults and
 * HTTP status codes that the SDK produces against real AWS.
 *
 * Each service is its own module (ec2.ts, rds.ts, route53.ts, cloudwatch.ts, sns.ts, sfn.ts) over a
 * shared core (core.ts: clock, latencies, behaviours, the scheduler of transitions; errors.ts: how SDK
 * exceptions are built). This class composes them and owns the call path every SDK request takes.
 */
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { EC2Client } from '@aws-sdk/client-ec2';
import { RDSClient } from '@aws-sdk/client-rds';
import { Route53Client } from '@aws-sdk/client-route-53';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SNSClient } from '@aws-sdk/client-sns';
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { SimClock } from './clock';
import { SimCore, type Latencies, type SimBehavior, type SimCoreOptions, type SimEvent, type SimServiceModule } from './core';
import { throttlingOf, unreachableError, type SimService } from './errors';
import { SimEc2, type SimInstanceSeed, type SimInstanceView } from './ec2';
import { SimRds, type Seconds, type SimDbSeed, type SimDbView } from './rds';
import { SimRoute53, type SimRecord } from './route53';
import { SimCloudWatch } from './cloudwatch';
import { SimSns, type SimPublished } from './sns';
import { SimStepFunctions, type SimExecution } from './sfn';
import { SimAutoScaling } from './autoscaling';
import { SimClients } from './clients';
import { SimLambda } from './lambda';
import { SimSqs } from './sqs';
import { SimNetwork } from './network';

export { SimClock } from './clock';
export { DEFAULT_LATENCIES, type Latencies, type SimBehavior, type SimEvent } from './core';
export type { SimService } from './errors';
export type { Ec2State, SimInstanceSeed, SimInstanceView } from './ec2';
export type { ReplicationState, Seconds, SimDbSeed, SimDbView, SimWrite } from './rds';
export type { SimClientSeed, SimWriteAttempt } from './clients';
export type { SimDnsAnswer, SimHealthCheck, SimRecord } from './route53';
export type { AlarmState, MetricAlarmDefinition } from './cloudwatch';
export type { SimPublished } from './sns';
export type { SimExecution } from './sfn';

export interface SimFault {
  service: SimService;
  operation: string;
  error: string;
  message?: string;
  times?: number;
  when?: (input: any) => boolean;
}
/**
 * How every call to a service in a region fails during an outage: the service answers with a real AWS
 * error (`error`: its name, as the SDK's deserializer names it, e.g. ServiceUnavailable), or nothing
 * answers at all (`network`: the client's HTTP handler gives up after `unreachableTimeoutSeconds`).
 */
export type SimOutageFailure = { kind: 'error'; error: string; message?: string } | { kind: 'network' };
/** Service `service` in `region` ('*': every region, for a global service's API) fails every call. */
export interface SimOutage { service: SimService; region: string; failure: SimOutageFailure }

/** One SDK call; `at` is when it was answered (after `apiCallMs`), `error` the error name if it failed. */
export interface SimApiCall {
  service: SimService; operation: string; region: string; at: number;
  mutating: boolean; dryRun: boolean; input: unknown; error?: string;
}

/** The SDK client class each simulated service answers for. */
const CLIENTS: Record<SimService, unknown> = {
  ec2: EC2Client, rds: RDSClient, route53: Route53Client, cloudwatch: CloudWatchClient, sns: SNSClient, sfn: SFNClient,
  autoscaling: AutoScalingClient, lambda: LambdaClient, sqs: SQSClient,
};

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
  readonly published: SimPublished[];
  readonly apiCalls: SimApiCall[] = [];
  readonly startedExecutions: SimExecution[];

  readonly ec2: SimEc2;
  readonly rds: SimRds;
  readonly route53: SimRoute53;
  readonly cloudwatch: SimCloudWatch;
  readonly sns: SimSns;
  readonly sfn: SimStepFunctions;
  readonly autoscaling: SimAutoScaling;
  /** The databases' clients: what writes, through which name, and what each database accepted. */
  readonly clients: SimClients;
  /** Lambda functions outside the controller's region (the vantage functions). */
  readonly lambda: SimLambda;
  /** The probe rounds' queue (and any other). */
  readonly sqs: SimSqs;
  /** Which region's code reaches which region's endpoints (network.ts). */
  readonly network = new SimNetwork();

  private readonly core: SimCore;
  private readonly services: Record<SimService, SimServiceModule>;
  private readonly faults: Array<SimFault & { remaining: number }> = [];
  private readonly calledOperations = new Set<string>();
  private throttleFirstCalls = false;
  /** Control-plane outages, by `service:region` (region '*' for every region). */
  private readonly outages = new Map<string, SimOutageFailure>();

  constructor(opts: SimCoreOptions = {}) {
    this.core = new SimCore(opts);
    this.clock = this.core.clock;
    this.latencies = this.core.latencies;
    this.accountId = this.core.accountId;
    this.ec2 = new SimEc2(this.core);
    this.rds = new SimRds(this.core);
    this.route53 = new SimRoute53(this.core);
    this.cloudwatch = new SimCloudWatch(this.core, this.rds);
    this.sns = new SimSns(this.core);
    this.route53.followAlarms((name, region) => this.cloudwatch.alarmHistory(name, region));
    this.sfn = new SimStepFunctions(this.core);
    this.autoscaling = new SimAutoScaling(this.core, this.ec2);
    this.clients = new SimClients(this.core, this.rds, this.route53);
    this.lambda = new SimLambda(this.core);
    this.sqs = new SimSqs(this.core);
    this.services = {
      ec2: this.ec2, rds: this.rds, route53: this.route53, cloudwatch: this.cloudwatch, sns: this.sns, sfn: this.sfn, autoscaling: this.autoscaling,
      lambda: this.lambda, sqs: this.sqs,
    };
    this.published = this.sns.published;
    this.startedExecutions = this.sfn.startedExecutions;
  }

  // --- seeding (see each service's module) -----------------------------------------------------

  addInstance(i: SimInstanceSeed): void {
    this.ec2.addInstance(i);
  }

  /**
   * A security group, as a stack would create it: `denyAll` for one with no inbound rule (the
   * controller's isolation groups), which lets no new connection in, to an instance or a database.
   */
  addSecurityGroup(g: { id: string; name: string; region: string; vpcId: string; denyAll?: boolean }): void {
    this.ec2.addSecurityGroup(g);
    this.rds.addSecurityGroup({ id: g.id, vpcId: g.vpcId, denyAll: g.denyAll ?? false });
  }

  /** The security groups of each of the instance's network interfaces. */
  networkInterfacesOf(instanceId: string): Array<{ id: string; groups: string[] }> {
    return this.ec2.networkInterfacesOf(instanceId);
  }

  /** `replicaOf` is the source's identifier (same region) or its ARN (cross-region replica). */
  addDbInstance(d: SimDbSeed): void {
    this.rds.addDbInstance(d);
  }

  /** How far behind its source a replica really is (seconds): what ReplicaLag is derived from, per engine. */
  setReplicationDelay(dbInstanceId: string, delay: Seconds): void {
    this.rds.setReplicationDelay(dbInstanceId, delay);
  }

  /** A new zone gets the apex NS and SOA records every Route 53 zone has. */
  addHostedZone(z: { id: string; name: string }): void {
    this.route53.addHostedZone(z);
  }

  putRecord(zoneId: string, r: SimRecord): void {
    this.route53.putRecord(zoneId, r);
  }

  addTopic(arn: string): void {
    this.sns.addTopic(arn);
  }

  // --- behaviours and faults -------------------------------------------------------------------

  setBehavior(resourceId: string, b: SimBehavior): void {
    this.core.setBehavior(resourceId, b);
  }

  /** The next `times` matching calls fail with `error` before doing anything. */
  inject(f: SimFault): void {
    this.faults.push({ ...f, remaining: f.times ?? 1 });
  }

  /**
   * The API endpoints of `services` in `region` stop answering (a regional outage of the control
   * plane): each call hangs until the client gives up, then fails with the HTTP handler's TimeoutError.
   */
  setRegionReachable(region: string, reachable: boolean, services: SimService[] = ['ec2', 'rds', 'autoscaling']): void {
    for (const service of services) {
      if (reachable) this.endOutage(service, region);
      else this.startOutage({ service, region, failure: { kind: 'network' } });
    }
  }

  /**
   * From now on every call to `service` in `region` fails as `failure` says, before doing anything
   * (until endOutage). Region '*' takes the service's API away everywhere: Route 53's control plane is
   * one endpoint, hosted in us-east-1 (AWS Fault Isolation Boundaries whitepaper, "Global services").
   *
   * @example
   * account.startOutage({ service: 'route53', region: '*', failure: { kind: 'error', error: 'ServiceUnavailable' } });
   */
  startOutage(o: SimOutage): void {
    this.outages.set(`${o.service}:${o.region}`, o.failure);
  }

  endOutage(service: SimService, region: string): void {
    this.outages.delete(`${service}:${region}`);
  }

  /** Every service of `region` fails every call as `failure` says (a region gone dark, as the controller sees it). */
  startRegionOutage(region: string, failure: SimOutageFailure = { kind: 'network' }): void {
    for (const service of Object.keys(CLIENTS) as SimService[]) this.startOutage({ service, region, failure });
  }

  /** Every operation's first call fails with the service's real throttling error, as under load. */
  throttleFirstCallOfEachOperation(): void {
    this.throttleFirstCalls = true;
  }

  // --- observation -----------------------------------------------------------------------------

  /** Bring the account up to the clock: due transitions, and what clients wrote meanwhile. */
  settle(): void {
    this.core.settle();
  }

  /** Every state transition, in the order it took effect. Reading it applies transitions that are due. */
  get events(): SimEvent[] {
    return this.core.events;
  }

  instance(id: string): SimInstanceView | undefined {
    return this.ec2.instance(id);
  }

  /**
   * `promotedAt` is when the promotion completed (the instance became standalone).
   * `region` disambiguates when the same identifier exists in two regions.
   */
  dbInstance(id: string, region?: string): SimDbView | undefined {
    return this.rds.dbInstance(id, region);
  }

  records(zoneId: string): SimRecord[] {
    return this.route53.records(zoneId);
  }

  record(zoneId: string, name: string, type: string): SimRecord | undefined {
    return this.route53.record(zoneId, name, type);
  }

  /**
   * Once `condition` holds (checked as simulated time passes, with the world as it stands), run
   * `action` with the time it was seen: a person or a script reacting to what happened.
   */
  whenever(condition: () => boolean, action: (at: number) => void): void {
    let done = false;
    this.core.addTicker((until) => {
      if (done || !condition()) return;
      done = true;
      action(until);
    });
  }

  // --- SDK clients -----------------------------------------------------------------------------

  /** A real SDK client whose requests are answered by this account instead of the network. */
  client<C>(ctor: new (config: any) => C, region: string): C {
    const service = (Object.keys(CLIENTS) as SimService[]).find((s) => CLIENTS[s] === ctor);
    if (!service) throw new Error(`SimulatedAccount: ${ctor.name} is not a simulated service`);
    const client = new ctor({ region, credentials: { accessKeyId: 'sim', secretAccessKey: 'sim' } });
    const internals = client as unknown as SdkClientInternals;
    // At 'initialize' the request never reaches the SDK's retry or the network: a throttle reaches the caller.
    internals.middlewareStack.add(
      (_next, context) => async (args) => {
        const operation = String(context.commandName ?? '').replace(/Command$/, '');
        const output = await this.call(service, operation, await internals.config.region(), args.input);
        const $metadata = { httpStatusCode: 200, requestId: this.core.requestId(), attempts: 1, totalRetryDelay: 0 };
        return { output: { ...output, $metadata }, response: {} };
      },
      { step: 'initialize', priority: 'high', name: 'simulatedAws' },
    );
    return client;
  }

  /** One API call: advance the clock, apply due transitions, check faults, run, record. */
  private call(service: SimService, operation: string, region: string, rawInput: unknown): object | Promise<object> {
    const module = this.services[service];
    const handler = module.handlers[operation];
    if (!handler) throw new Error(`SimulatedAccount: ${service} operation ${operation} is not simulated`);
    const input = (rawInput ?? {}) as Record<string, unknown>;
    this.clock.advance(this.latencies.apiCallMs);
    this.core.settle();
    const entry: SimApiCall = {
      service, operation, region, at: this.clock.now(), input,
      mutating: module.mutating.has(operation), dryRun: input.DryRun === true,
    };
    this.apiCalls.push(entry);
    try {
      const outage = this.outages.get(`${service}:${region}`) ?? this.outages.get(`${service}:*`);
      if (outage?.kind === 'network') {
        const ms = this.latencies.unreachableTimeoutSeconds * 1000;
        this.clock.advance(ms);
        throw unreachableError(service, region, ms);
      }
      if (outage?.kind === 'error') {
        throw this.core.awsError(service, outage.error, outage.message ?? (outage.error === throttlingOf(service).name ? throttlingOf(service).message : 'Service Unavailable'));
      }
      this.checkFaults(service, operation, input);
      const output = handler(input, region);
      // Lambda's Invoke runs real code: its answer comes later.
      return output instanceof Promise ? output.catch((e: unknown) => { entry.error = e instanceof Error ? e.name : String(e); throw e; }) : output;
    } catch (e) {
      entry.error = e instanceof Error ? e.name : String(e);
      throw e;
    }
  }

  private checkFaults(service: SimService, operation: string, input: Record<string, unknown>): void {
    const key = `${service}:${operation}`;
    const first = !this.calledOperations.has(key);
    this.calledOperations.add(key);
    const throttle = throttlingOf(service);
    if (this.throttleFirstCalls && first) throw this.core.awsError(service, throttle.name, throttle.message);
    const fault = this.faults.find((f) => f.remaining > 0 && f.service === service
      && (f.operation === '*' || f.operation === operation) && (!f.when || f.when(input)));
    if (!fault) return;
    fault.remaining -= 1;
    throw this.core.awsError(service, fault.error, fault.message ?? (fault.error === throttle.name ? throttle.message : `Simulated ${fault.error}`));
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
