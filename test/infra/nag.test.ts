/**
 * cdk-nag's AwsSolutions pack over the synthesized stack: no unacknowledged finding, and every
 * acknowledgement gives its reason. The same plugin runs in bin/app.ts, so `npm test`'s synth runs it too.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../lambdas/core/config';
import { checkWithCdkNag } from '../../lib/infra/nag';
import { FailoverControllerStack } from '../../lib/infra/stack';
import { STATE_MACHINE_STAR_REASON } from '../../lib/infra/workflow';

const example = JSON.parse(readFileSync(resolve(__dirname, '..', '..', 'failover.config.json'), 'utf8'));

const outdirs: string[] = [];
afterEach(() => {
  for (const dir of outdirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Synthesize with cdk-nag; returns the rule names of the violations (none when the synth passes). */
function nag(raw: unknown, tamper?: (stack: FailoverControllerStack) => void): { violations: string[]; app: App; stack: FailoverControllerStack } {
  const outdir = mkdtempSync(join(tmpdir(), 'nag-'));
  outdirs.push(outdir);
  const app = new App({ outdir, context: { 'aws:cdk:bundling-stacks': [] } });
  checkWithCdkNag(app);
  const stack = new FailoverControllerStack(app, 'Nag', { config: parseConfig(raw), env: { account: '111122223333', region: 'us-west-2' } });
  tamper?.(stack);
  try {
    app.synth();
    return { violations: [], app, stack };
  } catch {
    const report = JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8'));
    const violations = report.pluginReports.flatMap((p: { violations: Array<{ ruleName: string }> }) => p.violations.map((v) => v.ruleName));
    return { violations, app, stack };
  }
}

describe('cdk-nag AwsSolutions', () => {
  it('finds nothing unacknowledged in the example stack', () => {
    expect(nag(example).violations).toEqual([]);
  });

  it('finds nothing unacknowledged with the probes in a VPC, network fencing and two groups', () => {
    const raw = structuredClone(example);
    raw.probeVpc = { subnetIds: ['subnet-0123456789abcdef0'], securityGroupIds: ['sg-0123456789abcdef0'] };
    raw.groups.push({
      ...structuredClone(raw.groups[0]),
      name: 'billing',
      primary: { instanceId: 'i-0fedcba9876543210', region: 'eu-west-1' },
      replica: { dbInstanceIdentifier: 'billing-replica', region: 'eu-central-1', source: 'billing-primary-db', sourceVpcId: 'vpc-0db0000000000000a' },
      dns: { ...raw.groups[0].dns, records: [{ name: 'db.billing.example.com', type: 'CNAME', target: 'replicaEndpoint' }] },
      alarms: [],
    });
    raw.groups[0].primary.vpcId = 'vpc-0123456789abcdef0';
    raw.groups[0].fence = { ...raw.groups[0].fence, onUnconfirmed: 'isolate' };
    expect(nag(raw).violations).toEqual([]);
  });

  it('gives a reason of substance for every acknowledgement', () => {
    const { stack } = nag(example);
    const acknowledged = stack.node
      .findAll()
      .flatMap((c) => c.node.metadata.filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY).map((m) => m.data as Record<string, string>));
    const reasons = acknowledged.flatMap((data) => Object.values(data));
    expect(reasons.length).toBeGreaterThan(0);
    for (const reason of reasons) expect(String(reason).length, String(reason)).toBeGreaterThan(40);
  });

  it('puts the Workflow construct\'s acknowledgements on the exact roles they concern, none on the construct itself', () => {
    const { stack } = nag(example);
    const workflow = stack.controller.workflow;
    const acknowledgedOn = (c: { node: { metadata: Array<{ type: string; data: unknown }> } }) => c.node.metadata.filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY);
    expect(acknowledgedOn(workflow)).toEqual([]);
    const ids = (c: { node: { metadata: Array<{ type: string; data: unknown }> } }) => acknowledgedOn(c).flatMap((m) => Object.keys(m.data as Record<string, string>));
    expect(ids(workflow.functions['flip-dns'].role!)).toEqual(['AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:route53:::change/*]']);
    // The state machine role: its "*" statements and one invocation grant per step function.
    expect(ids(workflow.stateMachine.role)).toHaveLength(1 + Object.keys(workflow.functions).length);
  });

  it('names every action of the state machine role\'s "*" statements in its acknowledgement', () => {
    const { app, stack } = nag(example);
    const template = app.synth().getStackByName(stack.stackName).template;
    const roleId = stack.getLogicalId(stack.controller.workflow.stateMachine.role.node.defaultChild as never);
    const starActions = Object.values<any>(template.Resources)
      .filter((r) => r.Type === 'AWS::IAM::Policy' && r.Properties.Roles.some((ref: { Ref: string }) => ref.Ref === roleId))
      .flatMap((r) => r.Properties.PolicyDocument.Statement)
      .filter((st: { Resource: unknown }) => st.Resource === '*')
      .flatMap((st: { Action: string | string[] }) => [st.Action].flat());
    expect(starActions.length).toBeGreaterThan(0);
    for (const action of starActions) expect(STATE_MACHINE_STAR_REASON, action).toContain(action);
  });

  it('fails the synth on a changing action with a "*" resource (the check runs)', () => {
    const { violations } = nag(example, (stack) => {
      const notify = stack.controller.workflow.functions.notify;
      notify.addToRolePolicy(new iam.PolicyStatement({ actions: ['ec2:TerminateInstances'], resources: ['*'] }));
    });
    expect(violations).toEqual(['AwsSolutions-IAM5[Resource::*]']);
  });
});
