/**
 * Finding the deployment a command acts on: the config (for the groups), the CloudFormation stack's
 * outputs (StateMachineArn, TableName, TopicArn) or explicit flags, and the AWS clients and store.
 *
 * Clients are made with no credentials, endpoint or (unless a region is known) region of their own, so
 * the SDK's defaults apply: AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL and the rest work as everywhere.
 */
import { existsSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { isAbsolute, relative, resolve } from 'node:path';
import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import type { EC2Client } from '@aws-sdk/client-ec2';
import type { RDSClient } from '@aws-sdk/client-rds';
import type { Route53Client } from '@aws-sdk/client-route-53';
import { SFNClient } from '@aws-sdk/client-sfn';
import type { SNSClient } from '@aws-sdk/client-sns';
import type { LambdaClient } from '@aws-sdk/client-lambda';
import { Store } from '../../lambdas/core/store';
import { loadConfigFile, type FailoverConfig, type GroupConfig } from '../../lambdas/core/config';
import type { StepDeps } from '../../lambdas/runtime/deps';
import type { LocalWorkflow } from '../runner/local-workflow';
import { PreparedWorkflows, workflowCacheDir, type RunnableWorkflow } from '../runner/prepared-workflow';
import type { SynthesizedController } from '../runner/synth';
import { DeploymentError, UsageError, type Values, type DEPLOYMENT_OPTIONS } from './args';
import type { Context } from './io';
import { RealClock, type LocalClock } from './local';

/** The AWS clients the CLI uses; each made on first use per region. */
export interface AwsClients {
  cloudFormation(region: string | undefined): CloudFormationClient;
  sfn(region: string | undefined): SFNClient;
  dynamodb(region: string | undefined): DynamoDBClient;
  /** The break-glass run's step clients. */
  ec2(region: string): EC2Client;
  rds(region: string): RDSClient;
  autoscaling(region: string): AutoScalingClient;
  cloudwatch(region: string): CloudWatchClient;
  route53(): Route53Client;
  sns(region: string | undefined): SNSClient;
  /** `failoverctl check` looks the vantage functions up. */
  lambda(region: string): LambdaClient;
}

export interface CliDeps {
  clients: AwsClients;
  /** The store over a table; default: the store module over `clients.dynamodb(region)`. */
  store(tableName: string, region: string | undefined): Store;
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /** Who runs the command, for `trigger.by` and the reasons recorded by pause, resume and rearm. */
  user(): string;
  /** The clock a break-glass run's Wait states and retry pauses run on (real time unless a test says otherwise). */
  localClock(): LocalClock;
  /** The synthesized workflow for a config, as the drill gets it. */
  synth(config: FailoverConfig): SynthesizedController;
  /**
   * Where break-glass finds a workflow prepared by `cdk synth` or by an earlier run, and saves the one it
   * had to synthesize; undefined: always synthesize (tests that do not test this).
   */
  workflows: PreparedWorkflows | undefined;
  /** The in-process runner of a synthesized workflow (the drill's LocalWorkflow). */
  localWorkflow(workflow: RunnableWorkflow, deps: StepDeps, clock: LocalClock): Pick<LocalWorkflow, 'run'>;
  /** How often a followed execution is polled. */
  followIntervalMs: number;
}

function cached<C>(make: (region: string | undefined) => C): (region: string | undefined) => C {
  const made = new Map<string, C>();
  return (region) => {
    const key = region ?? '';
    let client = made.get(key);
    if (!client) made.set(key, (client = named(make(region))));
    return client;
  };
}

interface Stackable {
  middlewareStack: { add(m: (next: (a: unknown) => Promise<unknown>, c: { clientName?: string; commandName?: string }) => (a: unknown) => Promise<unknown>, o: { step: 'initialize'; name: string }): void };
}

/**
 * Every error the client throws says which call failed (`$call`, e.g. "CloudFormation DescribeStacks"),
 * so the error line can name it: an emulator may answer some services and not others.
 */
function named<C>(client: C): C {
  (client as unknown as Stackable).middlewareStack.add(
    (next, context) => async (args) => {
      try {
        return await next(args);
      } catch (err) {
        if (err && typeof err === 'object' && !('$call' in err)) {
          const service = String(context.clientName ?? '').replace(/Client$/, '');
          Object.assign(err, { $call: `${service} ${String(context.commandName ?? '').replace(/Command$/, '')}`.trim() });
        }
        throw err;
      }
    },
    { step: 'initialize', name: 'failoverctlCallName' },
  );
  return client;
}

/**
 * Every CLI client gives up on an endpoint that does not answer: a bounded connection and request
 * time per attempt, and the SDK's default three attempts. At worst about 3 x (3 s + 10 s) plus backoff
 * before one line and exit 3, instead of waiting on a socket that accepted the connection and never
 * answers (Node's own timeout is none).
 */
export const CLI_CLIENT_CONFIG = {
  maxAttempts: 3,
  // Without throwOnRequestTimeout, @smithy/node-http-handler (4.x) only logs a warning when requestTimeout passes.
  requestHandler: { connectionTimeout: 3_000, requestTimeout: 10_000, throwOnRequestTimeout: true },
} as const;

const withRegion = (region: string | undefined) => ({ ...CLI_CLIENT_CONFIG, ...(region ? { region } : {}) });

/* eslint-disable @typescript-eslint/no-require-imports */
export function defaultClients(): AwsClients {
  return {
    // Loaded on first use: --table and --topic-arn (break-glass when CloudFormation is down) never need it.
    cloudFormation: cached((r) => new (require('@aws-sdk/client-cloudformation') as typeof import('@aws-sdk/client-cloudformation')).CloudFormationClient(withRegion(r))),
    sfn: cached((r) => new SFNClient(withRegion(r))),
    dynamodb: cached((r) => new DynamoDBClient(withRegion(r))),
    // Only a break-glass run uses these; the EC2 client alone takes half a second to load.
    ec2: cached((r) => new (require('@aws-sdk/client-ec2') as typeof import('@aws-sdk/client-ec2')).EC2Client(withRegion(r))),
    rds: cached((r) => new (require('@aws-sdk/client-rds') as typeof import('@aws-sdk/client-rds')).RDSClient(withRegion(r))),
    autoscaling: cached((r) => new (require('@aws-sdk/client-auto-scaling') as typeof import('@aws-sdk/client-auto-scaling')).AutoScalingClient(withRegion(r))),
    cloudwatch: cached((r) => new (require('@aws-sdk/client-cloudwatch') as typeof import('@aws-sdk/client-cloudwatch')).CloudWatchClient(withRegion(r))),
    // As the flip-dns step does: Route 53 is global, its endpoint is signed for us-east-1.
    route53: cached(() => new (require('@aws-sdk/client-route-53') as typeof import('@aws-sdk/client-route-53')).Route53Client({ ...CLI_CLIENT_CONFIG, region: 'us-east-1' })) as () => Route53Client,
    sns: cached((r) => new (require('@aws-sdk/client-sns') as typeof import('@aws-sdk/client-sns')).SNSClient(withRegion(r))),
    lambda: cached((r) => new (require('@aws-sdk/client-lambda') as typeof import('@aws-sdk/client-lambda')).LambdaClient(withRegion(r))),
  };
}
/* eslint-enable @typescript-eslint/no-require-imports */

/** The real dependencies, with whatever a caller (a test) replaces. */
export function resolveDeps(partial: Partial<CliDeps> = {}, env: Record<string, string | undefined> = {}): CliDeps {
  const clients = { ...defaultClients(), ...(partial.clients ?? {}) };
  return {
    store: (tableName, region) => new Store(clients.dynamodb(region), tableName),
    now: Date.now,
    sleep: (ms, signal) =>
      new Promise<void>((done) => {
        const timer = setTimeout(done, ms);
        signal?.addEventListener('abort', () => {
          clearTimeout(timer);
          done();
        }, { once: true });
      }),
    // trigger.by and attestation.by: printable, at most 128 characters (the Plan step refuses others).
    // eslint-disable-next-line no-control-regex
    user: () => `${env.USER ?? env.LOGNAME ?? env.USERNAME ?? safeUserName()}@${hostname()}`.replace(/[\u0000-\u001f\u007f]/g, '?').slice(0, 128),
    localClock: () => new RealClock(),
    // Loaded on first use: the CDK takes seconds, the runner and every step's SDK client most of one,
    // and only a break-glass run needs them. (tsx resolves these requires; tests pass their own.)
    synth: (config) => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { synthFor } = require('../runner/synth') as typeof import('../runner/synth');
      return synthFor(config);
    },
    workflows: new PreparedWorkflows(workflowCacheDir(env)),
    localWorkflow: (synth, deps, clock) => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { LocalWorkflow } = require('../runner/local-workflow') as typeof import('../runner/local-workflow');
      return new LocalWorkflow(synth, deps, clock);
    },
    followIntervalMs: 2000,
    ...partial,
    clients,
  };
}

function safeUserName(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}

// --- the config --------------------------------------------------------------------------------

export interface LoadedConfig {
  config: FailoverConfig;
  /** The file it came from, absolute. */
  path: string;
  /** The same, as messages show it: relative when it is under the current directory. */
  shown: string;
}

/**
 * The config: --config PATH, else failover.config.json in the current directory, else the example
 * shipped with the package. Invalid configs throw ConfigError (every problem listed).
 */
export function loadCliConfig(flag: string | undefined, cwd: string): LoadedConfig {
  const local = resolve(cwd, 'failover.config.json');
  const path = flag !== undefined ? resolve(cwd, flag) : existsSync(local) ? local : resolve(__dirname, '..', '..', 'failover.config.json');
  const rel = relative(cwd, path);
  return { config: loadConfigFile(path), path, shown: rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path };
}

/** The group by name, or a usage error listing the groups the config knows. */
export function findGroup(loaded: LoadedConfig, name: string): GroupConfig {
  const group = loaded.config.groups.find((g) => g.name === name);
  if (!group) {
    const known = loaded.config.groups.map((g) => g.name).join(', ');
    throw new UsageError(`unknown group ${JSON.stringify(name)}; known groups (in ${loaded.shown}): ${known}`);
  }
  return group;
}

// --- the deployment ----------------------------------------------------------------------------

export type DeploymentFlags = Values<typeof DEPLOYMENT_OPTIONS>;

export interface Deployment {
  /** The stack the outputs came from; null when every needed value came from flags. */
  stackName: string | null;
  /** The controller's region, when known (otherwise the SDK's default applies). */
  region: string | undefined;
  stateMachineArn: string | null;
  tableName: string;
  topicArn: string | null;
  store: Store;
  /** A Step Functions client for the region of `arn` (an execution or state machine ARN). */
  sfn(arn?: string | null): SFNClient;
  /** One line: where this deployment was found. */
  describe(): string;
}

const OUTPUTS = {
  stateMachineArn: { key: 'StateMachineArn', flag: 'state-machine-arn' },
  tableName: { key: 'TableName', flag: 'table' },
  topicArn: { key: 'TopicArn', flag: 'topic-arn' },
} as const;
type OutputName = keyof typeof OUTPUTS;

/** The region inside an ARN (arn:partition:service:region:account:...). */
export function regionOfArn(arn: string | null | undefined): string | undefined {
  const region = arn?.split(':')[3];
  return region ? region : undefined;
}

/**
 * Find the deployment: every value a command needs (the table always, plus `needs`) from the flags,
 * or else from the stack's outputs. A stack is only looked up when a flag is missing.
 */
export async function findDeployment(
  ctx: Context,
  flags: DeploymentFlags,
  loaded: LoadedConfig,
  needs: Array<Exclude<OutputName, 'tableName'>> = [],
): Promise<Deployment> {
  const explicit: Record<OutputName, string | undefined> = {
    stateMachineArn: flags['state-machine-arn'],
    tableName: flags.table,
    topicArn: flags['topic-arn'],
  };
  if (explicit.stateMachineArn !== undefined && !/^arn:aws[\w-]*:states:[a-z0-9-]+:\d{12}:stateMachine:[\w-]+$/.test(explicit.stateMachineArn)) {
    throw new UsageError(`--state-machine-arn must be a state machine ARN such as arn:aws:states:us-west-2:123456789012:stateMachine:Name, got ${JSON.stringify(explicit.stateMachineArn)}`);
  }
  if (explicit.topicArn !== undefined && !/^arn:aws[\w-]*:sns:[a-z0-9-]+:\d{12}:[\w-]+$/.test(explicit.topicArn)) {
    throw new UsageError(`--topic-arn must be an SNS topic ARN such as arn:aws:sns:us-west-2:123456789012:Name, got ${JSON.stringify(explicit.topicArn)}`);
  }
  let region = flags.region ?? regionOfArn(explicit.stateMachineArn);
  const wanted: OutputName[] = ['tableName', ...needs];
  let stackName: string | null = null;
  let fromStack: Partial<Record<OutputName, string>> = {};
  if (wanted.some((k) => explicit[k] === undefined)) {
    stackName = flags['stack-name'] ?? loaded.config.stackName;
    const stack = await readStackOutputs(ctx, stackName, region, loaded.shown);
    fromStack = stack.outputs;
    region ??= stack.region;
    for (const k of wanted) {
      if (explicit[k] === undefined && !fromStack[k]) {
        throw new DeploymentError(
          `stack ${stackName} has no output ${OUTPUTS[k].key}: is it a failover-controller stack? Pass --stack-name NAME, or --${OUTPUTS[k].flag}`,
        );
      }
    }
  }
  const value = (k: OutputName) => explicit[k] ?? fromStack[k] ?? null;
  const tableName = value('tableName')!;
  const store = ctx.deps.store(tableName, region);
  return {
    stackName,
    region,
    stateMachineArn: value('stateMachineArn'),
    tableName,
    topicArn: value('topicArn'),
    store,
    sfn: (arn) => ctx.deps.clients.sfn(regionOfArn(arn) ?? region),
    describe: () => (stackName ? `stack ${stackName}${region ? ` in ${region}` : ''}` : `table ${tableName}${region ? ` in ${region}` : ''}`),
  };
}

async function readStackOutputs(
  ctx: Context,
  stackName: string,
  region: string | undefined,
  configPath: string,
): Promise<{ outputs: Partial<Record<OutputName, string>>; region: string | undefined }> {
  const cfn = ctx.deps.clients.cloudFormation(region);
  const resolvedRegion = region ?? (await clientRegion(cfn));
  let stack;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { DescribeStacksCommand } = require('@aws-sdk/client-cloudformation') as typeof import('@aws-sdk/client-cloudformation');
    const out = await cfn.send(new DescribeStacksCommand({ StackName: stackName }));
    stack = out.Stacks?.[0];
  } catch (err) {
    if ((err as Error).name === 'ValidationError' && /does not exist/.test((err as Error).message)) stack = undefined;
    else throw err;
  }
  if (!stack) {
    throw new DeploymentError(
      `stack ${stackName} not found${resolvedRegion ? ` in ${resolvedRegion}` : ''}: pass --stack-name NAME (and --region REGION if it is elsewhere); the default is stackName in ${configPath}`,
    );
  }
  const outputs: Partial<Record<OutputName, string>> = {};
  for (const [name, { key }] of Object.entries(OUTPUTS) as Array<[OutputName, { key: string }]>) {
    const found = stack.Outputs?.find((o) => o.OutputKey === key)?.OutputValue;
    if (found) outputs[name] = found;
  }
  return { outputs, region: resolvedRegion };
}

/** The region a client resolved (from AWS_REGION or the profile), if any. */
async function clientRegion(client: { config: { region: unknown } }): Promise<string | undefined> {
  try {
    const region = client.config.region;
    const value = typeof region === 'function' ? await (region as () => Promise<string>)() : region;
    return typeof value === 'string' && value ? value : undefined;
  } catch {
    return undefined;
  }
}
