/**
 * How every function of the controller is built: Node.js on arm64, bundled with esbuild (no Docker),
 * the AWS SDK bundled in, its own log group, and its own role that may write only to that log group
 * (no AWS-managed policy with `*` resources).
 */
import * as path from 'node:path';
import { Duration } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { LogLevel, NodejsFunction, type BundlingOptions } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';

export const RUNTIME = lambda.Runtime.NODEJS_24_X;

/** The esbuild options of every function (the benchmark builds with the same). */
export const BUNDLING = {
  // Bundle the SDK: the runtime's own may lack newer parameters such as SkipOsShutdown.
  externalModules: [],
  minify: true,
  // Error class names are the names Retry and Catch match on: never mangle them.
  keepNames: true,
  target: 'node24',
  // The SDK's ES module builds tree-shake far better than its CommonJS ones.
  mainFields: ['module', 'main'],
  // Warnings and errors only: no per-bundle size summary in every synth's (and npm test's) output.
  logLevel: LogLevel.WARNING,
} as const satisfies BundlingOptions;

export interface ControllerFunctionProps {
  /** Path below `lambdas/`, without the extension, e.g. `steps/plan`. */
  readonly source: string;
  readonly description: string;
  readonly timeout: Duration;
  readonly environment?: Record<string, string>;
  /** esbuild `define`s baked into the bundle. */
  readonly define?: Record<string, string>;
  readonly logRetention: logs.RetentionDays;
}

export function controllerFunction(scope: Construct, id: string, props: ControllerFunctionProps): NodejsFunction {
  const logGroup = new logs.LogGroup(scope, `${id}Logs`, { retention: props.logRetention });
  const role = new iam.Role(scope, `${id}Role`, {
    assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    description: props.description,
  });
  logGroup.grantWrite(role);
  return new NodejsFunction(scope, id, {
    description: props.description,
    entry: path.join(__dirname, '..', '..', 'lambdas', `${props.source}.ts`),
    handler: 'handler',
    runtime: RUNTIME,
    architecture: lambda.Architecture.ARM_64,
    memorySize: 256,
    timeout: props.timeout,
    environment: props.environment,
    role,
    logGroup,
    bundling: { ...BUNDLING, ...(props.define ? { define: props.define } : {}) },
  });
}
