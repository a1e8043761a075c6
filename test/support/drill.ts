/** What the drill tests share: the example config, and "the scenario passed", with its failures shown. */
import { resolve } from 'node:path';
import { expect } from 'vitest';
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { EC2Client } from '@aws-sdk/client-ec2';
import { RDSClient } from '@aws-sdk/client-rds';
import { Route53Client } from '@aws-sdk/client-route-53';
import { SNSClient } from '@aws-sdk/client-sns';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { loadConfigFile, type FailoverConfig } from '../../lambdas/core/config';
import type { CliDeps } from '../../lib/cli/deployment';
import type { Drill } from '../../lib/drill/drill';
import { LocalWorkflow } from '../../lib/runner/local-workflow';
import { synthFor } from '../../lib/runner/synth';
import type { DrillReport } from '../../lib/drill/report';

export function exampleConfig(): FailoverConfig {
  return loadConfigFile(resolve(__dirname, '..', '..', 'failover.config.json'));
}

export function expectPassed(r: DrillReport): void {
  expect(r.failures, r.failures.join('\n')).toEqual([]);
  expect(r.passed).toBe(true);
}

/** failoverctl's clients and store are the drill's simulated account and dynalite; its clock is the account's. */
export function accountDeps(d: Drill): Partial<CliDeps> {
  const account = d.account;
  return {
    clients: {
      ec2: (r: string) => account.client(EC2Client, r),
      rds: (r: string) => account.client(RDSClient, r),
      autoscaling: (r: string) => account.client(AutoScalingClient, r),
      cloudwatch: (r: string) => account.client(CloudWatchClient, r),
      route53: () => account.client(Route53Client, 'us-east-1'),
      sns: (r: string | undefined) => account.client(SNSClient, r ?? 'us-west-2'),
      lambda: (r: string) => account.client(LambdaClient, r),
    } as Partial<CliDeps['clients']> as CliDeps['clients'],
    store: () => d.store,
    localClock: () => account.clock,
    now: () => account.clock.now(),
    // What the CLI loads lazily through tsx, imported here through vitest.
    synth: synthFor,
    // No prepared workflows (the operator's cache): every break-glass run here synthesizes, as on a fresh
    // machine; test/cli/break-glass-start.test.ts gives its runs a place of their own.
    workflows: undefined,
    localWorkflow: (synth, stepDeps, clock) => new LocalWorkflow(synth, stepDeps, clock),
  };
}
