/**
 * The vantage stacks: for each configured vantage (`vantages[]`), a stack in that region with one
 * function (lambdas/probe/confirm-from-vantage.ts) that probes the groups' primaries from there when
 * the confirmation step asks it (lambdas/steps/confirm-outage.ts, lambdas/core/vantage.ts).
 *
 * A CloudFormation stack cannot make resources in another region, nor read another region's outputs,
 * so the function has a fixed name (vantageFunctionName) the controller's stack can name: in the
 * confirmation function's VANTAGES environment, and in its one lambda:InvokeFunction grant.
 */
import { Aws, Duration, Stack, Token, type StackProps } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { STEP_TIMEOUT_SECONDS } from '../../lambdas/core/budgets';
import type { FailoverConfig, VantageConfig } from '../../lambdas/core/config';
import { vantageFunctionName, vantageTargets } from '../../lambdas/core/vantage';
import { controllerFunction } from './controller-function';
import { placeInProbeVpc, stepFunctionBake } from './workflow';

export interface VantageStackProps extends StackProps {
  /** The validated config: its groups (and their probes) are baked into the function. */
  readonly config: FailoverConfig;
  /** Which vantage of `config.vantages` this stack deploys, by index (error messages name it). */
  readonly index: number;
  /**
   * The controller's region: a vantage there would share the probes' fate.
   * @default - not checked (an environment-agnostic stack)
   */
  readonly controllerRegion?: string;
}

export class VantageStack extends Stack {
  public readonly vantage: VantageConfig;
  public readonly function: NodejsFunction;

  constructor(scope: Construct, id: string, props: VantageStackProps) {
    const vantage = props.config.vantages[props.index];
    if (!vantage) throw new Error(`vantages[${props.index}]: no such vantage in the config`);
    if (props.controllerRegion && !Token.isUnresolved(props.controllerRegion) && props.controllerRegion === vantage.region) {
      throw new Error(
        `vantages[${props.index}].region: must not be the controller's region, got ${JSON.stringify(vantage.region)}: a vantage there shares the network of the probes it should second-guess`,
      );
    }
    super(scope, id, {
      description: `failover-controller: the confirmation's vantage in ${vantage.region} (probes the primaries from here before anything is fenced)`,
      ...props,
      env: { ...props.env, region: vantage.region },
    });
    this.vantage = vantage;
    const fn = controllerFunction(this, 'ConfirmVantage', {
      source: 'probe/confirm-from-vantage',
      description: `failover-controller: probes the primaries from ${vantage.region} when the confirmation step asks`,
      timeout: Duration.seconds(STEP_TIMEOUT_SECONDS),
      logRetention: logs.RetentionDays.THREE_MONTHS,
      bake: stepFunctionBake(props.config),
    });
    (fn.node.defaultChild as lambda.CfnFunction).functionName = vantageFunctionName(props.config.stackName);
    // In the vantage's own VPC, if it has one; otherwise outside any VPC (public endpoints only).
    this.function = placeInProbeVpc(fn, { ...props.config, probeVpc: vantage.vpc });
  }
}

/** The environment of the functions that ask the vantages (confirmation, readiness): the vantages, as JSON (none: no variable). */
export function vantageEnvironment(config: FailoverConfig): Record<string, string> {
  return config.vantages.length > 0 ? { VANTAGES: JSON.stringify(vantageTargets(config)) } : {};
}

/**
 * Let `fn` do `action` on the vantage functions and nothing else of them: the confirmation function
 * invokes them (lambda:InvokeFunction), the readiness function looks them up (lambda:GetFunction).
 */
export function grantOnVantages(fn: NodejsFunction, config: FailoverConfig, action: 'lambda:InvokeFunction' | 'lambda:GetFunction'): void {
  if (config.vantages.length === 0) return;
  fn.addToRolePolicy(
    new iam.PolicyStatement({
      actions: [action],
      resources: vantageTargets(config).map((t) => `arn:${Aws.PARTITION}:lambda:${t.region}:${Aws.ACCOUNT_ID}:function:${t.functionName}`),
    }),
  );
}
