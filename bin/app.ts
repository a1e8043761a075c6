#!/usr/bin/env node
/**
 * CDK entry: load and validate the config (`-c config=PATH`, default failover.config.json), then build
 * the stack. An invalid config, or one whose workflow would exceed Step Functions' limits, stops the
 * synth with every problem listed. The synthesized workflow is left for break-glass on this machine
 * (lib/runner/prepared-workflow.ts).
 */
import { App } from 'aws-cdk-lib';
import { ConfigError, loadConfigFile } from '../lambdas/core/config';
import { checkWithCdkNag } from '../lib/infra/nag';
import { FailoverControllerStack } from '../lib/infra/stack';
import { WorkflowTooLarge } from '../lib/infra/step-functions-limits';
import { prepareBreakGlass } from '../lib/runner/synth';

const app = new App();
checkWithCdkNag(app);
const configPath = (app.node.tryGetContext('config') as string | undefined) ?? 'failover.config.json';
try {
  const config = loadConfigFile(configPath);
  const stack = new FailoverControllerStack(app, config.stackName, {
    config,
    env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  });
  const prepared = prepareBreakGlass(config, app.synth(), stack, process.env);
  if ('error' in prepared) console.error(`warning: ${prepared.error}`);
} catch (err) {
  if (err instanceof ConfigError || err instanceof WorkflowTooLarge) {
    console.error(err.message);
    process.exit(1);
  }
  throw err;
}
