/**
 * Synthesize the real stack for a config, in-process, and take from it what the drill runs: the state
 * machine definition (with its CloudFormation tokens resolved to plain ASL), the table's key schema,
 * and which Lambda function serves which step.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, CfnElement, NestedStack, Stack } from 'aws-cdk-lib';
import type { CloudAssembly } from 'aws-cdk-lib/cx-api';
import type { FailoverConfig } from '../../lambdas/core/config';
import { groupDigests } from '../../lambdas/core/deployed-group';
import { FailoverControllerStack } from '../infra/stack';
import { DRILL_ACCOUNT, DRILL_REGION } from './drill-account';
import { PreparedWorkflows, workflowCacheDir, workflowShape } from './prepared-workflow';
import { resolveIntrinsics } from '../infra/template-tokens';
import type { StepName } from '../infra/workflow';

export { DRILL_ACCOUNT, DRILL_REGION };

export interface SynthesizedController {
  /** The state machine's ASL, as deployed, with ARNs resolved for the drill account. */
  definition: Record<string, any>;
  /** Lambda function ARN (as it appears in the definition) → the step it runs. */
  stepsByFunctionArn: Map<string, StepName>;
  /** The DynamoDB table's CreateTable-shaped properties from the template. */
  table: { KeySchema: any[]; AttributeDefinitions: any[]; GlobalSecondaryIndexes?: any[] };
  template: Record<string, any>;
  /** The isolation security groups the companion stacks make: name, VPC and region. */
  isolationGroups: Array<{ name: string; vpcId: string; region: string }>;
  /** dns.mode "health-check": the resources of the nested stacks HealthCheckDns made, by logical id. */
  healthCheckDnsResources: Record<string, any>;
}

export function synthesizeController(config: FailoverConfig): SynthesizedController {
  const outdir = mkdtempSync(join(tmpdir(), 'failover-drill-'));
  try {
    // The drill runs the step code in-process: no need to bundle the Lambda assets.
    const app = new App({ outdir, context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new FailoverControllerStack(app, config.stackName, {
      config,
      env: { account: DRILL_ACCOUNT, region: DRILL_REGION },
    });
    return controllerOf(app.synth(), stack);
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

/**
 * What the drill and break-glass run, taken from a synthesized stack: the CDK app (bin/app.ts) hands its
 * own assembly here too, to leave break-glass a prepared workflow (prepared-workflow.ts).
 */
export function controllerOf(assembly: CloudAssembly, stack: FailoverControllerStack): SynthesizedController {
  const template = assembly.getStackByName(stack.stackName).template as Record<string, any>;
  const resources = template.Resources as Record<string, any>;
  // Physical names in the drill account: drill-<logical id>.
  const resolve = (value: unknown): any => resolveIntrinsics(value, resources, { account: DRILL_ACCOUNT, region: DRILL_REGION, physicalName: (id) => `drill-${id}` });

  const machines = Object.values(resources).filter((r) => r.Type === 'AWS::StepFunctions::StateMachine');
  if (machines.length !== 1) throw new Error(`expected one state machine in the template, found ${machines.length}`);
  const definition = JSON.parse(resolve(machines[0].Properties.DefinitionString));

  const stepsByFunctionArn = new Map<string, StepName>();
  for (const [step, fn] of Object.entries(stack.controller.workflow.functions)) {
    const logicalId = Stack.of(fn).getLogicalId(fn.node.defaultChild as CfnElement);
    stepsByFunctionArn.set(resolve({ 'Fn::GetAtt': [logicalId, 'Arn'] }), step as StepName);
  }

  const tables = Object.values(resources).filter((r) => r.Type === 'AWS::DynamoDB::Table');
  if (tables.length !== 1) throw new Error(`expected one DynamoDB table in the template, found ${tables.length}`);
  const { KeySchema, AttributeDefinitions, GlobalSecondaryIndexes } = tables[0].Properties;
  const isolationGroups = stack.isolationStacks.flatMap((s) =>
    Object.values(assembly.getStackByName(s.stackName).template.Resources as Record<string, any>)
      .filter((r) => r.Type === 'AWS::EC2::SecurityGroup')
      .map((r) => ({ name: r.Properties.GroupName, vpcId: r.Properties.VpcId, region: s.region })),
  );
  const healthCheckDnsResources = Object.assign(
    {},
    ...(stack.controller.healthCheckDns?.node.children ?? [])
      .filter((c): c is NestedStack => NestedStack.isNestedStack(c))
      .map((n) => (JSON.parse(readFileSync(join(assembly.directory, n.templateFile), 'utf8')) as { Resources: Record<string, any> }).Resources),
  ) as Record<string, any>;
  return { definition, stepsByFunctionArn, table: { KeySchema, AttributeDefinitions, GlobalSecondaryIndexes }, template, isolationGroups, healthCheckDnsResources };
}

const synthesized = new Map<string, SynthesizedController>();

/**
 * Synthesizing loads the whole CDK: do it once per workflow shape. The groups' probes (which the drill
 * points at its local servers, on ports that change every run) reach the definition only through the
 * groups' digests in the Plan state, so those are set for this config on a copy of the definition (the
 * steps get the groups themselves from whoever runs them: StepDeps.groups). A test checks that this
 * equals a fresh synth of the same config.
 */
export function synthFor(config: FailoverConfig): SynthesizedController {
  const shape = workflowShape(config);
  const key = JSON.stringify(shape);
  let synth = synthesized.get(key);
  if (!synth) synthesized.set(key, (synth = synthesizeController(shape)));
  const definition = structuredClone(synth.definition);
  definition.States.Plan.Parameters.groupDigests = groupDigests(config.groups);
  return { ...synth, definition };
}

/**
 * `cdk synth`/`cdk deploy` leave break-glass the workflow they synthesized (prepared-workflow.ts), so that
 * `failoverctl failover --local` on this machine starts without loading the CDK. Returns the file, or
 * the reason it could not be written (the synth goes on: break-glass can still synthesize).
 */
export function prepareBreakGlass(
  config: FailoverConfig,
  assembly: CloudAssembly,
  stack: FailoverControllerStack,
  env: Record<string, string | undefined>,
): { file: string } | { error: string } {
  const workflows = new PreparedWorkflows(workflowCacheDir(env));
  try {
    return { file: workflows.save(config, controllerOf(assembly, stack), 'cdk synth') };
  } catch (err) {
    return { error: `could not prepare the break-glass workflow in ${workflows.dir}: ${(err as Error).message}` };
  }
}
