/**
 * A config of many groups synthesizes within the limits CloudFormation, Step Functions, IAM, SQS and
 * EventBridge put on what it makes, each read from the synthesized templates and baked values.
 *
 * 280 groups (840 endpoints), every primary in one region and every other one fenced by isolation:
 * enough for every mechanism that a 1,000-group config needs (alarm rules in two nested stacks, the
 * region's 420 security groups in two stacks, IAM statements naming regions instead of resources) at
 * a fraction of its synth time. The 1,000-group synth itself is the bench's `scale` figure
 * (lib/bench/scale.ts, `npm run bench`).
 *
 * The limits, as documented:
 * - CloudFormation: 500 resources per stack; a template body of 1 MB in S3 ("Understand CloudFormation
 *   quotas"), taken here as 1,000,000 bytes (CDK's own check), not 1,048,576.
 * - Step Functions: a definition of 1,048,576 characters; 262,144 bytes for a state's input or output
 *   (lib/infra/step-functions-limits.ts cites them).
 * - IAM: 10,240 characters of inline policy per role, 6,144 per managed policy, 10 managed policies per
 *   role by default, whitespace not counted ("IAM and AWS STS quotas").
 * - SQS: a queue policy of at most 20 statements and 8,192 bytes ("Amazon SQS policy quotas").
 * - EventBridge: an event pattern of at most 2,048 characters; a rule name of at most 64 ("Amazon
 *   EventBridge quotas", PutRule).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { FailoverConfig } from '../../lambdas/core/config';
import { databaseFenceGroupName, isolationGroupName } from '../../lambdas/core/isolation-group';
import { policyChars, rolePolicies, SCALE_ACCOUNT, SCALE_REGION, scaleConfig, scaleFigures, synthesizeScale, type ScaleFigures, type SynthesizedScale } from '../../lib/bench/scale';
import { resolveIntrinsics } from '../../lib/infra/template-tokens';

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

const GROUPS = 340; // 1,020 endpoints: 6 probe shards, so two rounds queues

let config: FailoverConfig;
let synth: SynthesizedScale;
let figures: ScaleFigures;
const resourcesOf = (template: Json) => Object.values(template.Resources ?? {}) as Json[];
const all = () => synth.templates.flatMap((t) => resourcesOf(t.template).map((r) => ({ r, t })));
const resolveIn = (template: Json, value: unknown) => resolveIntrinsics(value, template.Resources, { account: SCALE_ACCOUNT, region: SCALE_REGION });

beforeAll(() => {
  config = scaleConfig(GROUPS, { primaryRegions: ['us-east-1'], isolateEvery: 2 });
  // Throws on anything the synth refuses: more than 500 resources in a stack, a cdk-nag finding, a workflow over Step Functions' limits.
  synth = synthesizeScale(config);
  figures = scaleFigures(config, synth);
}, 300_000);

describe(`a config of ${GROUPS} groups and ${3 * GROUPS} endpoints`, () => {
  it('synthesizes every template under 500 resources and 1 MB, as the CLI writes them', () => {
    expect(figures.endpoints).toBe(3 * GROUPS);
    expect(synth.templates.length).toBeGreaterThan(1);
    for (const t of synth.templates) {
      expect(resourcesOf(t.template).length, t.name).toBeLessThan(500);
      expect(t.bytes, t.name).toBeLessThanOrEqual(1_000_000);
    }
  });

  it("keeps the state machine's definition under 1 MB and every state's payload bound under 256 KiB", () => {
    expect(figures.definitionBytes).toBeLessThan(1_048_576);
    expect(figures.planInputBytes).toBeLessThan(262_144);
    // The bound comes from the groups the step functions carry: every configured group is there.
    expect(Object.keys(synth.baked.FAILOVER_GROUPS).sort()).toEqual(config.groups.map((g) => g.name).sort());
    expect(figures.largestStateBytes).toBeLessThan(262_144);
  });

  it("keeps every role's policies within IAM's quotas", () => {
    const roles = synth.templates.flatMap((t) => rolePolicies(t.template));
    expect(roles.length).toBeGreaterThan(10);
    for (const role of roles) {
      expect(role.inlineChars, role.role).toBeLessThanOrEqual(10_240);
      expect(role.managedChars.length, role.role).toBeLessThanOrEqual(10);
      for (const chars of role.managedChars) expect(chars, role.role).toBeLessThanOrEqual(6_144);
    }
    for (const { r, t } of all().filter(({ r }) => r.Type === 'AWS::IAM::ManagedPolicy')) {
      expect(policyChars(resolveIn(t.template, r.Properties.PolicyDocument)), r.Properties.Description).toBeLessThanOrEqual(6_144);
    }
  });

  it("keeps each queue's policy (the dead-letter queue's, the probe rounds queues') within SQS's 20 statements and 8,192 bytes", () => {
    const policies = all().filter(({ r }) => r.Type === 'AWS::SQS::QueuePolicy');
    const shards = all().filter(({ r }) => r.Type === 'AWS::Events::Rule' && r.Properties.ScheduleExpression === 'rate(1 minute)').length;
    expect(policies).toHaveLength(1 + Math.ceil(shards / 5));
    for (const { r, t } of policies) {
      const document = resolveIn(t.template, r.Properties.PolicyDocument);
      expect(document.Statement.length).toBeLessThanOrEqual(20);
      expect(Buffer.byteLength(JSON.stringify(document), 'utf8')).toBeLessThanOrEqual(8_192);
    }
  });

  it('runs the queued rounds of every shard, two at once a shard at most, one queue for five shards, within the reserved concurrency of three a shard', () => {
    const shards = all().filter(({ r }) => r.Type === 'AWS::Events::Rule' && r.Properties.ScheduleExpression === 'rate(1 minute)').length;
    expect(shards).toBeGreaterThan(5);
    const mappings = all().filter(({ r }) => r.Type === 'AWS::Lambda::EventSourceMapping');
    expect(mappings).toHaveLength(Math.ceil(shards / 5));
    expect(new Set(mappings.map(({ r }) => JSON.stringify(r.Properties.EventSourceArn))).size).toBe(mappings.length);
    expect(mappings.map(({ r }) => r.Properties.ScalingConfig.MaximumConcurrency).reduce((a, b) => a + b, 0)).toBe(2 * shards);
    for (const { r } of mappings) expect(r.Properties.ScalingConfig.MaximumConcurrency).toBeLessThanOrEqual(2 * 5);
    const { r: mapping, t } = mappings[0];
    const probe = t.template.Resources[mapping.Properties.FunctionName.Ref];
    expect(probe.Properties.ReservedConcurrentExecutions).toBe(3 * shards);
    // The function knows every queue, in order.
    const urls = probe.Properties.Environment.Variables.ROUNDS_QUEUE_URLS;
    expect(urls['Fn::Join'][1]).toHaveLength(mappings.length);
  });

  it("makes one alarm rule per group, naming the group's alarms, each within EventBridge's limits, spread over nested stacks", () => {
    const rules = all().filter(({ r }) => r.Type === 'AWS::Events::Rule' && r.Properties.EventPattern);
    expect(rules).toHaveLength(GROUPS);
    expect(new Set(rules.map(({ t }) => t.name)).size).toBeGreaterThan(1);
    const byGroup = new Map<string, string[]>();
    for (const { r, t } of rules) {
      const pattern = resolveIn(t.template, r.Properties.EventPattern);
      expect(JSON.stringify(pattern).length).toBeLessThanOrEqual(2_048);
      expect(r.Properties.Name.length).toBeLessThanOrEqual(64);
      const group = /"group":"([^"]+)"/.exec(r.Properties.Targets[0].InputTransformer.InputTemplate)![1];
      byGroup.set(group, pattern.detail.alarmName);
    }
    expect(Object.fromEntries(byGroup)).toEqual(Object.fromEntries(config.groups.map((g) => [g.name, g.alarms])));
  });

  it("makes every group's fence security groups, in several stacks of the region", () => {
    const groups = all().filter(({ r }) => r.Type === 'AWS::EC2::SecurityGroup');
    expect(new Set(groups.map(({ t }) => t.name))).toEqual(new Set(['FailoverScale-isolation-us-east-1', 'FailoverScale-isolation-us-east-1-2']));
    const names = groups.map(({ r }) => r.Properties.GroupName).sort();
    const expected = [
      ...config.groups.map((g) => databaseFenceGroupName(g.name)),
      ...config.groups.filter((g) => g.fence.onUnconfirmed === 'isolate').map((g) => isolationGroupName(g.name)),
    ].sort();
    expect(names).toEqual(expected);
  });

  it('names the regions of the configured resources where IAM cannot hold their names, and says so', () => {
    const template = synth.templates.find((t) => t.name === 'FailoverScale')!.template;
    const statements = resourcesOf(template)
      .filter((r) => r.Type === 'AWS::IAM::Policy')
      .flatMap((r) => resolveIn(template, r.Properties.PolicyDocument).Statement as Json[]);
    const resourcesFor = (action: string) => [...new Set(statements.filter((s) => [s.Action].flat().includes(action)).flatMap((s) => [s.Resource].flat()))].sort();
    // The old databases are all in us-east-1, the replicas in three regions, the primaries in us-east-1.
    expect(resourcesFor('rds:RebootDBInstance')).toEqual([`arn:aws:rds:us-east-1:${SCALE_ACCOUNT}:db:*`]);
    expect(resourcesFor('rds:PromoteReadReplica')).toEqual(['eu-central-1', 'us-west-1', 'us-west-2'].map((r) => `arn:aws:rds:${r}:${SCALE_ACCOUNT}:db:*`));
    expect(resourcesFor('ec2:StopInstances')).toEqual([`arn:aws:ec2:us-east-1:${SCALE_ACCOUNT}:instance/*`]);
    // Isolation may name only security groups that carry the isolation tag.
    const isolation = statements.filter((s) => s.Action === 'ec2:ModifyNetworkInterfaceAttribute' && String(s.Resource).includes('security-group'));
    expect(isolation).toEqual([expect.objectContaining({ Condition: { Null: { 'aws:ResourceTag/failover-controller:isolates': 'false' } } })]);
    expect(synth.warnings.some((w) => w.includes(`${GROUPS} groups`) && w.includes('instance/*'))).toBe(true);
  });
});
