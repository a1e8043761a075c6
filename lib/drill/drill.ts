/**
 * A drill: the real workflow (the synthesized definition, the real step code) against a simulated AWS
 * account on a simulated clock and a real DynamoDB (dynalite), seeded from a config.
 */
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient, DynamoDBServiceException } from '@aws-sdk/client-dynamodb';
import * as dynamodb from '@aws-sdk/client-dynamodb';
import { EC2Client } from '@aws-sdk/client-ec2';
import { RDSClient } from '@aws-sdk/client-rds';
import { Route53Client } from '@aws-sdk/client-route-53';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SNSClient } from '@aws-sdk/client-sns';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { checkAll, probeLabel } from '../../lambdas/probe/check-endpoint';
import { run as runVantage } from '../../lambdas/probe/confirm-from-vantage';
import type { ConfirmationDeps } from '../../lambdas/steps/confirm-outage';
import { vantageFunctionName, vantageTargets, type VantageTarget } from '../../lambdas/core/vantage';
import { runScheduled, type ScheduledDeps, type ScheduledResult } from '../../lambdas/readiness/scheduled';
import { answerDryRun } from '../../lambdas/steps/fence-primary';
import { groupsByName } from '../../lambdas/core/deployed-group';
import { PROBES_PER_INVOCATION, shardGroups } from '../../lambdas/core/probe-shards';
import { dispatchMinute, handleProbeEvent, newHeartbeat, type ProbeDeps } from '../../lambdas/probe/run-probes';
import { SQSClient } from '@aws-sdk/client-sqs';
import { probeFunctionTimeout, probeGroupsOf, ROUND_QUEUE_MAX_RECEIVES, roundsQueueRetention } from '../infra/detection';
import { once, perRegion, type StepDeps } from '../../lambdas/runtime/deps';
import { Store } from '../../lambdas/core/store';
import { sourceDatabase, type FailoverConfig, type GroupConfig, type ProbeConfig } from '../../lambdas/core/config';
import { LocalPrimary, type EndpointMode } from './endpoints';
import { startLocalDynamoDB, type LocalDynamoDB } from './local-dynamodb';
import { LocalWorkflow, type ExecutionResult, type TaskFault } from '../runner/local-workflow';
import { SimClock, SimulatedAccount, type Latencies, type SimDbView, type SimExecution } from './sim/account';
import { SimProbeTriggers } from './sim/triggers';
import { replicaCandidates, type ReplicaCandidate } from '../../lambdas/core/candidates';
import { DNS_SWITCH_DIMENSION, DNS_SWITCH_METRIC, DNS_SWITCH_NAMESPACE } from '../../lambdas/core/dns-switch';
import { DRILL_ACCOUNT, DRILL_REGION, synthFor, type SynthesizedController } from '../runner/synth';

/** What the simulated account holds for a group before anything happens. */
export interface Topology {
  sourceDbId: string;
  sourceRegion: string;
  sourceEndpoint: string;
  /** The name the database clients write through (the group's CNAME to the database), if any. */
  dbName?: string;
  primaryIp: string;
  /** Each record's value before the failover. */
  recordsBefore: Map<string, string[]>;
}

/** When a drill begins (simulated), and how long the estate ran before it. */
export const DRILL_STARTS_AT = Date.parse('2026-01-01T00:00:00.000Z');
const WARM_UP_MS = 15 * 60_000;

export class Drill {
  readonly topicArn = `arn:aws:sns:${DRILL_REGION}:${DRILL_ACCOUNT}:failover-controller-drill`;
  readonly tableName = 'failover-controller-drill';
  readonly topology = new Map<string, Topology>();
  readonly executions: ExecutionResult[] = [];
  /** What the steps logged (CloudWatch Logs, when deployed). */
  readonly logs: Array<Record<string, unknown>> = [];
  readonly store: Store;
  readonly deps: StepDeps & { confirmation: ConfirmationDeps };
  /** The ids of the isolation security groups in the simulated account. */
  readonly isolationGroupIds = new Set<string>();
  readonly probeDeps: ProbeDeps;
  readonly stateMachineArn = `arn:aws:states:${DRILL_REGION}:${DRILL_ACCOUNT}:stateMachine:drill-StateMachine`;
  /** The probe rounds' queue (lib/infra/detection.ts), whose messages invoke the probe function one round each. */
  readonly roundsQueueUrl = `https://sqs.${DRILL_REGION}.amazonaws.com/${DRILL_ACCOUNT}/drill-ProbeRounds`;
  readonly deadLetterQueueUrl = `https://sqs.${DRILL_REGION}.amazonaws.com/${DRILL_ACCOUNT}/drill-UndeliveredEvents`;
  /** The probe function's second execution environment (the first is probeDeps'). */
  private secondEnvironment!: ProbeDeps;
  /** The schedule and the rounds queue's event source, from the first watch on. */
  private triggers?: SimProbeTriggers;
  /** When the primary's endpoints stopped answering (simulated ms), if they did. */
  outageStartedAt?: number;
  private faults: TaskFault[] = [];
  private storeFaults: Array<StoreFault & { left: number }> = [];
  /** What happens as the clock passes `at`: the endpoints change mode, or something else (scheduleAt). */
  private changes: Array<{ at: number; mode?: EndpointMode; happen?: () => void }> = [];
  private executionsSeen = 0;
  /** Stand-in endpoints that refuse every connection: where a cut network sends a vantage's probes. */
  private refusing?: Promise<LocalPrimary>;

  private constructor(
    readonly config: FailoverConfig,
    readonly synth: SynthesizedController,
    readonly account: SimulatedAccount,
    private readonly dynamo: LocalDynamoDB,
    readonly primaryEndpoints: LocalPrimary,
  ) {
    this.store = new Store(this.faultyDynamoClient(dynamo), this.tableName);
    const client = <C>(ctor: new (config: any) => C) => perRegion((region) => account.client(ctor, region));
    // The drilled config is what the drill's stack deploys: every function has these groups.
    const deployed = groupsByName(config.groups);
    this.deps = {
      groups: () => deployed,
      now: () => account.clock.now(),
      ec2: client(EC2Client),
      rds: client(RDSClient),
      autoscaling: client(AutoScalingClient),
      cloudwatch: client(CloudWatchClient),
      route53: once(() => account.client(Route53Client, 'us-east-1')),
      // The zones' authoritative name servers, as the simulated DNS data plane answers them.
      dnsDataPlane: () => ({ query: async (_zone, name, type) => account.route53.resolve(name, type).map(({ server, answers }) => ({ server, answers })) }),
      controllerRegion: DRILL_REGION,
      sns: once(() => account.client(SNSClient, DRILL_REGION)),
      store: () => this.store,
      topicArn: () => this.topicArn,
      log: (entry) => this.logs.push(entry),
      // The confirmation step, where the stack deploys it, and the vantage functions its environment names.
      confirmation: {
        region: DRILL_REGION,
        probe: this.probeFrom(DRILL_REGION),
        vantages: () => deployedVantages(synth),
        lambda: perRegion((region) => account.client(LambdaClient, region)),
      },
    };
    // Each vantage's function, as its stack deploys it in its region, probing from there.
    for (const v of config.vantages) {
      account.lambda.addFunction({
        region: v.region,
        name: vantageFunctionName(config.stackName),
        handler: (event) => runVantage(event, { groups: () => deployed, now: () => account.clock.now(), region: v.region, probe: this.probeFrom(v.region) }),
      });
    }
    this.probeDeps = {
      now: () => account.clock.now(),
      sleepUntil: async (ms) => {
        // Once a failover is underway the drill stops watching and runs it.
        if (account.startedExecutions.length > this.executionsSeen) throw new StopWatching();
        await this.advanceTo(ms);
      },
      check: this.probeFrom(DRILL_REGION),
      store: () => this.store,
      sfn: once(() => account.client(SFNClient, DRILL_REGION)),
      sns: this.deps.sns,
      stateMachineArn: () => this.stateMachineArn,
      topicArn: () => this.topicArn,
      log: (entry) => this.logs.push(entry),
      // One execution environment, kept from one invocation to the next as Lambda keeps a warm one.
      memory: new Map(),
      heartbeat: newHeartbeat(),
      roundsQueue: { sqs: once(() => account.client(SQSClient, DRILL_REGION)), url: () => this.roundsQueueUrl },
    };
    // As the stack makes it (lib/infra/detection.ts): visible again after the function's timeout, to the
    // dead-letter queue after ROUND_QUEUE_MAX_RECEIVES receives, kept minutes.
    const timeout = probeFunctionTimeout(probeGroupsOf(config));
    account.sqs.addQueue(this.deadLetterQueueUrl);
    account.sqs.addQueue(this.roundsQueueUrl, {
      visibilityTimeoutMs: timeout.toMilliseconds(),
      retentionMs: roundsQueueRetention(timeout).toMilliseconds(),
      maxReceiveCount: ROUND_QUEUE_MAX_RECEIVES,
      deadLetterUrl: this.deadLetterQueueUrl,
    });
    this.secondEnvironment = { ...this.probeDeps, memory: new Map(), heartbeat: newHeartbeat() };
  }

  /**
   * A drill of `config`, whose probes are pointed at local servers standing in for the primary (HTTP
   * probes keep their path; probe timeouts are capped at 500 ms so a drill runs in seconds).
   */
  static async create(config: FailoverConfig, options: { latencies?: Partial<Latencies> } = {}): Promise<Drill> {
    const primary = await LocalPrimary.start({ slowMs: 1000 });
    let synth: SynthesizedController;
    let local: FailoverConfig;
    let dynamo: LocalDynamoDB;
    try {
      local = withLocalProbes(config, primary);
      synth = synthFor(local);
      dynamo = await startLocalDynamoDB();
    } catch (err) {
      // The local primary's servers would keep the process alive after the error.
      await primary.stop();
      throw err;
    }
    // The estate has been running for a while when the drill begins (at 2026-01-01T00:00:00Z): clients
    // have written, the replica has replicated, and CloudWatch has a history of datapoints.
    const clock = new SimClock(DRILL_STARTS_AT - WARM_UP_MS);
    const drill = new Drill(local, synth, new SimulatedAccount({ clock, latencies: options.latencies, accountId: DRILL_ACCOUNT }), dynamo, primary);
    await dynamo.createTable(drill.tableName, synth.table);
    drill.account.addTopic(drill.topicArn);
    config.groups.forEach((group, i) => drill.seed(group, i));
    drill.account.clock.advance(WARM_UP_MS);
    drill.account.settle();
    // What the isolation stacks would have made.
    synth.isolationGroups.forEach((g, i) => {
      const id = `sg-0iso${String(i).padStart(12, '0')}`;
      drill.account.addSecurityGroup({ id, ...g, denyAll: true });
      drill.isolationGroupIds.add(id);
    });
    return drill;
  }

  /**
   * A healthy deployment: a running primary whose application writes to the old database every
   * second, a worker that writes through the database's DNS name too (a pooled connection), an
   * available PostgreSQL replica one second behind, records pointing at the primary.
   */
  private seed(group: GroupConfig, index: number): void {
    const { account } = this;
    const primaryIp = `10.0.${index}.25`;
    const vpcId = group.primary.vpcId ?? `vpc-0sim${String(index).padStart(12, '0')}`;
    account.addInstance({ instanceId: group.primary.instanceId, region: group.primary.region, state: 'running', privateIpAddress: primaryIp, vpcId });
    const source = sourceOf(group);
    account.addDbInstance({ id: source.id, region: source.region, vpcId: source.vpcId });
    const sourceArn = `arn:aws:rds:${source.region}:${DRILL_ACCOUNT}:db:${source.id}`;
    for (const c of replicaCandidates(group)) {
      account.addDbInstance({ id: c.dbInstanceIdentifier, region: c.region, replicaOf: sourceArn });
      account.setReplicationDelay(c.dbInstanceIdentifier, 1);
    }
    account.addHostedZone({ id: group.dns.hostedZoneId, name: group.dns.zoneName });
    const sourceEndpoint = account.dbInstance(source.id)!.endpointAddress;
    const recordsBefore = new Map<string, string[]>();
    if (group.dns.mode === 'health-check') this.seedHealthCheckDns(group);
    for (const record of group.dns.mode === 'health-check' ? [] : group.dns.records) {
      const values = record.type === 'CNAME' ? [sourceEndpoint] : record.type === 'A' ? [`192.0.2.${10 + index}`] : [`2001:db8::${10 + index}`];
      // At the configured TTL, as a ready estate has it (readiness flags a longer live TTL).
      account.putRecord(group.dns.hostedZoneId, { name: record.name, type: record.type, ttl: record.ttl, values });
      recordsBefore.set(`${record.name} ${record.type}`, values);
    }
    // The alarms the group listens to, where the stack's rule listens: the controller's region.
    for (const name of group.alarms) account.cloudwatch.addAlarm({ name, region: DRILL_REGION });
    for (const record of group.dns.mode === 'health-check' ? group.dns.records : []) recordsBefore.set(`${record.name} ${record.type}`, record.primaryValues ?? []);
    // The database's name: the CNAME that follows the promoted replica (in health-check mode, the one whose PRIMARY is the old database).
    const dbName = group.dns.records.find((r) => r.type === 'CNAME'
      && (r.target === 'replicaEndpoint' || r.primaryValues?.some((v) => v.replace(/\.$/, '') === sourceEndpoint)))?.name;
    if (dbName) {
      const instanceId = group.primary.instanceId;
      account.clients.add({
        name: `${group.name}-app@${instanceId}`, zoneId: group.dns.hostedZoneId, dnsName: dbName,
        // The application writes while its instance runs (a stuck stop keeps the OS up) and answers.
        active: () => ['running', 'stopping'].includes(account.instance(instanceId)?.state ?? '') && this.primaryEndpoints.mode === 'up',
        // An isolated instance opens no new connection; the one it has survives (connection tracking).
        canConnect: () => !this.isolated(instanceId),
      });
      account.clients.add({ name: `${group.name}-worker`, zoneId: group.dns.hostedZoneId, dnsName: dbName });
    }
    this.topology.set(group.name, { sourceDbId: source.id, sourceRegion: source.region, sourceEndpoint, primaryIp, recordsBefore, dbName });
  }

  /**
   * What the stack's HealthCheckDns made for the group (dns.mode "health-check"), read off the
   * synthesized nested templates: the alarm on DnsFailedOver in the controller's region, the health
   * check that follows it, and the failover record pairs. What the drill's clients resolve comes from these.
   */
  private seedHealthCheckDns(group: GroupConfig): void {
    const resources = Object.entries(this.synth.healthCheckDnsResources);
    const ofType = (type: string) => resources.filter(([, r]) => r.Type === type);
    const alarm = ofType('AWS::CloudWatch::Alarm').find(([, r]) => r.Properties.Namespace === DNS_SWITCH_NAMESPACE
      && r.Properties.Dimensions?.some((d: any) => d.Name === DNS_SWITCH_DIMENSION && d.Value === group.name));
    if (!alarm) throw new Error(`the stack has no ${DNS_SWITCH_METRIC} alarm for ${group.name}`);
    const a = alarm[1].Properties;
    this.account.cloudwatch.addMetricAlarm({
      name: a.AlarmName, region: DRILL_REGION, namespace: a.Namespace, metricName: a.MetricName,
      dimensions: a.Dimensions.map((d: any) => [d.Name, d.Value]), period: Number(a.Period), evaluationPeriods: Number(a.EvaluationPeriods),
      threshold: Number(a.Threshold), statistic: a.Statistic, comparison: a.ComparisonOperator, treatMissingData: a.TreatMissingData ?? 'missing',
    });
    const refersTo = (value: any, logicalId: string) => value?.Ref === logicalId || value?.['Fn::GetAtt']?.[0] === logicalId;
    const check = ofType('AWS::Route53::HealthCheck').find(([, r]) => refersTo(r.Properties.HealthCheckConfig.AlarmIdentifier?.Name, alarm[0])
      || r.Properties.HealthCheckConfig.AlarmIdentifier?.Name === a.AlarmName);
    if (!check) throw new Error(`the stack has no health check following ${a.AlarmName}`);
    const hc = check[1].Properties.HealthCheckConfig;
    this.account.route53.addHealthCheck({ id: check[0], alarm: { name: a.AlarmName, region: hc.AlarmIdentifier.Region }, insufficientDataHealthStatus: hc.InsufficientDataHealthStatus ?? 'LastKnownStatus' });
    for (const [, r] of ofType('AWS::Route53::RecordSet').filter(([, r]) => String(r.Properties.SetIdentifier ?? '').startsWith(`${group.name}-`))) {
      const p = r.Properties;
      this.account.putRecord(p.HostedZoneId, {
        name: p.Name, type: p.Type, ttl: Number(p.TTL), values: p.ResourceRecords, setIdentifier: p.SetIdentifier, failover: p.Failover,
        ...(p.HealthCheckId && { healthCheckId: refersTo(p.HealthCheckId, check[0]) ? check[0] : String(p.HealthCheckId) }),
      });
    }
  }

  /**
   * The deployed readiness function's dependencies against the simulated account: the fence's DryRun
   * is answered as the fence function answers it (answerDryRun, with the fence's EC2 client and groups).
   */
  readinessDeps(): ScheduledDeps {
    return {
      ...this.deps,
      autoscaling: this.deps.autoscaling!,
      controllerRegion: DRILL_REGION,
      fenceDryRun: (group) => answerDryRun({ dryRun: { group: group.name } }, this.deps),
      vantages: { targets: vantageTargets(this.config), lambda: (region) => this.account.client(LambdaClient, region) },
    };
  }

  /** Run the scheduled readiness function once, now. */
  async evaluateReadiness(): Promise<ScheduledResult> {
    return runScheduled(this.config.groups, this.readinessDeps());
  }

  /** The group's candidate replicas, `replica` first. */
  candidates(group: string): ReplicaCandidate[] {
    return replicaCandidates(this.config.groups.find((g) => g.name === group)!);
  }

  /** The candidate whose promotion began, if any. */
  promotedCandidate(group: string): SimDbView | undefined {
    return this.candidates(group).map((c) => this.account.dbInstance(c.dbInstanceIdentifier, c.region)!).find((d) => d.promotionStartedAt !== undefined);
  }

  /** Are all the instance's interfaces in an isolation group (no new connection out)? */
  isolated(instanceId: string): boolean {
    const interfaces = this.account.networkInterfacesOf(instanceId);
    return interfaces.length > 0 && interfaces.every((n) => n.groups.every((g) => this.isolationGroupIds.has(g)));
  }

  /** Simulated seconds since the drill began (to 0.1 s): how reports and timelines show a time. */
  secondsSinceStart(ms: number): number {
    return Math.round((ms - DRILL_STARTS_AT) / 100) / 10;
  }

  /** The primary's endpoints change to `mode` at simulated time `at` (epoch ms). */
  scheduleEndpoints(...changes: Array<{ at: number; mode: EndpointMode }>): void {
    this.schedule(changes);
  }

  /** `happen` runs when the simulated clock passes `at` (epoch ms): a network cut in the middle of a watch, say. */
  scheduleAt(at: number, happen: () => void): void {
    this.schedule([{ at, happen }]);
  }

  private schedule(changes: Drill['changes']): void {
    this.changes.push(...changes);
    // Stable: changes at the same time happen in the order they were scheduled.
    this.changes.sort((a, b) => a.at - b.at);
  }

  /** Move the simulated clock to `ms`, changing the endpoints (and whatever else was scheduled) on the way. */
  async advanceTo(ms: number): Promise<void> {
    while (this.changes.length > 0 && this.changes[0].at <= ms) {
      const change = this.changes.shift()!;
      this.account.clock.advance(Math.max(0, change.at - this.account.clock.now()));
      // What happened up to the change (clients writing) happened with the endpoints as they were.
      this.account.settle();
      change.happen?.();
      if (change.mode === undefined) continue;
      if (change.mode !== 'up' && this.primaryEndpoints.mode === 'up') this.outageStartedAt = change.at;
      await this.primaryEndpoints.setMode(change.mode);
    }
    this.account.clock.advance(Math.max(0, ms - this.account.clock.now()));
  }

  /**
   * Run the probe function as its triggers would: EventBridge's `{ "shard": 0 }` once a minute, which
   * queues the minute's rounds, and each queued round when the queue hands it over, until the function
   * starts an execution or `minutes` have passed. Returns the executions it started.
   */
  async watch(minutes: number): Promise<SimExecution[]> {
    // One shard probes every group, as the one shard of a config of at most PROBES_PER_INVOCATION
    // probes: its heartbeat is the one readiness and status look for.
    const shards = shardGroups(this.config.groups);
    if (shards.length > 1) throw new Error(`the drill probes all groups in one shard: at most ${PROBES_PER_INVOCATION} probes, and this config needs more shards`);
    const start = this.account.clock.now();
    if (!this.triggers) {
      // The controller ran before the drill began: the schedule's invocation of the minute before
      // queued this minute's rounds.
      let firstSchedule = Math.floor(start / 60_000) * 60_000 + DRILL_SCHEDULE_OFFSET_MS;
      if (firstSchedule < start) firstSchedule += 60_000;
      this.triggers = new SimProbeTriggers(this.account.sqs, this.roundsQueueUrl, firstSchedule);
      await dispatchMinute(shards[0] ?? [], { index: 0, of: 1 }, this.probeDeps, 0);
    }
    const triggers = this.triggers;
    // Schedules that fell while the drill ran a failover instead of watching are not made up for.
    while (triggers.nextSchedule < start) triggers.nextSchedule += 60_000;
    for (let k = 0; k < minutes; k++) {
      try {
        // Invocations run one after another here; overlapping ones are covered by the store's conditional writes.
        await triggers.runUntil(start + (k + 1) * 60_000, {
          advanceTo: (ms) => this.probeDeps.sleepUntil(ms),
          schedule: () => handleProbeEvent({ shard: 0 }, this.config.groups, this.probeDeps),
          // Lambda hands a shard's rounds to whichever execution environment is free: here two, in turn,
          // each with its own memory and heartbeat.
          message: (m, i) => handleProbeEvent({ Records: [{ messageId: m.messageId, body: m.body }] }, this.config.groups, i % 2 === 0 ? this.probeDeps : this.secondEnvironment),
        });
      } catch (err) {
        if (!(err instanceof StopWatching)) throw err;
      }
      const started = this.account.startedExecutions.slice(this.executionsSeen);
      if (started.length > 0) {
        this.executionsSeen = this.account.startedExecutions.length;
        return started;
      }
    }
    // Nothing started: the whole window has passed.
    await this.advanceTo(start + minutes * 60_000);
    return [];
  }

  /** The execution input the alarm rule of the synthesized stack gives for `alarmName` going to ALARM. */
  alarmExecutionInput(group: string, alarmName: string): unknown {
    const rules = Object.values(this.synth.template.Resources as Record<string, any>).filter(
      (r) => r.Type === 'AWS::Events::Rule' && r.Properties.EventPattern?.source?.[0] === 'aws.cloudwatch' && r.Properties.EventPattern.detail.alarmName.includes(alarmName),
    );
    const transformer = rules.map((r) => r.Properties.Targets[0].InputTransformer).find((t) => t.InputTemplate.includes(`"group":"${group}"`));
    if (!transformer) throw new Error(`the stack has no alarm rule for ${alarmName} of ${group}`);
    const event = {
      source: 'aws.cloudwatch',
      'detail-type': 'CloudWatch Alarm State Change',
      time: new Date(this.account.clock.now()).toISOString(),
      detail: { alarmName, state: { value: 'ALARM', reason: 'Threshold Crossed: 1 datapoint [1.0] was greater than the threshold (0.0).' } },
    };
    return JSON.parse(renderInputTransformer(transformer, event));
  }

  /**
   * DynamoDB answers `operation` calls (those `when` accepts) with the error `error`, `times` times
   * (default: always), as the service would: a real SDK exception from the client.
   */
  injectStoreFault(fault: StoreFault): void {
    this.storeFaults.push({ ...fault, left: fault.times ?? Infinity });
  }

  /** The drill's DynamoDB client: real dynalite, with a middleware where the service's faults are injected. */
  private faultyDynamoClient(dynamo: LocalDynamoDB): DynamoDBClient {
    const client = dynamo.client();
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const operation = String(context.commandName ?? '').replace(/Command$/, '');
        const fault = this.storeFaults.find((f) => f.operation === operation && f.left > 0 && (!f.when || f.when(args.input as Record<string, any>)));
        if (fault) {
          fault.left -= 1;
          const Modeled = (dynamodb as unknown as Record<string, unknown>)[fault.error];
          const options = {
            name: fault.error,
            message: `${fault.error} (drill fault)`,
            $fault: fault.error === 'InternalServerError' ? 'server' : 'client',
            $metadata: { httpStatusCode: fault.error === 'InternalServerError' ? 500 : 400 },
          } as const;
          throw typeof Modeled === 'function' ? new (Modeled as new (o: typeof options) => Error)(options) : new DynamoDBServiceException(options);
        }
        return next(args);
      },
      { step: 'initialize', name: 'drillStoreFaults' },
    );
    return client;
  }

  /** Lambda-level faults for the next executions (a function that dies before or after its work). */
  injectTaskFaults(faults: TaskFault[]): void {
    this.faults = faults;
  }

  /** Start executions at once (they interleave, as concurrent executions do) and wait for all of them. */
  async run(...inputs: Array<{ input: unknown; name?: string }>): Promise<ExecutionResult[]> {
    this.executionsSeen = this.account.startedExecutions.length;
    const workflow = new LocalWorkflow(this.synth, this.deps, this.account.clock, this.faults);
    const results = await Promise.all(
      inputs.map(({ input, name }, i) => workflow.run(input, name ?? `drill-${this.executions.length + i + 1}`)),
    );
    this.executions.push(...results);
    return results;
  }

  /**
   * Probe as code in `region` would: through the simulated network (account.network). The drill's one
   * local primary stands in for every group's primary, in the first group's primary region; from a
   * region cut off from it, every connection is refused.
   */
  probeFrom(region: string): (probes: ProbeConfig[]) => ReturnType<typeof checkAll> {
    return async (probes) => {
      if (this.account.network.reachable(region, this.config.groups[0].primary.region)) return checkAll(probes);
      this.refusing ??= LocalPrimary.start().then(async (p) => (await p.setMode('down'), p));
      const results = await checkAll(pointedAt(probes, await this.refusing));
      // The same probes, as configured: their labels name the primary's endpoints, not the stand-in's.
      return results.map((r, i) => ({ ...r, probe: probeLabel(probes[i]) }));
    };
  }

  async close(): Promise<void> {
    if (this.refusing) await (await this.refusing).stop();
    await this.primaryEndpoints.stop();
    await this.dynamo.close();
  }
}

class StopWatching extends Error {}

/**
 * When, within each minute, the drill's schedule invokes the probe function: "EventBridge doesn't
 * provide second-level precision in schedule expressions" (EventBridge User Guide, "Tutorial: Create an
 * EventBridge scheduled rule for AWS Lambda functions"), so a rule fires somewhere in its minute; the
 * drill takes 25 s, well into it.
 */
export const DRILL_SCHEDULE_OFFSET_MS = 25_000;

export interface StoreFault {
  operation: 'PutItem' | 'GetItem' | 'DeleteItem' | 'Query';
  /** The DynamoDB error name, e.g. InternalServerError, ProvisionedThroughputExceededException. */
  error: string;
  times?: number;
  when?: (input: Record<string, any>) => boolean;
}

/** The drill's copy of a config, its probes pointed at the local stand-ins for the primary. */
function withLocalProbes(config: FailoverConfig, primary: LocalPrimary): FailoverConfig {
  return { ...config, groups: config.groups.map((g) => ({ ...g, probes: pointedAt(g.probes, primary) })) };
}

/** Probes pointed at local servers (HTTP probes keep their path), their timeouts capped at 500 ms. */
function pointedAt(probes: ProbeConfig[], primary: LocalPrimary): ProbeConfig[] {
  return probes.map((p) =>
    p.type === 'http'
      ? { ...p, url: `http://127.0.0.1:${primary.httpPort}${new URL(p.url).pathname}`, timeoutMs: Math.min(p.timeoutMs, 500) }
      : { ...p, host: '127.0.0.1', port: primary.tcpPort, timeoutMs: Math.min(p.timeoutMs, 500) },
  );
}

/** The vantage functions the synthesized confirmation function is told about (its VANTAGES environment). */
function deployedVantages(synth: SynthesizedController): VantageTarget[] {
  const confirm = Object.values(synth.template.Resources as Record<string, any>).find(
    (r) => r.Type === 'AWS::Lambda::Function' && r.Properties.Environment?.Variables?.VANTAGES !== undefined,
  );
  return confirm ? (JSON.parse(confirm.Properties.Environment.Variables.VANTAGES) as VantageTarget[]) : [];
}

/**
 * EventBridge's input transformer: each <placeholder> of InputTemplate gets the InputPathsMap value from
 * the event, as raw text inside a JSON string and as a JSON value outside one.
 */
function renderInputTransformer(t: { InputPathsMap?: Record<string, string>; InputTemplate: string }, event: Record<string, unknown>): string {
  const values = new Map(
    Object.entries(t.InputPathsMap ?? {}).map(([key, path]) => [
      key,
      path
        .replace(/^\$\.?/, '')
        .split('.')
        .filter(Boolean)
        .reduce<unknown>((v, k) => (v as Record<string, unknown> | undefined)?.[k], event),
    ]),
  );
  let out = '';
  let inString = false;
  for (let i = 0; i < t.InputTemplate.length; i++) {
    const c = t.InputTemplate[i];
    const placeholder = c === '<' ? /^<([\w.-]+)>/.exec(t.InputTemplate.slice(i)) : null;
    if (placeholder && values.has(placeholder[1])) {
      const value = values.get(placeholder[1]);
      out += inString ? JSON.stringify(String(value)).slice(1, -1) : JSON.stringify(value);
      i += placeholder[0].length - 1;
      continue;
    }
    if (c === '"' && t.InputTemplate[i - 1] !== '\\') inString = !inString;
    out += c;
  }
  return out;
}

/** The old database of a group (the replicas' source) and the VPC it is in, as configured. */
export function sourceOf(group: GroupConfig): { id: string; region: string; vpcId: string } {
  return { ...sourceDatabase(group.replica), vpcId: group.replica.sourceVpcId };
}

export type { SimExecution };
