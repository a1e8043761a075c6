/**
 * The vantage stacks: one per configured vantage, in its region, with the vantage function built like
 * every function of the controller; the confirmation function told where they are and allowed to invoke
 * exactly them; cdk-nag clean. Tokens are resolved for a fixed account so the assertions name ARNs.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { App, Stack, type CfnElement } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../lambdas/core/config';
import { checkWithCdkNag } from '../../lib/infra/nag';
import { FailoverControllerStack } from '../../lib/infra/stack';
import { resolveIntrinsics } from '../../lib/infra/template-tokens';

const ACCOUNT = '111122223333';
const example = JSON.parse(readFileSync(resolve(__dirname, '..', '..', 'failover.config.json'), 'utf8'));
const outdirs: string[] = [];
afterAll(() => outdirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function synth(vantages: unknown, region = 'us-west-2') {
  const outdir = mkdtempSync(join(tmpdir(), 'vantage-'));
  outdirs.push(outdir);
  const app = new App({ outdir, context: { 'aws:cdk:bundling-stacks': [] } });
  checkWithCdkNag(app);
  const stack = new FailoverControllerStack(app, 'Test', { config: parseConfig({ ...structuredClone(example), vantages }), env: { account: ACCOUNT, region } });
  let violations: string[] = [];
  try {
    app.synth();
  } catch {
    const report = JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8'));
    violations = report.pluginReports.flatMap((p: { violations: Array<{ ruleName: string; violatingResources?: unknown }> }) => p.violations.map((v) => v.ruleName));
  }
  return { stack, violations };
}

describe('vantage stacks', () => {
  const { stack, violations } = synth([{ region: 'us-east-2' }, { region: 'eu-west-1', vpc: { subnetIds: ['subnet-0123456789abcdef0'], securityGroupIds: ['sg-0123456789abcdef0'] } }]);

  it('cdk-nag finds nothing unacknowledged', () => {
    expect(violations).toEqual([]);
  });

  it('deploys one stack per vantage, in its region, with the vantage function under its fixed name', () => {
    expect(stack.vantageStacks.map((s) => [s.stackName, s.region])).toEqual([['Test-vantage-us-east-2', 'us-east-2'], ['Test-vantage-eu-west-1', 'eu-west-1']]);
    const [east, west] = stack.vantageStacks.map((s) => Object.values(Template.fromStack(s).findResources('AWS::Lambda::Function')));
    expect(east).toHaveLength(1);
    expect(east[0].Properties).toMatchObject({ FunctionName: 'FailoverController-confirm-vantage', Runtime: 'nodejs24.x', Architectures: ['arm64'], Timeout: 30 });
    expect(east[0].Properties.VpcConfig).toBeUndefined();
    expect(west[0].Properties.VpcConfig).toEqual({ SubnetIds: ['subnet-0123456789abcdef0'], SecurityGroupIds: ['sg-0123456789abcdef0'] });
  });

  it('tells the confirmation function where the vantages are, and lets it (and nothing else) invoke exactly them', () => {
    const template = Template.fromStack(stack).toJSON();
    const resources = template.Resources as Record<string, any>;
    const confirm = stack.controller.workflow.functions['confirm-outage'];
    const confirmId = Stack.of(confirm).getLogicalId(confirm.node.defaultChild as CfnElement);
    expect(JSON.parse(resources[confirmId].Properties.Environment.Variables.VANTAGES)).toEqual([
      { region: 'us-east-2', functionName: 'FailoverController-confirm-vantage' },
      { region: 'eu-west-1', functionName: 'FailoverController-confirm-vantage' },
    ]);
    const roleId = Stack.of(confirm).getLogicalId(confirm.role!.node.defaultChild as CfnElement);
    const resolved = resolveIntrinsics(resources, resources, { account: ACCOUNT, region: 'us-west-2', physicalName: (id: string) => id }) as Record<string, any>;
    const invokers = Object.values(resolved)
      .filter((r) => r.Type === 'AWS::IAM::Policy')
      .flatMap((p) => p.Properties.PolicyDocument.Statement.filter((s: any) => [s.Action].flat().includes('lambda:InvokeFunction')).map((s: any) => ({ roles: p.Properties.Roles, resource: s.Resource })))
      // The state machine invokes its own step functions; only the confirmation invokes a vantage.
      .filter((s) => JSON.stringify(s.resource).includes('confirm-vantage'));
    expect(invokers).toEqual([
      {
        roles: [roleId],
        resource: [`arn:aws:lambda:us-east-2:${ACCOUNT}:function:FailoverController-confirm-vantage`, `arn:aws:lambda:eu-west-1:${ACCOUNT}:function:FailoverController-confirm-vantage`],
      },
    ]);
  });

  it('lets the readiness function look the vantages up (GetFunction on exactly them), and nothing else of them', () => {
    const resources = Template.fromStack(stack).toJSON().Resources as Record<string, any>;
    const readiness = stack.controller.readiness.function;
    const id = Stack.of(readiness).getLogicalId(readiness.node.defaultChild as CfnElement);
    expect(JSON.parse(resources[id].Properties.Environment.Variables.VANTAGES).map((v: any) => v.region)).toEqual(['us-east-2', 'eu-west-1']);
    const roleId = Stack.of(readiness).getLogicalId(readiness.role!.node.defaultChild as CfnElement);
    const resolved = resolveIntrinsics(resources, resources, { account: ACCOUNT, region: 'us-west-2', physicalName: (x: string) => x }) as Record<string, any>;
    const lookups = Object.values(resolved)
      .filter((r) => r.Type === 'AWS::IAM::Policy')
      .flatMap((p) => p.Properties.PolicyDocument.Statement.filter((st: any) => JSON.stringify(st.Resource).includes('confirm-vantage')).map((st: any) => ({ roles: p.Properties.Roles, action: st.Action })))
      .filter((st) => st.roles.includes(roleId));
    expect(lookups).toEqual([{ roles: [roleId], action: 'lambda:GetFunction' }]);
  });

  it('without vantages: no vantage stack, no VANTAGES, no invoke grant', () => {
    const plain = synth([]).stack;
    expect(plain.vantageStacks).toEqual([]);
    expect(JSON.stringify(Template.fromStack(plain).toJSON())).not.toContain('VANTAGES');
  });

  it('refuses a vantage in the controller\'s own region, naming the field and the value', () => {
    expect(() => synth([{ region: 'us-west-2' }])).toThrow(/^vantages\[0\]\.region: must not be the controller's region, got "us-west-2"/);
  });
});
