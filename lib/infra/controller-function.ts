/**
 * How every function of the controller is built: Node.js on arm64, bundled with esbuild (no Docker),
 * the AWS SDK bundled in, its own log group, and its own role that may write only to that log group
 * (no AWS-managed policy with `*` resources).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { Duration, Stage } from 'aws-cdk-lib';
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

const ROOT = path.join(__dirname, '..', '..');
/**
 * Where the functions' sources and dependencies are: the project's lock file in a clone; an installed
 * package ships none, and its package.json marks its root just as well (npm is then assumed).
 */
const PACKAGE_ROOT = {
  projectRoot: ROOT,
  depsLockFilePath: existsSync(path.join(ROOT, 'package-lock.json')) ? path.join(ROOT, 'package-lock.json') : path.join(ROOT, 'package.json'),
};

export interface ControllerFunctionProps {
  /** Path below `lambdas/`, without the extension, e.g. `steps/plan`. */
  readonly source: string;
  readonly description: string;
  readonly timeout: Duration;
  readonly environment?: Record<string, string>;
  /**
   * Values baked into the bundle as globals of these names, of any size: see bakedModule.
   * @default - none
   */
  readonly bake?: Record<string, unknown>;
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
    // The package's own root, whatever the current directory: NodejsFunction otherwise looks for a lock
    // file upwards from process.cwd(), and an operator's break-glass synth runs from anywhere.
    ...PACKAGE_ROOT,
    handler: 'handler',
    runtime: RUNTIME,
    architecture: lambda.Architecture.ARM_64,
    memorySize: 256,
    timeout: props.timeout,
    environment: props.environment,
    role,
    logGroup,
    bundling: {
      ...BUNDLING,
      ...(props.bake ? { inject: [bakedModule(path.join(Stage.of(scope)?.outdir ?? '.', 'baked'), props.bake)] } : {}),
    },
  });
}

/** The key of a placeholder for a shared string: no config key holds a NUL. */
const SHARED = '\u0000shared';
/** Strings at least this long are written once however often the values hold them. */
const SHARED_MIN_CHARS = 256;

/**
 * The long strings the values hold more than once: a private CA's certificates, which every probe of
 * every group it certifies names (`probes[].ca`), would otherwise weigh on every bundle once a probe.
 */
function repeatedStrings(values: unknown): string[] {
  const seen = new Map<string, number>();
  const visit = (v: unknown): void => {
    if (typeof v === 'string') {
      if (v.length >= SHARED_MIN_CHARS) seen.set(v, (seen.get(v) ?? 0) + 1);
    } else if (Array.isArray(v)) v.forEach(visit);
    else if (v !== null && typeof v === 'object') Object.values(v).forEach(visit);
  };
  visit(values);
  return [...seen].filter(([, count]) => count > 1).map(([text]) => text);
}

/**
 * Write a module that exports each value as a constant of its name, for esbuild's `inject`: the bundle's
 * references to a global of that name become that constant. A `define` would carry the value on
 * esbuild's command line, where one argument may not exceed 128 KiB (Linux MAX_ARG_STRLEN: spawn fails
 * with E2BIG; measured with about 80 groups like the example); an inject file has no such limit. The
 * file is named after its content, so a changed value is a changed bundling option (and asset), and
 * concurrent synths of one config write the same file. A long string held more than once is written
 * once, and JSON.parse's reviver puts it back in each place. Returns its path.
 */
export function bakedModule(dir: string, values: Record<string, unknown>): string {
  const shared = repeatedStrings(values);
  const index = new Map(shared.map((text, i) => [text, i]));
  const json = (value: unknown) => JSON.stringify(value, (_key, v: unknown) => (typeof v === 'string' && index.has(v) ? { [SHARED]: index.get(v) } : v));
  const revive = shared.length === 0 ? '' : ', revive';
  const source = [
    ...(shared.length === 0
      ? []
      : [
          `const shared = JSON.parse(${JSON.stringify(JSON.stringify(shared))});\n`,
          `const revive = (_key, v) => (v !== null && typeof v === 'object' && typeof v[${JSON.stringify(SHARED)}] === 'number' ? shared[v[${JSON.stringify(SHARED)}]] : v);\n`,
        ]),
    ...Object.entries(values).map(([name, value]) => `export const ${name} = JSON.parse(${JSON.stringify(json(value))}${revive});\n`),
  ].join('');
  const file = path.join(dir, `${createHash('sha256').update(source).digest('hex').slice(0, 32)}.js`);
  if (!existsSync(file)) {
    mkdirSync(dir, { recursive: true });
    const partial = `${file}.${process.pid}.tmp`;
    writeFileSync(partial, source);
    renameSync(partial, file);
  }
  return file;
}
