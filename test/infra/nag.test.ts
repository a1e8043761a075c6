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

  it('fails the synth on a changing action with a "*" resource (the check runs)', () => {
    const { violations } = nag(example, (stack) => {
      const notify = stack.controller.workflow.functions.notify;
      notify.addToRolePolicy(new iam.PolicyStatement({ actions: ['ec2:TerminateInstances'], resources: ['*'] }));
    });
    expect(violations).toEqual(['AwsSolutions-IAM5[Resource::*]']);
  });
});
