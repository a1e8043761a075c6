/**
 * Construct tests: targeted properties of the synthesized template, for the shipped example config and
 * for a config with two groups in different regions and hosted zones (so scoping is visibly per
 * configured resource, not per stack). Tokens in ARNs and in the state machine definition are resolved
 * for a fixed account and region, so the assertions name concrete strings.
 *
 * aws-cdk-lib costs seconds to load: every construct assertion lives in this one file, and each config
 * is synthesized once.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve as resolvePath } from 'node:path';
import { App, type CfnElement } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { DnsChangeFailed, FenceNotConfirmed, InvalidInput, PermissionDenied, PromotionFailed, TransientAwsError } from '../../lambdas/core/errors';
import { STEPS } from '../../lambdas/steps';
import { resolveIntrinsics } from '../../lib/infra/template-tokens';
import { parseConfig, type FailoverConfig } from '../../lambdas/core/config';
import { groupDigests } from '../../lambdas/core/deployed-group';
import { FailoverControllerStack } from '../../lib/infra/stack';
import { ITEM_WRITE_ACTIONS } from '../../lib/infra/store-table';

// asl-validator ships no types and mutates the definition it is given (always pass a structuredClone).
type AslValidator = (definition: unknown) => { isValid: boolean; errorsText: (separator?: string) => string };
const aslValidator = createRequire(__filename)('asl-validator') as AslValidator;

const ACCOUNT = '111122223333';
const REGION = 'us-west-2';

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

// --- the configs ----------------------------------------------------------------------------------

const exampleRaw = JSON.parse(readFileSync(resolvePath(__dirname, '..', '..', 'failover.config.json'), 'utf8')) as Json;

/** The example plus a second group elsewhere: other regions, another zone, names given un-normalized. */
function twoGroupsRaw(): Json {
  const raw = structuredClone(exampleRaw);
  raw.workflow = { pollIntervalSeconds: 7 };
  raw.groups.push({
    name: 'billing',
    primary: { instanceId: 'i-0fedcba9876543210', region: 'eu-west-1' },
    replica: { dbInstanceIdentifier: 'billing-replica', region: 'eu-central-1', source: 'billing-primary-db', sourceVpcId: 'vpc-0db0000000000000a' },
    // A second candidate: promotable too, so covered by the same grants.
    additionalReplicas: [{ dbInstanceIdentifier: 'billing-replica-2', region: 'eu-north-1' }],
    dns: {
      hostedZoneId: 'Z09876543210ZYXWVUTSR',
      zoneName: 'Billing.Example.NET.',
      records: [
        { name: 'DB.Billing.example.net.', type: 'CNAME', target: 'replicaEndpoint' },
        { name: 'billing.example.net', type: 'AAAA', values: ['2001:db8::10'] },
      ],
    },
  });
  return raw;
}

/** Two groups, the probes in a VPC, and the orders primary fenced by isolation when its stop is not confirmed. */
function hardenedRaw(): Json {
  const raw = twoGroupsRaw();
  raw.probeVpc = { subnetIds: ['subnet-0123456789abcdef0', 'subnet-0123456789abcdef1'], securityGroupIds: ['sg-0123456789abcdef0'] };
  raw.groups[0].primary.vpcId = 'vpc-0123456789abcdef0';
  raw.groups[0].fence = { ...raw.groups[0].fence, onUnconfirmed: 'isolate' };
  return raw;
}
const HARDENED = 'probes in a VPC, isolation and two groups';

/** What each config must produce, written out as concrete strings rather than derived from the config. */
interface Expected {
  pollIntervalSeconds: number;
  instances: string[];
  replicas: string[];
  /** The old databases, which only fence-database may change. */
  sources: string[];
  /** hosted zone ARN → the record names and types it may UPSERT */
  zones: Record<string, { names: string[]; types: string[] }>;
}

const CASES: Array<{ name: string; raw: () => Json; expected: Expected }> = [
  {
    name: 'the example config',
    raw: () => structuredClone(exampleRaw),
    expected: {
      pollIntervalSeconds: 5,
      instances: ['arn:aws:ec2:us-east-1:111122223333:instance/i-0a1b2c3d4e5f60718'],
      replicas: ['arn:aws:rds:us-west-2:111122223333:db:orders-replica'],
      // As configured: an ARN is taken as given.
      sources: ['arn:aws:rds:us-east-1:123456789012:db:orders-primary-db'],
      zones: {
        'arn:aws:route53:::hostedzone/Z0EXAMPLE1234567890AB': { names: ['api.orders.example.com', 'db.orders.example.com'], types: ['A', 'CNAME'] },
      },
    },
  },
  {
    name: 'two groups in different regions and zones',
    raw: twoGroupsRaw,
    expected: {
      pollIntervalSeconds: 7,
      instances: [
        'arn:aws:ec2:eu-west-1:111122223333:instance/i-0fedcba9876543210',
        'arn:aws:ec2:us-east-1:111122223333:instance/i-0a1b2c3d4e5f60718',
      ],
      replicas: [
        'arn:aws:rds:eu-central-1:111122223333:db:billing-replica',
        'arn:aws:rds:eu-north-1:111122223333:db:billing-replica-2',
        'arn:aws:rds:us-west-2:111122223333:db:orders-replica',
      ],
      // An identifier is in the replica's region.
      sources: ['arn:aws:rds:eu-central-1:111122223333:db:billing-primary-db', 'arn:aws:rds:us-east-1:123456789012:db:orders-primary-db'],
      zones: {
        'arn:aws:route53:::hostedzone/Z0EXAMPLE1234567890AB': { names: ['api.orders.example.com', 'db.orders.example.com'], types: ['A', 'CNAME'] },
        // Normalized: lowercase, no trailing dot, as Route 53 compares them.
        'arn:aws:route53:::hostedzone/Z09876543210ZYXWVUTSR': { names: ['billing.example.net', 'db.billing.example.net'], types: ['AAAA', 'CNAME'] },
      },
    },
  },
];

// --- synthesis and token resolution ------------------------------------------------------------------

interface Synthesized {
  config: FailoverConfig;
  stack: FailoverControllerStack;
  template: Template;
  json: Json;
  resources: Record<string, Json>;
  /** Resolve CloudFormation intrinsics as AWS would in ACCOUNT/REGION (physical names are the logical ids). */
  resolve: (value: unknown) => Json;
  /** step name → the resolved ARN of its Lambda function */
  stepArns: Map<string, string>;
  /** role logical id → who uses it: a step name, 'state-machine', or the role's logical id */
  roleOwners: Map<string, string>;
  /** The resolved ASL definition. */
  definition: Json;
}

function synthesize(config: FailoverConfig): Synthesized {
  // Skip bundling: the Lambda code is not what these tests look at.
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new FailoverControllerStack(app, 'Test', { config, env: { account: ACCOUNT, region: REGION } });
  const template = Template.fromStack(stack);
  const json = template.toJSON();
  const resources = json.Resources as Record<string, Json>;
  const resolve = (value: unknown) => resolveTokens(value, resources);

  const logicalIdOf = (construct: { node: { defaultChild?: unknown } }) => stack.getLogicalId(construct.node.defaultChild as CfnElement);
  const stepArns = new Map<string, string>();
  const roleOwners = new Map<string, string>();
  for (const [step, fn] of Object.entries(stack.controller.workflow.functions)) {
    const id = logicalIdOf(fn);
    stepArns.set(step, resolve({ 'Fn::GetAtt': [id, 'Arn'] }));
    roleOwners.set(resources[id].Properties.Role['Fn::GetAtt'][0], step);
  }
  const machineId = logicalIdOf(stack.controller.workflow.stateMachine);
  roleOwners.set(resources[machineId].Properties.RoleArn['Fn::GetAtt'][0], 'state-machine');
  roleOwners.set(resources[logicalIdOf(stack.controller.readiness.function)].Properties.Role['Fn::GetAtt'][0], 'readiness');
  const probe = stack.controller.detection.probeFunction;
  if (probe) roleOwners.set(resources[logicalIdOf(probe)].Properties.Role['Fn::GetAtt'][0], 'probe');
  roleOwners.set(logicalIdOf(stack.controller.operatorAccess.operatorRole), 'operator');
  const definition = JSON.parse(resolve(resources[machineId].Properties.DefinitionString));
  return { config, stack, template, json, resources, resolve, stepArns, roleOwners, definition };
}

const resolveTokens = (value: unknown, resources: Record<string, Json>): Json =>
  resolveIntrinsics(value, resources, { account: ACCOUNT, region: REGION });

// --- IAM -----------------------------------------------------------------------------------------

interface Grant {
  /** who holds the statement: a step name, 'state-machine', or a role's logical id */
  grantee: string;
  policy: string;
  effect: string;
  actions: string[];
  resources: string[];
  conditions?: Json;
  /** NotAction / NotResource make a statement allow more than it names. */
  negated: boolean;
}

const list = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** Every statement of every AWS::IAM::Policy (and any inline role policy), resolved. */
function grantsIn(s: Synthesized): Grant[] {
  const grants: Grant[] = [];
  const add = (policy: string, grantees: string[], document: Json) => {
    for (const st of list<Json>(document.Statement)) {
      for (const grantee of grantees) {
        grants.push({
          grantee,
          policy,
          effect: st.Effect,
          actions: list<string>(st.Action),
          resources: list<Json>(s.resolve(st.Resource)),
          conditions: st.Condition,
          negated: st.NotAction !== undefined || st.NotResource !== undefined,
        });
      }
    }
  };
  for (const [id, r] of Object.entries(s.resources)) {
    if (r.Type === 'AWS::IAM::Policy') {
      const roles = list<Json>(r.Properties.Roles).map((ref) => s.roleOwners.get(ref.Ref) ?? ref.Ref);
      add(id, roles, r.Properties.PolicyDocument);
    }
    if (r.Type === 'AWS::IAM::Role') {
      for (const p of list<Json>(r.Properties.Policies)) add(`${id}/${p.PolicyName}`, [s.roleOwners.get(id) ?? id], p.PolicyDocument);
    }
  }
  return grants;
}

/** Does an action pattern from a policy (may hold * and ?) cover this action? IAM action names are case-insensitive. */
function covers(pattern: string, action: string): boolean {
  const re = new RegExp(`^${pattern.split('').map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&'))).join('')}$`, 'i');
  return re.test(action);
}

/** The Allow statements that grant this action, however they spell it. */
const allowing = (grants: Grant[], action: string) => grants.filter((g) => g.effect === 'Allow' && g.actions.some((a) => covers(a, action)));

/** Read-only by name: the verbs AWS uses for calls that change nothing. `ec2:Describe*` is read-only; `ec2:*` is not. */
function changesSomething(action: string): boolean {
  const verb = action.split(':')[1] ?? action;
  return !/^(Describe|Get|List)/.test(verb);
}

/**
 * Changing actions AWS authorizes only on "*" (they support no resource-level permissions), granted by
 * CDK to the state machine's role for its execution logs (CloudWatch Logs vended-log delivery) and X-Ray
 * tracing. Named one by one, and only for that role, so anything new still fails the check.
 */
const STAR_ONLY_FOR_STATE_MACHINE = new Set([
  'logs:CreateLogDelivery',
  'logs:UpdateLogDelivery',
  'logs:DeleteLogDelivery',
  'logs:PutResourcePolicy',
  'xray:PutTraceSegments',
  'xray:PutTelemetryRecords',
]);

/** Allow statements that let a changing action touch anything: a `*` resource, or NotAction/NotResource. */
function unscopedChanges(grants: Grant[]): string[] {
  return grants
    .filter((g) => g.effect === 'Allow')
    .flatMap((g) =>
      g.actions
        .filter((a) => changesSomething(a))
        .filter((a) => g.negated || g.resources.includes('*'))
        .filter((a) => !(g.grantee === 'state-machine' && !g.negated && STAR_ONLY_FOR_STATE_MACHINE.has(a)))
        .map((a) => `${g.grantee}: ${a} on ${g.negated ? '(NotAction/NotResource)' : '*'}`),
    );
}

/**
 * EventBridge's matching for the exact-value patterns the stack uses: every field of the pattern must be
 * present in the event; a list matches a value equal to one of its members (or, for a list in the event,
 * any member); an object matches field by field.
 */
function matchesPattern(pattern: Json, event: Json): boolean {
  return Object.entries<Json>(pattern).every(([key, want]) => {
    const got = event?.[key];
    if (got === undefined) return false;
    if (Array.isArray(want)) return (Array.isArray(got) ? got : [got]).some((v) => want.includes(v));
    return matchesPattern(want, got);
  });
}

// --- the state machine graph ---------------------------------------------------------------------

interface Edge {
  from: string;
  to: string;
  /** 'Next', 'Default', 'Choices[i]' or 'Catch[i]' */
  via: string;
}

function edgesOf(definition: Json): Edge[] {
  const edges: Edge[] = [];
  for (const [name, state] of Object.entries<Json>(definition.States)) {
    // A nested state machine would hide transitions from this walk.
    expect(['Parallel', 'Map'], `${name} is a ${state.Type}: the graph checks do not look inside it`).not.toContain(state.Type);
    if (state.Next) edges.push({ from: name, to: state.Next, via: 'Next' });
    if (state.Default) edges.push({ from: name, to: state.Default, via: 'Default' });
    list<Json>(state.Choices).forEach((c, i) => edges.push({ from: name, to: c.Next, via: `Choices[${i}]` }));
    list<Json>(state.Catch).forEach((c, i) => edges.push({ from: name, to: c.Next, via: `Catch[${i}]` }));
  }
  return edges;
}

/** The states reachable from `from` (itself included), not following the edges `skip` rejects. */
function reachable(definition: Json, from: string, skip: (e: Edge) => boolean = () => false): Set<string> {
  const edges = edgesOf(definition);
  const seen = new Set([from]);
  const queue = [from];
  while (queue.length > 0) {
    const here = queue.shift()!;
    for (const e of edges) {
      if (e.from === here && !skip(e) && !seen.has(e.to)) {
        seen.add(e.to);
        queue.push(e.to);
      }
    }
  }
  return seen;
}

const statesOf = (definition: Json, type: string) => Object.entries<Json>(definition.States).filter(([, s]) => s.Type === type);

/**
 * The structural half of "never two writers": the states that invoke the promote-replica function
 * reachable from StartAt only through the Choice 'Fenced?' taking its `$.verify.confirmed == true` branch.
 * Returns the problems found (empty when the rule holds).
 */
function promotionGateProblems(definition: Json, promoteArn: string): string[] {
  const problems: string[] = [];
  const promoting = statesOf(definition, 'Task')
    .filter(([, s]) => s.Resource === promoteArn)
    .map(([name]) => name);
  if (promoting.length === 0) problems.push('no state invokes the promote-replica function');

  const gate = definition.States['Fenced?'];
  const gateRules = list<Json>(gate?.Choices).map((c, i) => ({ c, i }));
  const confirmed = gateRules.filter(({ c }) => c.Variable === '$.verify.confirmed' && c.BooleanEquals === true && Object.keys(c).length === 3);
  if (gate?.Type !== 'Choice' || confirmed.length !== 1) {
    problems.push("'Fenced?' is not a Choice with one rule `$.verify.confirmed == true`");
    return problems;
  }
  const { c: rule, i } = confirmed[0];
  // No other way out of the gate leads to a promotion either.
  const otherExits = [gate.Default, ...gateRules.filter((r) => r.i !== i).map((r) => r.c.Next)].filter(Boolean);
  const throughGate = (e: Edge) => e.from === 'Fenced?' && e.via === `Choices[${i}]`;
  for (const name of promoting) {
    if (reachable(definition, definition.StartAt, throughGate).has(name)) {
      problems.push(`${name} is reachable from ${definition.StartAt} without passing 'Fenced?' on $.verify.confirmed`);
    }
    if (!reachable(definition, rule.Next).has(name)) problems.push(`${name} is not reachable through 'Fenced?'`);
    for (const exit of otherExits) {
      if (reachable(definition, exit, throughGate).has(name)) problems.push(`${name} is reachable from the 'Fenced?' exit ${exit}`);
    }
  }
  return problems;
}

// --- the tests -----------------------------------------------------------------------------------

const synthesized = new Map<string, Synthesized>();
beforeAll(() => {
  for (const c of CASES) synthesized.set(c.name, synthesize(parseConfig(c.raw(), c.name)));
  synthesized.set(HARDENED, synthesize(parseConfig(hardenedRaw(), HARDENED)));
});
/** The configs the security checks run on. */
const SECURITY_CASES = [...CASES.map((c) => c.name), HARDENED].map((name) => ({ name }));
const get = (name: string) => synthesized.get(name)!;

describe('resources (example config)', () => {
  let s: Synthesized;
  beforeAll(() => {
    s = get('the example config');
  });

  it('has one STANDARD state machine that logs every event for 90 days without the execution data (config and DNS values), and X-Ray tracing', () => {
    s.template.resourceCountIs('AWS::StepFunctions::StateMachine', 1);
    const [machine] = Object.values(s.template.findResources('AWS::StepFunctions::StateMachine'));
    const logGroupId = machine.Properties.LoggingConfiguration.Destinations[0].CloudWatchLogsLogGroup.LogGroupArn['Fn::GetAtt'][0];
    expect(s.resources[logGroupId].Properties.RetentionInDays).toBe(90);
    s.template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineType: 'STANDARD',
      LoggingConfiguration: {
        Level: 'ALL',
        IncludeExecutionData: false,
        Destinations: [{ CloudWatchLogsLogGroup: { LogGroupArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('ExecutionLogs'), 'Arn'] } } }],
      },
      TracingConfiguration: { Enabled: true },
    });
  });

  it('has one retained, encrypted, on-demand DynamoDB table with point-in-time recovery and the history index', () => {
    s.template.resourceCountIs('AWS::DynamoDB::Table', 1);
    s.template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: Match.objectLike({
        BillingMode: 'PAY_PER_REQUEST',
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        SSESpecification: { SSEEnabled: true },
        GlobalSecondaryIndexes: [Match.objectLike({ IndexName: 'history-by-time', Projection: { ProjectionType: 'ALL' } })],
      }),
    });
  });

  it('has one SNS topic encrypted with its own rotated KMS key whose policy denies publishing without TLS', () => {
    s.template.resourceCountIs('AWS::SNS::Topic', 1);
    const [topicId, topic] = Object.entries(s.template.findResources('AWS::SNS::Topic'))[0];
    // A customer-managed key (CloudWatch alarms cannot publish to a topic under alias/aws/sns); its key
    // policy is checked in observability.test.ts.
    const keyId = topic.Properties.KmsMasterKeyId['Fn::GetAtt'][0];
    expect(s.resources[keyId]).toMatchObject({ Type: 'AWS::KMS::Key', Properties: { EnableKeyRotation: true } });
    s.template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [{ Ref: topicId }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Principal: '*',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            Resource: { Ref: topicId },
          }),
        ]),
      },
    });
  });

  it('outputs the state machine ARN, the table name and the topic ARN', () => {
    const idOf = (type: string) => Object.keys(s.template.findResources(type))[0];
    s.template.hasOutput('StateMachineArn', { Value: { Ref: idOf('AWS::StepFunctions::StateMachine') } });
    s.template.hasOutput('TableName', { Value: { Ref: idOf('AWS::DynamoDB::Table') } });
    s.template.hasOutput('TopicArn', { Value: { Ref: idOf('AWS::SNS::Topic') } });
  });

  it('runs every Lambda function on Node.js 22 or newer, on arm64, logging to its own log group', () => {
    const functions = Object.entries(s.template.findResources('AWS::Lambda::Function'));
    expect(functions.length).toBeGreaterThanOrEqual(8);
    const logGroups = new Set<string>();
    for (const [id, fn] of functions) {
      const { Runtime, Architectures, LoggingConfig } = fn.Properties;
      expect(Number(/^nodejs(\d+)\.x$/.exec(Runtime)?.[1] ?? 0), `${id} runtime ${Runtime}`).toBeGreaterThanOrEqual(22);
      expect(Architectures, id).toEqual(['arm64']);
      const logGroup = LoggingConfig?.LogGroup?.Ref as string | undefined;
      expect(logGroup && s.resources[logGroup]?.Type, `${id} log group`).toBe('AWS::Logs::LogGroup');
      logGroups.add(logGroup!);
    }
    expect(logGroups.size, 'functions share a log group').toBe(functions.length);
  });

  it('has one Lambda function per workflow step, the eight failover steps among them', () => {
    // STEPS is the registry the drill and the handlers use; the workflow must deploy exactly those.
    const steps = Object.keys(s.stack.controller.workflow.functions).sort();
    expect(steps).toEqual([...STEPS].sort());
    expect(steps).toEqual(
      expect.arrayContaining(['plan', 'acquire-lock', 'assess-replica', 'fence-primary', 'promote-replica', 'flip-dns', 'notify', 'record-outcome']),
    );
    for (const step of steps) {
      s.template.hasResourceProperties('AWS::Lambda::Function', { Description: `failover-controller workflow step: ${step}` });
    }
    const stepFunctions = Object.values(s.template.findResources('AWS::Lambda::Function')).filter((fn) =>
      String(fn.Properties.Description).startsWith('failover-controller workflow step: '),
    );
    expect(stepFunctions).toHaveLength(steps.length);
  });
});

describe.each(CASES)('IAM least privilege: $name', ({ name, expected }) => {
  let s: Synthesized;
  let grants: Grant[];
  beforeAll(() => {
    s = get(name);
    grants = grantsIn(s);
  });

  it('lets only the fence steps stop instances (verify-fences one found running again), and only the configured writers', () => {
    const stop = allowing(grants, 'ec2:StopInstances');
    expect(new Set(stop.map((g) => g.grantee))).toEqual(new Set(['fence-primary', 'verify-fences']));
    for (const g of stop) expect([...g.resources].sort(), g.grantee).toEqual(expected.instances);
    // Nothing else in EC2 that changes state (terminate, start, modify...) is granted at all.
    const ec2Changes = grants.filter((g) => g.effect === 'Allow').flatMap((g) => g.actions.filter((a) => /^ec2:/i.test(a) && changesSomething(a)));
    expect(ec2Changes).toEqual(['ec2:StopInstances', 'ec2:StopInstances']);
  });

  it('lets only promote-replica promote, and only the configured replicas', () => {
    const promote = allowing(grants, 'rds:PromoteReadReplica');
    expect(new Set(promote.map((g) => g.grantee))).toEqual(new Set(['promote-replica']));
    expect(promote.flatMap((g) => g.resources).sort()).toEqual(expected.replicas);
    const rdsChanges = grants.filter((g) => g.effect === 'Allow').flatMap((g) => g.actions.filter((a) => /^rds:/i.test(a) && changesSomething(a)));
    expect(rdsChanges.sort()).toEqual(['rds:ModifyDBInstance', 'rds:PromoteReadReplica', 'rds:RebootDBInstance']);
  });

  it('lets only fence-database change the old database: its security groups and a reboot, on the configured sources only', () => {
    for (const action of ['rds:ModifyDBInstance', 'rds:RebootDBInstance']) {
      const changes = allowing(grants, action);
      expect(new Set(changes.map((g) => g.grantee)), action).toEqual(new Set(['fence-database']));
      expect(changes.flatMap((g) => g.resources).sort(), action).toEqual(expected.sources);
    }
  });

  it('lets fence-primary suspend Auto Scaling processes only in the primaries\' regions of this account', () => {
    const suspend = allowing(grants, 'autoscaling:SuspendProcesses');
    expect(suspend.map((g) => g.grantee)).toEqual(['fence-primary']);
    const regions = [...new Set(expected.instances.map((arn) => arn.split(':')[3]))].sort();
    expect(suspend[0].resources.sort()).toEqual(regions.map((r) => `arn:aws:autoscaling:${r}:111122223333:autoScalingGroup:*:autoScalingGroupName/*`));
  });

  it('lets only flip-dns change records: UPSERTs of the configured names and types, zone by zone', () => {
    const change = allowing(grants, 'route53:ChangeResourceRecordSets');
    expect(new Set(change.map((g) => g.grantee))).toEqual(new Set(['flip-dns']));
    const byZone: Record<string, Json> = {};
    for (const g of change) {
      expect(g.resources, 'one zone per statement, so each zone gets only its own names').toHaveLength(1);
      const zone = g.resources[0];
      expect(byZone[zone], `${zone} granted twice`).toBeUndefined();
      byZone[zone] = g.conditions;
    }
    const sorted = (v: string[] | string) => [...list(v)].sort();
    const normalized = Object.fromEntries(
      Object.entries(byZone).map(([zone, condition]) => {
        expect(Object.keys(condition ?? {}), `${zone}: conditions`).toEqual(['ForAllValues:StringEquals']);
        const c = condition['ForAllValues:StringEquals'];
        expect(Object.keys(c).sort()).toEqual([
          'route53:ChangeResourceRecordSetsActions',
          'route53:ChangeResourceRecordSetsNormalizedRecordNames',
          'route53:ChangeResourceRecordSetsRecordTypes',
        ]);
        expect(sorted(c['route53:ChangeResourceRecordSetsActions']), zone).toEqual(['UPSERT']);
        return [zone, { names: sorted(c['route53:ChangeResourceRecordSetsNormalizedRecordNames']), types: sorted(c['route53:ChangeResourceRecordSetsRecordTypes']) }];
      }),
    );
    expect(normalized).toEqual(expected.zones);
  });

  it('scopes DynamoDB to the table and its indexes, SNS publishing to the topic, Lambda invocation to the steps', () => {
    const tableId = Object.keys(s.template.findResources('AWS::DynamoDB::Table'))[0];
    const tableArn = s.resolve({ 'Fn::GetAtt': [tableId, 'Arn'] });
    expect(tableArn).toBe(`arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${tableId}`);
    const dynamo = grants.filter((g) => g.effect === 'Allow' && g.actions.some((a) => /^dynamodb:/i.test(a)));
    expect(dynamo.map((g) => g.grantee)).toEqual(expect.arrayContaining(['acquire-lock', 'record-outcome']));
    for (const g of dynamo) {
      for (const r of g.resources) expect([tableArn, `${tableArn}/index/*`], `${g.grantee}: dynamodb on ${r}`).toContain(r);
    }

    const topicArn = s.resolve({ Ref: Object.keys(s.template.findResources('AWS::SNS::Topic'))[0] });
    const publish = allowing(grants, 'sns:Publish');
    expect(publish.map((g) => g.grantee)).toContain('notify');
    for (const g of publish) expect(g.resources, g.grantee).toEqual([topicArn]);

    const invoke = allowing(grants, 'lambda:InvokeFunction');
    expect(new Set(invoke.map((g) => g.grantee))).toEqual(new Set(['state-machine', 'readiness']));
    const stepArns = [...s.stepArns.values()];
    const allowed = new Set(stepArns.flatMap((arn) => [arn, `${arn}:*`])); // the function, or a version/alias of it
    const invoked = invoke.filter((g) => g.grantee === 'state-machine').flatMap((g) => g.resources);
    for (const r of invoked) expect(allowed, `lambda:InvokeFunction on ${r}`).toContain(r);
    // The readiness function asks the fence-primary function (its StopInstances DryRun), nothing else.
    const fence = s.stepArns.get('fence-primary')!;
    expect(invoke.filter((g) => g.grantee === 'readiness').flatMap((g) => g.resources).sort()).toEqual([fence, `${fence}:*`]);
    expect(new Set(invoked.filter((r) => !r.endsWith(':*')))).toEqual(new Set(stepArns));
  });

  it('grants each workflow role only the services its step uses', () => {
    // Catches a grant landing on the wrong step's role, which the per-action checks above might not.
    const services = new Map<string, Set<string>>();
    for (const g of grants.filter((x) => x.effect === 'Allow')) {
      const set = services.get(g.grantee) ?? new Set<string>();
      for (const a of g.actions) set.add(a.split(':')[0]);
      services.set(g.grantee, set);
    }
    const expectedServices: Record<string, string[]> = {
      // Every function writes its own log group ('logs'); beyond that, only its step's services.
      plan: ['logs'],
      'confirm-outage': ['logs'], // probes endpoints only
      'acquire-lock': ['dynamodb', 'logs'],
      'assess-replica': ['cloudwatch', 'logs', 'rds'],
      'fence-primary': ['autoscaling', 'ec2', 'logs'],
      'fence-database': ['ec2', 'logs', 'rds'], // ec2: finds the deny-all group by name
      'verify-fences': ['ec2', 'logs', 'rds'],
      'catch-up': ['cloudwatch', 'logs', 'rds'],
      'promote-replica': ['cloudwatch', 'logs', 'rds'],
      'flip-dns': ['logs', 'rds', 'route53'], // rds: the promoted replica's address, never the event's
      notify: ['kms', 'logs', 'sns'], // kms: the topic's key, to publish to the encrypted topic
      'record-outcome': ['dynamodb', 'logs'],
      'state-machine': ['lambda', 'logs', 'xray'],
      // Reads everything a failover needs; kms: the topic's key; lambda: asks fence-primary for the DryRun;
      // sqs: Lambda records a run it dropped in the dead-letter queue with the function's role.
      readiness: ['autoscaling', 'cloudwatch', 'dynamodb', 'ec2', 'kms', 'lambda', 'logs', 'rds', 'route53', 'sns', 'sqs'],
      // The probe counters, starting a failover, notifying, and the record of a dropped invocation.
      probe: ['dynamodb', 'kms', 'logs', 'sns', 'sqs', 'states'],
    };
    for (const step of s.stepArns.keys()) expect(Object.keys(expectedServices), `the services of step ${step}`).toContain(step);
    for (const [who, want] of Object.entries(expectedServices)) {
      expect([...(services.get(who) ?? [])].sort(), who).toEqual(want);
    }
  });

  it('lets the readiness function only read (and its own store item), never stop, promote or change a record', () => {
    const mine = grants.filter((g) => g.grantee === 'readiness' && g.effect === 'Allow');
    const changing = mine.flatMap((g) => g.actions).filter((a) => changesSomething(a) && !['dynamodb:PutItem', 'sns:Publish', 'lambda:InvokeFunction', 'kms:GenerateDataKey*', 'kms:Decrypt', 'sqs:SendMessage'].includes(a) && !a.startsWith('logs:'));
    expect(changing).toEqual([]);
    const fn = s.template.findResources('AWS::Lambda::Function', { Properties: { Description: 'failover-controller: checks that a failover of each group would work (readiness)' } });
    const [props] = Object.values(fn).map((f) => f.Properties);
    expect(s.resolve(props.Environment.Variables.FENCE_FUNCTION_NAME)).toBe(s.stepArns.get('fence-primary')!.split(':').pop());
  });

  it('attaches no managed policy to any role, and lets each function write only its own log group', () => {
    for (const [id, role] of Object.entries(s.template.findResources('AWS::IAM::Role'))) {
      expect(list<Json>(role.Properties.ManagedPolicyArns), s.roleOwners.get(id) ?? id).toEqual([]);
    }
    for (const [id, fn] of Object.entries(s.template.findResources('AWS::Lambda::Function'))) {
      const roleId = fn.Properties.Role['Fn::GetAtt'][0];
      const grantee = s.roleOwners.get(roleId) ?? roleId;
      const logGroup = fn.Properties.LoggingConfig.LogGroup.Ref;
      const logGrants = grants.filter((g) => g.grantee === grantee && g.actions.some((a) => a.startsWith('logs:')));
      expect(logGrants.flatMap((g) => g.resources), id).toEqual([s.resolve({ 'Fn::GetAtt': [logGroup, 'Arn'] })]);
    }
  });

  it('allows no changing action on "*" anywhere in the template', () => {
    expect(grants.length).toBeGreaterThan(0);
    expect(unscopedChanges(grants)).toEqual([]);
  });
});

describe('the unscoped-change check itself', () => {
  const grant = (over: Partial<Grant>): Grant => ({ grantee: 'fence-primary', policy: 'P', effect: 'Allow', actions: [], resources: ['*'], negated: false, ...over });

  it('flags changing actions, wildcards and NotResource on "*", and lets reads through', () => {
    expect(
      unscopedChanges([
        grant({ actions: ['ec2:StopInstances'] }),
        grant({ actions: ['ec2:*'] }),
        grant({ actions: ['*'] }),
        grant({ actions: ['rds:PromoteReadReplica'], resources: ['arn:aws:rds:us-west-2:111122223333:db:x'], negated: true }),
        grant({ actions: ['xray:PutTraceSegments'] }), // exempt only for the state machine's role
        grant({ actions: ['ec2:DescribeInstances', 'ec2:Describe*', 'cloudwatch:GetMetricStatistics', 'route53:ListResourceRecordSets'] }),
        grant({ actions: ['ec2:StopInstances'], effect: 'Deny' }),
        grant({ actions: ['xray:PutTraceSegments'], grantee: 'state-machine' }),
      ]),
    ).toEqual([
      'fence-primary: ec2:StopInstances on *',
      'fence-primary: ec2:* on *',
      'fence-primary: * on *',
      'fence-primary: rds:PromoteReadReplica on (NotAction/NotResource)',
      'fence-primary: xray:PutTraceSegments on *',
    ]);
  });

  it('matches actions the way IAM does', () => {
    expect(covers('ec2:Stop*', 'ec2:StopInstances')).toBe(true);
    expect(covers('EC2:stopinstances', 'ec2:StopInstances')).toBe(true);
    expect(covers('*', 'route53:ChangeResourceRecordSets')).toBe(true);
    expect(covers('ec2:StopInstance', 'ec2:StopInstances')).toBe(false);
    expect(covers('ec2:Describe*', 'ec2:StopInstances')).toBe(false);
  });
});

describe.each(CASES)('state machine definition: $name', ({ name, expected }) => {
  let s: Synthesized;
  let definition: Json;
  let tasks: Array<[string, Json]>;
  beforeAll(() => {
    s = get(name);
    definition = s.definition;
    tasks = statesOf(definition, 'Task');
  });

  it('is valid Amazon States Language', () => {
    const { isValid, errorsText } = aslValidator(structuredClone(definition));
    expect(isValid, errorsText('\n')).toBe(true);
    expect(definition.QueryLanguage ?? 'JSONPath', 'the drill runner supports JSONPath only').toBe('JSONPath');
  });

  it('invokes only the step functions, each step by at least one Task', () => {
    const stepByArn = new Map([...s.stepArns].map(([step, arn]) => [arn, step]));
    const stepOf = Object.fromEntries(tasks.map(([state, t]) => [state, stepByArn.get(t.Resource)]));
    for (const [state, step] of Object.entries(stepOf)) expect(step, `${state} invokes ${tasks.find(([n]) => n === state)![1].Resource}`).toBeDefined();
    expect(new Set(Object.values(stepOf))).toEqual(new Set(s.stepArns.keys()));
    expect(stepOf).toMatchObject({
      Plan: 'plan',
      AcquireLock: 'acquire-lock',
      FencePrimary: 'fence-primary',
      CheckFence: 'fence-primary',
      PromoteReplica: 'promote-replica',
      CheckPromotion: 'promote-replica',
      ApplyDnsChange: 'flip-dns',
    });
  });

  it('retries transient errors on every Task with exponential backoff and full jitter, and never retries everything', () => {
    expect(tasks.length).toBeGreaterThanOrEqual(8);
    const logicErrors = [InvalidInput, FenceNotConfirmed, PromotionFailed, DnsChangeFailed, PermissionDenied].map((e) => e.name);
    for (const [state, task] of tasks) {
      const retriers = list<Json>(task.Retry);
      const transient = retriers.filter((r) => r.ErrorEquals.includes(TransientAwsError.name));
      expect(transient, `${state}: a Retry on TransientAwsError`).toHaveLength(1);
      expect(transient[0].JitterStrategy, state).toBe('FULL');
      expect(transient[0].BackoffRate, state).toBeGreaterThan(1);
      expect(transient[0].MaxAttempts ?? 3, state).toBeGreaterThan(1);
      const retried = retriers.flatMap((r) => r.ErrorEquals as string[]);
      // States.TaskFailed matches every error a function throws, logic errors included: as bad as States.ALL.
      expect(retried, state).not.toContain('States.ALL');
      expect(retried, state).not.toContain('States.TaskFailed');
      for (const e of logicErrors) expect(retried, `${state} retries the logic error ${e}`).not.toContain(e);
    }
  });

  it('catches every failure after the lock into an Outcome state, which then notifies and records', () => {
    // The reporting tail (Outcome* → Notify → Record → finish) is excluded: it is where catches lead.
    const outcomes = Object.keys(definition.States).filter((n) => n.startsWith('Outcome'));
    const tail = new Set(outcomes.flatMap((o) => [...reachable(definition, o)]));
    const afterLock = [...reachable(definition, 'AcquireLock')].filter((n) => !tail.has(n) && definition.States[n].Type === 'Task');
    expect(afterLock).toEqual(expect.arrayContaining(['AcquireLock', 'AssessReplica', 'FencePrimary', 'CheckFence', 'PromoteReplica', 'CheckPromotion', 'ApplyDnsChange', 'CheckDnsSync']));
    for (const state of afterLock) {
      const catchAll = list<Json>(definition.States[state].Catch).filter((c) => c.ErrorEquals.includes('States.ALL'));
      expect(catchAll, `${state}: a Catch on States.ALL`).toHaveLength(1);
      expect(catchAll[0].Next, state).toMatch(/^Outcome/);
      // Into a sub-path, so the record still has the plan and the lock to release. Measuring the data
      // loss comes after the failover happened: its failure keeps the earlier bound and is no error.
      expect(catchAll[0].ResultPath, state).toBe(state === 'MeasureDataLoss' ? '$.measureError' : '$.error');
    }
    for (const o of outcomes) {
      expect(reachable(definition, o), `${o} is recorded`).toContain('Record');
    }
    // A failed notification is still recorded; a failed record is still notified.
    expect(list<Json>(definition.States.Notify.Catch).map((c) => c.Next)).toEqual(['Record']);
    expect(list<Json>(definition.States.Record.Catch).map((c) => c.Next)).toEqual(['NotifyRecordLost']);
  });

  it(`waits workflow.pollIntervalSeconds (${expected.pollIntervalSeconds} s) between polls`, () => {
    expect(s.config.workflow.pollIntervalSeconds).toBe(expected.pollIntervalSeconds);
    const waits = statesOf(definition, 'Wait');
    expect(waits.map(([n]) => n)).toEqual(expect.arrayContaining(['WaitForFence', 'WaitForPromotion', 'WaitForDnsSync']));
    for (const [state, wait] of waits) {
      expect(wait, state).toEqual({ Type: 'Wait', Seconds: expected.pollIntervalSeconds, Next: expect.any(String) });
    }
  });

  it("reaches the promotion only through 'Fenced?' on $.verify.confirmed == true", () => {
    const promoteArn = s.stepArns.get('promote-replica')!;
    expect(promotionGateProblems(definition, promoteArn)).toEqual([]);
    // Walking from the fence: FencePrimary stops the primary, and its result is what the gate reads.
    expect(definition.States.FencePrimary).toMatchObject({ Resource: s.stepArns.get('fence-primary'), Parameters: { action: 'start' }, ResultPath: '$.fence' });
    expect(reachable(definition, 'FencePrimary')).toContain('PromoteReplica');
    expect(reachable(definition, definition.StartAt, (e) => e.to === 'FencePrimary').has('PromoteReplica'), 'a way around FencePrimary').toBe(false);
    // Every writer: the old database is fenced on every way to the promotion, and the gate re-checks all.
    expect(reachable(definition, definition.StartAt, (e) => e.to === 'FenceDatabase').has('PromoteReplica'), 'a way around FenceDatabase').toBe(false);
    expect(definition.States.VerifyFencesBeforePromotion).toMatchObject({ Resource: s.stepArns.get('verify-fences'), Parameters: { action: 'promotion' }, ResultPath: '$.verify' });
  });

  it('re-checks every fence immediately before the DNS change, and changes DNS only when they hold', () => {
    const gate = definition.States['StillFenced?'];
    expect(gate.Choices).toEqual([{ Variable: '$.verify.confirmed', BooleanEquals: true, Next: 'ApplyDnsChange' }]);
    expect(definition.States.VerifyFencesBeforeDns).toMatchObject({ Resource: s.stepArns.get('verify-fences'), Parameters: { action: 'dns' }, Next: 'StillFenced?' });
    expect(reachable(definition, definition.StartAt, (e) => e.to === 'VerifyFencesBeforeDns').has('ApplyDnsChange'), 'a way around the DNS re-check').toBe(false);
  });

  it('in a switchover, stops the writers before waiting for the replica, and promotes only after it caught up', () => {
    const mode = definition.States['Switchover?'];
    expect(mode.Choices).toEqual([{ Variable: '$.plan.mode', StringEquals: 'switchover', Next: 'SwitchoverPrecheck' }]);
    // The lag wait comes after both fences; nothing before them waits for the lag.
    expect(reachable(definition, 'SwitchoverPrecheck', (e) => e.to === 'FencePrimary').has('CheckCatchUp')).toBe(false);
    expect(reachable(definition, 'SwitchoverPrecheck', (e) => e.to === 'FenceDatabase').has('CheckCatchUp')).toBe(false);
    expect(reachable(definition, 'SwitchoverPrecheck', (e) => e.to === 'AssessReplica').has('PromoteReplica')).toBe(true);
    expect(definition.States['CaughtUp?'].Choices[0]).toEqual({ Variable: '$.assess.decision', StringEquals: 'proceed', Next: 'VerifyFencesBeforePromotion' });
  });

  it('lets only the fence steps write $.fence, so the gate reads what they found', () => {
    // Plan replaces the execution input with { plan }: a caller cannot smuggle in `fence.confirmed`.
    const plan = definition.States[definition.StartAt];
    expect(definition.StartAt).toBe('Plan');
    expect(plan.ResultSelector).toEqual({ 'plan.$': '$' });
    expect(plan.ResultPath).toBeUndefined();
    for (const [state, st] of Object.entries<Json>(definition.States)) {
      if (state === 'Plan') continue;
      expect(st.OutputPath, state).toBeUndefined();
      if (st.Type === 'Task' || st.Type === 'Pass') {
        expect(st.ResultPath, `${state} must write under a key, not replace the state`).toMatch(/^\$\.[A-Za-z]/);
      }
    }
    const writers = Object.entries<Json>(definition.States)
      .filter(([, st]) => typeof st.ResultPath === 'string' && /^\$\.fence(\.|$)/.test(st.ResultPath))
      .map(([n]) => n)
      .sort();
    expect(writers).toEqual(['CheckFence', 'FencePrimary']);
    const verifiers = Object.entries<Json>(definition.States)
      .filter(([, st]) => typeof st.ResultPath === 'string' && /^\$\.verify(\.|$)/.test(st.ResultPath))
      .map(([n]) => n)
      .sort();
    expect(verifiers).toEqual(['VerifyFencesBeforeDns', 'VerifyFencesBeforePromotion']);
  });

  it("names each group's config by digest in the Plan parameters, and carries no config", () => {
    const plan = definition.States.Plan;
    expect(Object.keys(plan.Parameters).sort()).toEqual(['execution', 'groupDigests', 'input.$']);
    expect(plan.Parameters.groupDigests).toEqual(groupDigests(s.config.groups));
    expect(JSON.stringify(definition)).not.toContain(s.config.groups[0].primary.instanceId);
  });
});

describe.each(SECURITY_CASES)("the store's resource policy: $name", ({ name }) => {
  let s: Synthesized;
  beforeAll(() => {
    s = get(name);
  });

  it('denies every item write to everyone but the roles granted a write and the operator role; reads are not denied', () => {
    const [table] = Object.values(s.template.findResources('AWS::DynamoDB::Table'));
    const statements = s.resolve(table.Properties.ResourcePolicy.PolicyDocument.Statement) as Json[];
    expect(statements).toHaveLength(1);
    const [deny] = statements;
    expect(deny).toMatchObject({ Effect: 'Deny', Principal: { AWS: '*' }, Resource: '*' });
    expect([...deny.Action].sort()).toEqual([...ITEM_WRITE_ACTIONS].sort());
    expect(Object.keys(deny.Condition)).toEqual(['ArnNotEquals']);
    const exempt = list<string>(deny.Condition.ArnNotEquals['aws:PrincipalArn']);

    // Exactly the roles that hold a write on the table, plus the operator role: no more, no fewer.
    const tableArn = s.resolve({ 'Fn::GetAtt': [Object.keys(s.template.findResources('AWS::DynamoDB::Table'))[0], 'Arn'] });
    const writers = grantsIn(s)
      .filter((g) => g.effect === 'Allow' && g.resources.includes(tableArn) && g.actions.some((a) => ITEM_WRITE_ACTIONS.some((w) => covers(a, w))))
      .map((g) => g.grantee);
    const roleArn = (owner: string) => s.resolve({ 'Fn::GetAtt': [[...s.roleOwners].find(([, o]) => o === owner)![0], 'Arn'] });
    expect([...exempt].sort()).toEqual([...new Set([...writers, 'operator'])].map(roleArn).sort());
    const owners = exempt.map((arn) => [...s.roleOwners].find(([id]) => roleArn(s.roleOwners.get(id)!) === arn)?.[1]).sort();
    expect(owners).toEqual(['acquire-lock', 'operator', 'probe', 'readiness', 'record-outcome']);
  });
});

describe.each(SECURITY_CASES)("failoverctl's operator policies: $name", ({ name }) => {
  let s: Synthesized;
  let policies: Record<string, Json>;
  beforeAll(() => {
    s = get(name);
    const access = s.stack.controller.operatorAccess;
    const idOf = (c: { node: { defaultChild?: unknown } }) => s.stack.getLogicalId(c.node.defaultChild as CfnElement);
    policies = {
      readOnly: s.resources[idOf(access.readOnlyPolicy)],
      operate: s.resources[idOf(access.operatePolicy)],
    };
  });
  const statementsOf = (policy: Json) => s.resolve(policy.Properties.PolicyDocument.Statement) as Json[];
  const actionsOf = (policy: Json) => [...new Set(statementsOf(policy).flatMap((st) => list<string>(st.Action)))].sort();
  const READ_ONLY = [
    'autoscaling:DescribeAutoScalingInstances',
    'cloudformation:DescribeStacks',
    'cloudwatch:DescribeAlarms',
    'cloudwatch:GetMetricStatistics',
    'dynamodb:GetItem',
    'dynamodb:Query',
    'ec2:DescribeInstances',
    'ec2:DescribeSecurityGroups',
    'rds:DescribeDBInstances',
    'route53:GetHostedZone',
    'route53:ListResourceRecordSets',
    'states:DescribeExecution',
    'states:GetExecutionHistory',
  ];

  it('outputs both policies and the operator role', () => {
    const access = s.stack.controller.operatorAccess;
    const idOf = (c: { node: { defaultChild?: unknown } }) => s.stack.getLogicalId(c.node.defaultChild as CfnElement);
    s.template.hasOutput('ReadOnlyPolicyArn', { Value: { Ref: idOf(access.readOnlyPolicy) } });
    s.template.hasOutput('OperatePolicyArn', { Value: { Ref: idOf(access.operatePolicy) } });
    s.template.hasOutput('OperatorRoleArn', { Value: { 'Fn::GetAtt': [idOf(access.operatorRole), 'Arn'] } });
  });

  it("read-only: what status, history and check call, and nothing that changes anything", () => {
    expect(actionsOf(policies.readOnly)).toEqual(READ_ONLY);
    const machineName = Object.keys(s.template.findResources('AWS::StepFunctions::StateMachine'))[0];
    const byAction = (action: string) => statementsOf(policies.readOnly).filter((st) => list<string>(st.Action).includes(action)).flatMap((st) => list<string>(st.Resource));
    expect(byAction('states:DescribeExecution')).toEqual([`arn:aws:states:${REGION}:${ACCOUNT}:execution:${machineName}.Name:*`]);
    expect(byAction('cloudformation:DescribeStacks')).toEqual([`arn:aws:cloudformation:${REGION}:${ACCOUNT}:stack/Test/*`]);
    const tableArn = s.resolve({ 'Fn::GetAtt': [Object.keys(s.template.findResources('AWS::DynamoDB::Table'))[0], 'Arn'] });
    expect(byAction('dynamodb:Query')).toEqual([tableArn, `${tableArn}/index/*`]);
  });

  it('operate: read-only plus starting executions of this state machine, reading its definition, and the item writes of pause, resume, rearm and unlock', () => {
    expect(actionsOf(policies.operate)).toEqual([...READ_ONLY, 'dynamodb:DeleteItem', 'dynamodb:PutItem', 'states:DescribeStateMachine', 'states:StartExecution'].sort());
    const stateMachineArn = s.resolve({ Ref: Object.keys(s.template.findResources('AWS::StepFunctions::StateMachine'))[0] });
    const tableArn = s.resolve({ 'Fn::GetAtt': [Object.keys(s.template.findResources('AWS::DynamoDB::Table'))[0], 'Arn'] });
    const resourcesOf = (action: string) => statementsOf(policies.operate).filter((st) => list<string>(st.Action).includes(action)).flatMap((st) => list<string>(st.Resource));
    expect(resourcesOf('states:StartExecution')).toEqual([stateMachineArn]);
    expect(resourcesOf('dynamodb:PutItem')).toEqual([tableArn]);
    expect(resourcesOf('dynamodb:DeleteItem')).toEqual([tableArn]);
    // Attached to the operator role, which anyone in the account may be allowed to assume.
    expect(s.resolve(policies.operate.Properties.Roles)).toEqual([[...s.roleOwners].find(([, o]) => o === 'operator')![0]]);
    const role = s.resources[[...s.roleOwners].find(([, o]) => o === 'operator')![0]];
    expect(s.resolve(role.Properties.AssumeRolePolicyDocument.Statement)).toEqual([
      { Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` } },
    ]);
    expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    expect(role.Properties.Policies).toBeUndefined();
  });

  it('lets only the operate policy, the probe function and the alarm rules start executions', () => {
    const starters = Object.entries(s.resources)
      .filter(([, r]) => r.Type === 'AWS::IAM::Policy' || r.Type === 'AWS::IAM::ManagedPolicy')
      .filter(([, r]) => (s.resolve(r.Properties.PolicyDocument.Statement) as Json[]).some((st) => st.Effect === 'Allow' && list<string>(st.Action).some((a) => covers(a, 'states:StartExecution'))))
      .map(([id, r]) => (r.Type === 'AWS::IAM::ManagedPolicy' ? 'operate policy' : list<Json>(r.Properties.Roles).map((ref) => s.roleOwners.get(ref.Ref) ?? ref.Ref).join()));
    const alarmRules = s.config.groups.filter((g) => g.alarms.length > 0).length;
    expect(starters.filter((x) => /EventsRole/.test(x))).toHaveLength(alarmRules);
    expect(starters.filter((x) => !/EventsRole/.test(x)).sort()).toEqual(['operate policy', 'probe']);
  });
});

describe.each(SECURITY_CASES)('scheduled and triggered invocations: $name', ({ name }) => {
  let s: Synthesized;
  let queueId: string;
  let queueArn: string;
  beforeAll(() => {
    s = get(name);
    queueId = s.stack.getLogicalId(s.stack.controller.deadLetterQueue.node.defaultChild as CfnElement);
    queueArn = s.resolve({ 'Fn::GetAtt': [queueId, 'Arn'] });
  });
  const functionId = (description: RegExp) => Object.entries(s.template.findResources('AWS::Lambda::Function')).find(([, f]) => description.test(f.Properties.Description))![0];

  it('neither retries nor keeps an asynchronous invocation of the probe and readiness functions longer than detection needs, and records what it drops', () => {
    const configs = Object.values(s.template.findResources('AWS::Lambda::EventInvokeConfig')).map((c) => s.resolve(c.Properties));
    const of = (id: string) => configs.filter((c) => c.FunctionName === id);
    expect(of(functionId(/probes the primaries/))).toEqual([
      { FunctionName: functionId(/probes the primaries/), Qualifier: '$LATEST', MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 60, DestinationConfig: { OnFailure: { Destination: queueArn } } },
    ]);
    expect(of(functionId(/readiness/))).toEqual([
      { FunctionName: functionId(/readiness/), Qualifier: '$LATEST', MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 900, DestinationConfig: { OnFailure: { Destination: queueArn } } },
    ]);
    expect(configs).toHaveLength(2);
  });

  it('gives every rule target the dead-letter queue, and an alarm trigger five minutes to start its failover', () => {
    const targets = Object.values(s.template.findResources('AWS::Events::Rule')).flatMap((r) => r.Properties.Targets.map((t: Json) => ({ rule: r, target: s.resolve(t) })));
    expect(targets.length).toBe(2 + s.config.groups.filter((g) => g.alarms.length > 0).length);
    for (const { rule, target } of targets) {
      expect(target.DeadLetterConfig, target.Id).toEqual({ Arn: queueArn });
      expect(target.RetryPolicy, target.Id).toEqual(rule.Properties.EventPattern ? { MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 300 } : { MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: expect.any(Number) });
    }
  });

  it('keeps the dead-letter queue encrypted and TLS-only, writable by the stack\'s rules only', () => {
    expect(s.resources[queueId].Properties).toMatchObject({ SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 24 * 3600 });
    const policies = Object.values(s.template.findResources('AWS::SQS::QueuePolicy')).filter((p) => p.Properties.Queues.some((q: Json) => q.Ref === queueId));
    expect(policies).toHaveLength(1);
    const [policy] = policies;
    const statements = s.resolve(policy.Properties.PolicyDocument.Statement) as Json[];
    expect(statements[0]).toMatchObject({ Effect: 'Deny', Principal: { AWS: '*' }, Action: 'sqs:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } });
    const rules = Object.entries(s.template.findResources('AWS::Events::Rule'));
    const senders = statements.slice(1);
    for (const st of senders) expect(st).toMatchObject({ Effect: 'Allow', Principal: { Service: 'events.amazonaws.com' }, Action: 'sqs:SendMessage', Resource: queueArn });
    // The schedules by ARN, one statement each; the alarm rules (as many as groups with alarms) by one
    // statement on their shared name prefix: an SQS policy holds at most 20 statements.
    const schedules = rules.filter(([, r]) => !r.Properties.EventPattern).map(([id]) => s.resolve({ 'Fn::GetAtt': [id, 'Arn'] })).sort();
    expect(senders.filter((st) => st.Condition.ArnEquals).map((st) => st.Condition.ArnEquals['aws:SourceArn']).sort()).toEqual(schedules);
    const byPrefix = senders.filter((st) => !st.Condition.ArnEquals);
    expect(byPrefix).toHaveLength(1);
    expect(byPrefix[0].Condition.StringEquals).toEqual({ 'aws:SourceAccount': ACCOUNT });
    const pattern = byPrefix[0].Condition.ArnLike['aws:SourceArn'] as string;
    expect(pattern).toMatch(new RegExp(`^arn:aws:events:${REGION}:${ACCOUNT}:rule/fc-[0-9a-f]{10}-\\*$`));
    const alarmRuleNames = rules.filter(([, r]) => r.Properties.EventPattern).map(([, r]) => r.Properties.Name as string);
    expect(alarmRuleNames).toHaveLength(s.config.groups.filter((g) => g.alarms.length > 0).length);
    for (const name of alarmRuleNames) expect(`arn:aws:events:${REGION}:${ACCOUNT}:rule/${name}`.startsWith(pattern.slice(0, -1)), name).toBe(true);
    expect(senders).toHaveLength(schedules.length + 1);
  });

  it('reserves three concurrent executions for the probe function (two scheduled invocations and a queued round), and none for the others', () => {
    const reserved = Object.entries(s.template.findResources('AWS::Lambda::Function')).filter(([, f]) => f.Properties.ReservedConcurrentExecutions !== undefined);
    expect(reserved.map(([id, f]) => [id, f.Properties.ReservedConcurrentExecutions])).toEqual([[functionId(/probes the primaries/), 3]]);
    // A scheduled invocation that runs the next minute's rounds itself: 122 s + at most 30 s of probes + 10 s,
    // under three minutes; one starts each minute, so at most three of a shard at once.
    expect(s.resources[functionId(/probes the primaries/)].Properties.Timeout).toBeLessThan(180);
  });

  it('attaches no managed policy to any role (AWSLambdaVPCAccessExecutionRole included)', () => {
    for (const [id, role] of Object.entries(s.template.findResources('AWS::IAM::Role'))) {
      expect(list<Json>(role.Properties.ManagedPolicyArns), s.roleOwners.get(id) ?? id).toEqual([]);
    }
  });
});

describe('probes in a VPC: the interfaces Lambda manages, with a scoped inline policy', () => {
  let s: Synthesized;
  beforeAll(() => {
    s = get(HARDENED);
  });

  it('lets the probe and confirmation functions create interfaces only in the configured subnets with the configured security groups', () => {
    const eni = grantsIn(s).filter((g) => g.actions.some((a) => /NetworkInterface|PrivateIpAddresses|DescribeSubnets/.test(a)) && !g.actions.includes('ec2:ModifyNetworkInterfaceAttribute'));
    const ec2 = (resource: string) => `arn:aws:ec2:${REGION}:${ACCOUNT}:${resource}`;
    const want = [
      { actions: ['ec2:CreateNetworkInterface'], resources: [ec2('network-interface/*'), ec2('subnet/subnet-0123456789abcdef0'), ec2('subnet/subnet-0123456789abcdef1'), ec2('security-group/sg-0123456789abcdef0')] },
      { actions: ['ec2:DeleteNetworkInterface', 'ec2:AssignPrivateIpAddresses', 'ec2:UnassignPrivateIpAddresses'], resources: [ec2('network-interface/*')] },
      { actions: ['ec2:DescribeNetworkInterfaces', 'ec2:DescribeSubnets'], resources: ['*'] },
    ];
    for (const who of ['probe', 'confirm-outage']) {
      expect(eni.filter((g) => g.grantee === who).map(({ actions, resources, conditions }) => ({ actions, resources, ...(conditions ? { conditions } : {}) })), who).toEqual(want);
    }
    // Nobody else may create, delete or re-address interfaces (fence-primary only describes them, to isolate).
    const managing = eni.filter((g) => g.actions.some((a) => !/^ec2:Describe/.test(a)));
    expect(new Set(managing.map((g) => g.grantee))).toEqual(new Set(['probe', 'confirm-outage']));
  });
});

describe('the promotion-gate check itself', () => {
  let definition: Json;
  let promoteArn: string;
  beforeAll(() => {
    const s = get('the example config');
    definition = s.definition;
    promoteArn = s.stepArns.get('promote-replica')!;
  });
  const mutated = (change: (d: Json) => void) => {
    const d = structuredClone(definition);
    change(d);
    return promotionGateProblems(d, promoteArn);
  };

  it('finds a Catch that leads to the promotion', () => {
    expect(mutated((d) => (d.States.CheckFence.Catch[0].Next = 'PromoteReplica'))).toContain(
      "PromoteReplica is reachable from Plan without passing 'Fenced?' on $.verify.confirmed",
    );
  });

  it("finds a default of 'Fenced?' that promotes, and a gate on the wrong field", () => {
    expect(mutated((d) => (d.States['Fenced?'].Default = 'CheckPromotion'))).toContain("CheckPromotion is reachable from the 'Fenced?' exit CheckPromotion");
    expect(mutated((d) => (d.States['Fenced?'].Choices[0].Variable = '$.plan.dryRun'))).toEqual([
      "'Fenced?' is not a Choice with one rule `$.verify.confirmed == true`",
    ]);
  });

  it('finds a path that skips the fence', () => {
    expect(mutated((d) => (d.States['Proceed?'].Choices[0].Next = 'PromoteReplica'))).toContain(
      "PromoteReplica is reachable from Plan without passing 'Fenced?' on $.verify.confirmed",
    );
  });
});

describe('detection', () => {
  let s: Synthesized;
  beforeAll(() => {
    s = get('the example config');
  });

  it('invokes the probe function once a minute, not retrying a missed invocation', () => {
    const probeId = s.stack.getLogicalId(s.stack.controller.detection.probeFunction!.node.defaultChild as CfnElement);
    s.template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 minute)',
      State: 'ENABLED',
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [probeId, 'Arn'] }, RetryPolicy: { MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 60 } })],
    });
  });

  it('gives the probe function time to run the next minute\'s rounds itself plus its slowest probe, and what it needs to act', () => {
    const fn = s.resources[s.stack.getLogicalId(s.stack.controller.detection.probeFunction!.node.defaultChild as CfnElement)];
    // Up to the end of the next minute (122 s) + 2 s slowest probe + 10 s margin.
    expect(fn.Properties.Timeout).toBe(134);
    expect(s.resolve(fn.Properties.Environment.Variables)).toEqual({
      TABLE_NAME: expect.any(String),
      STATE_MACHINE_ARN: expect.stringMatching(/^arn:aws:states:us-west-2:111122223333:stateMachine:/),
      TOPIC_ARN: expect.any(String),
      ROUNDS_QUEUE_URLS: expect.any(String),
    });
    expect(fn.Properties.VpcConfig).toBeUndefined();
  });

  it('starts the workflow when one of a group\'s alarms goes to ALARM, with the group and the alarm in the input', () => {
    const rules = Object.values(s.resources).filter((r) => r.Type === 'AWS::Events::Rule' && r.Properties.EventPattern);
    expect(rules).toHaveLength(1);
    const [rule] = rules;
    expect(s.resolve(rule.Properties.EventPattern)).toEqual({
      source: ['aws.cloudwatch'],
      'detail-type': ['CloudWatch Alarm State Change'],
      account: [ACCOUNT],
      region: [REGION],
      resources: [`arn:aws:cloudwatch:${REGION}:${ACCOUNT}:alarm:orders-primary-status-check-failed`],
      detail: { alarmName: ['orders-primary-status-check-failed'], state: { value: ['ALARM'] } },
    });
    const [target] = rule.Properties.Targets;
    expect(s.resolve(target.Arn)).toMatch(/^arn:aws:states:us-west-2:111122223333:stateMachine:/);
    expect(target.InputTransformer.InputPathsMap).toEqual({
      'detail-alarmName': '$.detail.alarmName',
      time: '$.time',
      'detail-state-reason': '$.detail.state.reason',
    });
    // The drill renders this template with a real alarm event (test/drill.test.ts, duplicate-triggers).
    expect(target.InputTransformer.InputTemplate).toContain('"group":"orders"');
    expect(target.InputTransformer.InputTemplate).toContain('"trigger":{"type":"alarm","alarmName":<detail-alarmName>');
  });

  it("matches the group's alarm of this account and region only, not a same-named alarm from elsewhere", () => {
    const [rule] = Object.values(s.resources).filter((r) => r.Type === 'AWS::Events::Rule' && r.Properties.EventPattern);
    const pattern = s.resolve(rule.Properties.EventPattern);
    /** A "CloudWatch Alarm State Change" event as CloudWatch sends it (CloudWatch User Guide, "Alarm events and EventBridge"). */
    const alarmEvent = (account: string, region: string, name = 'orders-primary-status-check-failed') => ({
      source: 'aws.cloudwatch',
      'detail-type': 'CloudWatch Alarm State Change',
      account,
      region,
      resources: [`arn:aws:cloudwatch:${region}:${account}:alarm:${name}`],
      detail: { alarmName: name, state: { value: 'ALARM' } },
    });
    expect(matchesPattern(pattern, alarmEvent(ACCOUNT, REGION))).toBe(true);
    expect(matchesPattern(pattern, alarmEvent('444455556666', REGION)), 'another account').toBe(false);
    expect(matchesPattern(pattern, alarmEvent(ACCOUNT, 'eu-west-1')), 'another region').toBe(false);
    expect(matchesPattern(pattern, alarmEvent(ACCOUNT, REGION, 'other-alarm')), 'another alarm').toBe(false);
    // An event that claims the name but carries another alarm's ARN (the name and the ARN disagree).
    const forged = { ...alarmEvent(ACCOUNT, REGION, 'other-alarm'), detail: { alarmName: 'orders-primary-status-check-failed', state: { value: 'ALARM' } } };
    expect(matchesPattern(pattern, forged), 'name without the ARN').toBe(false);
  });

  it('puts the probe and confirmation functions in the configured VPC when probeVpc is set', () => {
    const raw = structuredClone(exampleRaw);
    raw.probeVpc = { subnetIds: ['subnet-0123456789abcdef0', 'subnet-0123456789abcdef1'], securityGroupIds: ['sg-0123456789abcdef0'] };
    const inVpc = synthesize(parseConfig(raw, 'vpc'));
    const vpcConfig = { SubnetIds: ['subnet-0123456789abcdef0', 'subnet-0123456789abcdef1'], SecurityGroupIds: ['sg-0123456789abcdef0'] };
    const placed = Object.values(inVpc.resources).filter((r) => r.Type === 'AWS::Lambda::Function' && r.Properties.VpcConfig);
    expect(placed.map((r) => r.Properties.Description).sort()).toEqual([
      'failover-controller workflow step: confirm-outage',
      'failover-controller: probes the primaries and starts the workflow when one is down',
    ]);
    for (const fn of placed) expect(fn.Properties.VpcConfig).toEqual(vpcConfig);
  });

  it('has no probe function or schedule when no group has probes', () => {
    const raw = structuredClone(exampleRaw);
    raw.groups[0].probes = [];
    raw.groups[0].alarms = [];
    const quiet = synthesize(parseConfig(raw, 'no probes'));
    expect(quiet.stack.controller.detection.probeFunction).toBeUndefined();
    // Only the readiness schedule remains.
    quiet.template.resourceCountIs('AWS::Events::Rule', 1);
    quiet.template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(15 minutes)' });
    // No rounds queue (the dead-letter queue is the only one) and nothing reading one.
    expect(quiet.stack.controller.detection.roundsQueue).toBeUndefined();
    quiet.template.resourceCountIs('AWS::SQS::Queue', 1);
    quiet.template.resourceCountIs('AWS::SQS::QueuePolicy', 1);
    quiet.template.resourceCountIs('AWS::Lambda::EventSourceMapping', 0);
  });
});

describe.each(SECURITY_CASES)('the probe rounds queue: $name', ({ name }) => {
  let s: Synthesized;
  let roundsId: string;
  let roundsArn: string;
  let deadLetterId: string;
  let deadLetterArn: string;
  let probeId: string;
  const logicalIdOf = (construct: { node: { defaultChild?: unknown } }) => s.stack.getLogicalId(construct.node.defaultChild as CfnElement);
  beforeAll(() => {
    s = get(name);
    const queues = Object.entries(s.template.findResources('AWS::SQS::Queue'));
    expect(queues).toHaveLength(2);
    deadLetterId = logicalIdOf(s.stack.controller.deadLetterQueue);
    // The other queue: the rounds queue, the only one with a dead-letter queue of its own.
    roundsId = queues.map(([id]) => id).find((id) => id !== deadLetterId)!;
    expect(roundsId).toBe(logicalIdOf(s.stack.controller.detection.roundsQueue!));
    roundsArn = s.resolve({ 'Fn::GetAtt': [roundsId, 'Arn'] });
    deadLetterArn = s.resolve({ 'Fn::GetAtt': [deadLetterId, 'Arn'] });
    probeId = logicalIdOf(s.stack.controller.detection.probeFunction!);
  });

  it('is a standard queue encrypted by SQS, whose policy denies every request without TLS and allows nothing', () => {
    const queue = s.resources[roundsId].Properties;
    // A standard queue: FIFO queues have no per-message delay (SQS message timers).
    expect(queue.FifoQueue).toBeUndefined();
    expect(queue.SqsManagedSseEnabled).toBe(true);
    expect(queue.KmsMasterKeyId).toBeUndefined();
    const policies = Object.values(s.template.findResources('AWS::SQS::QueuePolicy')).filter((p) => p.Properties.Queues.some((q: Json) => q.Ref === roundsId));
    expect(policies).toHaveLength(1);
    expect(s.resolve(policies[0].Properties.PolicyDocument.Statement)).toEqual([
      { Effect: 'Deny', Principal: { AWS: '*' }, Action: 'sqs:*', Resource: roundsArn, Condition: { Bool: { 'aws:SecureTransport': 'false' } } },
    ]);
  });

  it("hides a received round for at least the function's timeout, then moves one received twice to the dead-letter queue before it expires", () => {
    const queue = s.resources[roundsId].Properties;
    const fn = s.resources[probeId].Properties;
    // Lambda refuses an event source mapping whose queue's visibility timeout is shorter than the function's timeout.
    expect(queue.VisibilityTimeout).toBeGreaterThanOrEqual(fn.Timeout);
    expect(s.resolve(queue.RedrivePolicy)).toEqual({ deadLetterTargetArn: deadLetterArn, maxReceiveCount: 2 });
    // Kept for a round's delay (a scheduled invocation queues the rounds of its 62 s window), then each
    // receive's visibility timeout: an expired message is deleted, not moved. Short all the same: minutes.
    expect(queue.MessageRetentionPeriod).toBeGreaterThanOrEqual(62 + queue.RedrivePolicy.maxReceiveCount * queue.VisibilityTimeout);
    expect(queue.MessageRetentionPeriod).toBeLessThanOrEqual(15 * 60);
    // The dead-letter queue: standard too, as SQS requires, and keeping a moved message (whose enqueue time stays) longer.
    const deadLetter = s.resources[deadLetterId].Properties;
    expect(deadLetter.FifoQueue).toBeUndefined();
    expect(deadLetter.MessageRetentionPeriod).toBeGreaterThan(queue.MessageRetentionPeriod);
  });

  it('invokes the probe function with each queued round alone, enabled, without partial batch responses, within its reserved concurrency', () => {
    const mappings = Object.values(s.template.findResources('AWS::Lambda::EventSourceMapping'));
    expect(mappings).toHaveLength(1);
    const mapping = mappings[0].Properties;
    expect(mapping.EventSourceArn).toEqual({ 'Fn::GetAtt': [roundsId, 'Arn'] });
    expect(mapping.FunctionName).toEqual({ Ref: probeId });
    expect(mapping.BatchSize).toBe(1);
    expect(mapping.Enabled ?? true).toBe(true);
    expect(mapping.MaximumBatchingWindowInSeconds ?? 0).toBe(0);
    expect(mapping.FunctionResponseTypes).toBeUndefined();
    expect(mapping.FilterCriteria).toBeUndefined();
    // One shard: two round invocations at once (the tail of one and the next), never more than the reservation.
    expect(mapping.ScalingConfig).toEqual({ MaximumConcurrency: 2 });
    expect(mapping.ScalingConfig.MaximumConcurrency).toBeLessThanOrEqual(s.resources[probeId].Properties.ReservedConcurrentExecutions);
  });

  it("gives the probe function the queue's URL", () => {
    // `Ref` of an AWS::SQS::Queue is its URL.
    expect(s.resources[probeId].Properties.Environment.Variables.ROUNDS_QUEUE_URLS).toEqual({ Ref: roundsId });
  });

  it('lets only the probe function use the queue: send, receive, delete; and the probe send nowhere else but the dead-letter queue', () => {
    const sqsGrants = grantsIn(s).filter((g) => g.effect === 'Allow' && g.actions.some((a) => /^sqs:/i.test(a)));
    // Every SQS grant names one of the two queues: no "*", no other queue.
    for (const g of sqsGrants) expect(g.resources.filter((r) => r !== roundsArn && r !== deadLetterArn), `${g.grantee}: ${g.actions.join()}`).toEqual([]);
    const onRounds = sqsGrants.filter((g) => g.resources.includes(roundsArn));
    expect(new Set(onRounds.map((g) => g.grantee))).toEqual(new Set(['probe']));
    expect([...new Set(onRounds.flatMap((g) => g.actions))].sort()).toEqual([
      'sqs:ChangeMessageVisibility',
      'sqs:DeleteMessage',
      'sqs:GetQueueAttributes',
      'sqs:GetQueueUrl',
      'sqs:ReceiveMessage',
      'sqs:SendMessage',
    ]);
    // The probe function sends its rounds, and its dropped asynchronous invocations (on-failure destination), nowhere else.
    const probeSends = sqsGrants.filter((g) => g.grantee === 'probe' && g.actions.some((a) => covers(a, 'sqs:SendMessage')));
    expect(new Set(probeSends.flatMap((g) => g.resources))).toEqual(new Set([roundsArn, deadLetterArn]));
    // Nobody receives or deletes from the dead-letter queue: its alarm counts what is there.
    const consumers = sqsGrants.filter((g) => g.actions.some((a) => covers(a, 'sqs:ReceiveMessage') || covers(a, 'sqs:DeleteMessage')));
    expect(consumers.map((g) => [g.grantee, g.resources])).toEqual([['probe', [roundsArn]]]);
  });
});

describe('network fencing (fence.onUnconfirmed "isolate")', () => {
  let s: Synthesized;
  beforeAll(() => {
    const raw = structuredClone(exampleRaw);
    raw.groups[0].primary.vpcId = 'vpc-0123456789abcdef0';
    raw.groups[0].fence = { ...raw.groups[0].fence, onUnconfirmed: 'isolate' };
    s = synthesize(parseConfig(raw, 'isolate'));
  });

  it("makes a deny-all security group in the primary's VPC, in a stack of the primary's region", () => {
    expect(s.stack.isolationStacks.map((x) => [x.stackName, x.region])).toEqual([['Test-isolation-us-east-1', 'us-east-1']]);
    const template = Template.fromStack(s.stack.isolationStacks[0]);
    // With the database fence group of the source, in the same region here.
    template.resourceCountIs('AWS::EC2::SecurityGroup', 2);
    const sg = Object.values(template.findResources('AWS::EC2::SecurityGroup')).find((r) => r.Properties.GroupName === 'failover-isolation-orders')!;
    expect(sg.Properties.GroupName).toBe('failover-isolation-orders');
    expect(sg.Properties.VpcId).toBe('vpc-0123456789abcdef0');
    expect(sg.Properties.SecurityGroupIngress).toBeUndefined();
    // The one egress rule matches no packet, replacing EC2's default allow-all.
    expect(sg.Properties.SecurityGroupEgress).toEqual([
      { IpProtocol: 'icmp', FromPort: 252, ToPort: 86, CidrIp: '255.255.255.255/32', Description: 'Disallow all traffic' },
    ]);
  });

  it("lets only fence-primary replace security groups: of interfaces in the primary's VPC, and only with the group's tagged isolation group", () => {
    const grants = grantsIn(s).filter((g) => g.actions.some((a) => covers(a, 'ec2:ModifyNetworkInterfaceAttribute')));
    expect(grants.map((g) => g.grantee)).toEqual(['fence-primary', 'fence-primary']);
    const vpc = 'arn:aws:ec2:us-east-1:111122223333:vpc/vpc-0123456789abcdef0';
    expect(grants.map((g) => [g.resources, s.resolve(g.conditions)])).toEqual([
      [['arn:aws:ec2:us-east-1:111122223333:network-interface/*'], { StringEquals: { 'ec2:Vpc': vpc } }],
      [['arn:aws:ec2:us-east-1:111122223333:security-group/*'], { StringEquals: { 'ec2:Vpc': vpc, 'aws:ResourceTag/failover-controller:isolates': 'orders' } }],
    ]);
    // The isolation group carries that tag; the database fence group (not the fence's to use) does not.
    const groups = Object.values(Template.fromStack(s.stack.isolationStacks[0]).findResources('AWS::EC2::SecurityGroup'));
    expect(groups.map((g) => [g.Properties.GroupName, g.Properties.Tags])).toEqual([
      ['failover-isolation-orders', [{ Key: 'failover-controller:isolates', Value: 'orders' }]],
      ['failover-dbfence-orders', undefined],
    ]);
  });

  it("makes only the database fence groups when no group fences by isolation: one per group, in its source's VPC and region", () => {
    const two = get('two groups in different regions and zones');
    expect(two.stack.isolationStacks.map((x) => [x.stackName, x.region])).toEqual([
      ['Test-isolation-eu-central-1', 'eu-central-1'],
      ['Test-isolation-us-east-1', 'us-east-1'],
    ]);
    const groups = two.stack.isolationStacks.flatMap((stack) =>
      Object.values(Template.fromStack(stack).findResources('AWS::EC2::SecurityGroup')).map((r) => [stack.region, r.Properties.GroupName, r.Properties.VpcId, r.Properties.SecurityGroupIngress, r.Properties.SecurityGroupEgress.length]),
    );
    expect(groups).toEqual([
      ['eu-central-1', 'failover-dbfence-billing', 'vpc-0db0000000000000a', undefined, 1],
      ['us-east-1', 'failover-dbfence-orders', 'vpc-0a1b2c3d4e5f60718', undefined, 1],
    ]);
  });
});
