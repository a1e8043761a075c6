/**
 * A drill: the real workflow (the synthesized definition, the real step code) against a simulated AWS
 * account on a simulated clock and a real DynamoDB (dynalite), seeded from a config.
 */
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { EC2Client } from '@aws-sdk/client-ec2';
import { RDSClient } from '@aws-sdk/client-rds';
import { Route53Client } from '@aws-sdk/client-route-53';
import { SNSClient } from '@aws-sdk/client-sns';
import { once, perRegion, type StepDeps } from '../../lambdas/shared/deps';
import { Store } from '../../lambdas/shared/store';
import type { FailoverConfig, GroupConfig } from '../config';
import { startLocalDynamoDB, type LocalDynamoDB } from './local-dynamodb';
import { LocalWorkflow, type ExecutionResult, type TaskFault } from './run-workflow';
import { SimulatedAccount, type Latencies } from './simulated-aws';
import { DRILL_ACCOUNT, DRILL_REGION, synthesizeController, type SynthesizedController } from './synth';

const synthesized = new Map<string, SynthesizedController>();

/** Synthesizing loads the whole CDK: do it once per config. */
function synthOnce(config: FailoverConfig): SynthesizedController {
  const key = JSON.stringify(config);
  let synth = synthesized.get(key);
  if (!synth) synthesized.set(key, (synth = synthesizeController(config)));
  return synth;
}

/** What the simulated account holds for a group before anything happens. */
export interface Topology {
  sourceDbId: string;
  sourceEndpoint: string;
  primaryIp: string;
  /** Each record's value before the failover. */
  recordsBefore: Map<string, string[]>;
}

export class Drill {
  readonly topicArn = `arn:aws:sns:${DRILL_REGION}:${DRILL_ACCOUNT}:failover-controller-drill`;
  readonly tableName = 'failover-controller-drill';
  readonly topology = new Map<string, Topology>();
  readonly executions: ExecutionResult[] = [];
  /** What the steps logged (CloudWatch Logs, when deployed). */
  readonly logs: Array<Record<string, unknown>> = [];
  readonly store: Store;
  readonly deps: StepDeps;
  private faults: TaskFault[] = [];

  private constructor(
    readonly config: FailoverConfig,
    readonly synth: SynthesizedController,
    readonly account: SimulatedAccount,
    private readonly dynamo: LocalDynamoDB,
  ) {
    this.store = new Store(dynamo.client(), this.tableName);
    const client = <C>(ctor: new (config: any) => C) => perRegion((region) => account.client(ctor, region));
    this.deps = {
      now: () => account.clock.now(),
      ec2: client(EC2Client),
      rds: client(RDSClient),
      cloudwatch: client(CloudWatchClient),
      route53: once(() => account.client(Route53Client, 'us-east-1')),
      sns: once(() => account.client(SNSClient, DRILL_REGION)),
      store: () => this.store,
      topicArn: () => this.topicArn,
      log: (entry) => this.logs.push(entry),
    };
  }

  static async create(config: FailoverConfig, options: { latencies?: Partial<Latencies> } = {}): Promise<Drill> {
    const synth = synthOnce(config);
    const dynamo = await startLocalDynamoDB();
    const drill = new Drill(config, synth, new SimulatedAccount({ latencies: options.latencies, accountId: DRILL_ACCOUNT }), dynamo);
    await dynamo.createTable(drill.tableName, synth.table);
    drill.account.addTopic(drill.topicArn);
    config.groups.forEach((group, i) => drill.seed(group, i));
    return drill;
  }

  /** A healthy deployment: a running primary, an available replica lagging 2 s, records pointing at the primary. */
  private seed(group: GroupConfig, index: number): void {
    const { account } = this;
    const primaryIp = `10.0.${index}.25`;
    account.addInstance({ instanceId: group.primary.instanceId, region: group.primary.region, state: 'running', privateIpAddress: primaryIp });
    const sourceDbId = `${group.name}-primary-db`;
    account.addDbInstance({ id: sourceDbId, region: group.primary.region });
    const sourceArn = `arn:aws:rds:${group.primary.region}:${DRILL_ACCOUNT}:db:${sourceDbId}`;
    account.addDbInstance({ id: group.replica.dbInstanceIdentifier, region: group.replica.region, replicaOf: sourceArn });
    account.setReplicaLag(group.replica.dbInstanceIdentifier, 2);
    account.addHostedZone({ id: group.dns.hostedZoneId, name: group.dns.zoneName });
    const sourceEndpoint = account.dbInstance(sourceDbId)!.endpointAddress;
    const recordsBefore = new Map<string, string[]>();
    for (const record of group.dns.records) {
      const values = record.type === 'CNAME' ? [sourceEndpoint] : record.type === 'A' ? [`192.0.2.${10 + index}`] : [`2001:db8::${10 + index}`];
      account.putRecord(group.dns.hostedZoneId, { name: record.name, type: record.type, ttl: 300, values });
      recordsBefore.set(`${record.name} ${record.type}`, values);
    }
    this.topology.set(group.name, { sourceDbId, sourceEndpoint, primaryIp, recordsBefore });
  }

  /** Lambda-level faults for the next executions (a function that dies before or after its work). */
  injectTaskFaults(faults: TaskFault[]): void {
    this.faults = faults;
  }

  /** Start executions at once (they interleave, as concurrent executions do) and wait for all of them. */
  async run(...inputs: Array<{ input: unknown; name?: string }>): Promise<ExecutionResult[]> {
    const workflow = new LocalWorkflow(this.synth, this.deps, this.account.clock, this.faults);
    const results = await Promise.all(
      inputs.map(({ input, name }, i) => workflow.run(input, name ?? `drill-${this.executions.length + i + 1}`)),
    );
    this.executions.push(...results);
    return results;
  }

  async close(): Promise<void> {
    await this.dynamo.close();
  }
}
