/**
 * Each Lambda as deployed: built with esbuild exactly as the stack's NodejsFunction builds it, into a
 * temporary directory, then its size and its cold module load time in a fresh Node process.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { probeFunctionBake, probeGroupsOf } from '../infra/detection';
import { readinessFunctionBake } from '../infra/readiness';
import { STEPS } from '../../lambdas/steps';
import type { FailoverConfig } from '../../lambdas/core/config';
import { bakedModule, BUNDLING } from '../infra/controller-function';
import { stepFunctionBake } from '../infra/workflow';
import { median, round } from './stats';
import { lambdaNodePath } from './lambda-node';

const run = promisify(execFile);
const ROOT = resolve(__dirname, '..', '..');

export interface LambdaBundle {
  /** The step name, or `probe`. */
  name: string;
  entry: string;
  bytes: number;
  coldLoadSamplesMs: number[];
  coldLoadMs: number;
  pass: boolean;
}

/** 1.5 MB, read as 1,500,000 bytes (the stricter of MB and MiB). */
export const BUNDLE_TARGET_BYTES = 1_500_000;
export const COLD_LOAD_TARGET_MS = 200;

export interface BuiltBundles {
  dir: string;
  bundles: Array<{ name: string; entry: string; file: string; bytes: number }>;
  dispose(): void;
}

/** Build every Lambda (9 steps + the probe function) into one temporary directory. */
export async function buildBundles(config: FailoverConfig): Promise<BuiltBundles> {
  const dir = mkdtempSync(join(tmpdir(), 'failover-bench-'));
  // Every step function carries the deployed groups, through an inject file (see controllerFunction).
  const inject = [bakedModule(join(dir, 'baked'), stepFunctionBake(config))];
  const lambdas = [
    ...STEPS.map((step) => ({ name: step, entry: join(ROOT, 'lambdas', 'steps', `${step}.ts`), inject })),
    { name: 'probe', entry: join(ROOT, 'lambdas', 'probe', 'run-probes.ts'), inject: [bakedModule(join(dir, 'baked'), probeFunctionBake(probeGroupsOf(config)))] },
    { name: 'readiness', entry: join(ROOT, 'lambdas', 'readiness', 'scheduled.ts'), inject: [bakedModule(join(dir, 'baked'), readinessFunctionBake(config))] },
  ];
  try {
    const bundles = await Promise.all(
      lambdas.map(async ({ name, entry, inject }) => {
        const file = join(dir, name, 'index.js');
        // The stack's BUNDLING (lib/infra/controller-function.ts) as NodejsFunction passes it to esbuild: --bundle
        // --platform=node --target, no --format (so CommonJS), --minify, --keep-names, --main-fields,
        // --inject, and one --external per externalModules entry.
        await build({
          entryPoints: [entry],
          bundle: true,
          platform: 'node',
          target: BUNDLING.target,
          outfile: file,
          minify: BUNDLING.minify,
          keepNames: BUNDLING.keepNames,
          mainFields: [...BUNDLING.mainFields],
          external: [...BUNDLING.externalModules],
          inject,
          logLevel: 'error',
          absWorkingDir: ROOT,
        });
        return { name, entry: entry.slice(ROOT.length + 1), file, bytes: statSync(file).size };
      }),
    );
    return { dir, bundles, dispose: () => rmSync(dir, { recursive: true, force: true }) };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

/**
 * Time `require(bundle)` in a fresh Node process, `samples` times per bundle, one process after another
 * (never two at once: they would share the 2 cores). The environment carries what the handlers read.
 */
export async function measureColdLoads(built: BuiltBundles, samples: number): Promise<LambdaBundle[]> {
  const env = {
    PATH: process.env.PATH ?? '',
    AWS_REGION: 'us-east-1',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    TABLE_NAME: 'failover-controller-bench',
    TOPIC_ARN: 'arn:aws:sns:us-east-1:123456789012:failover-controller-bench',
    STATE_MACHINE_ARN: 'arn:aws:states:us-east-1:123456789012:stateMachine:bench',
  };
  // On the Lambda runtime's Node where it is installed (lambda-node.ts), as the bench's other Lambda measurements.
  const node = lambdaNodePath() ?? process.execPath;
  const script = [
    'const t0 = process.hrtime.bigint();',
    'require(process.argv[1]);',
    'const t1 = process.hrtime.bigint();',
    'process.stdout.write(String(Number(t1 - t0) / 1e6));',
  ].join(' ');
  const results: LambdaBundle[] = [];
  for (const b of built.bundles) {
    const times: number[] = [];
    for (let i = 0; i < samples; i++) {
      const { stdout } = await run(node, ['-e', script, b.file], { env, timeout: 30_000 });
      times.push(round(Number(stdout.trim()), 1));
    }
    const coldLoadMs = round(median(times), 1);
    results.push({
      name: b.name,
      entry: b.entry,
      bytes: b.bytes,
      coldLoadSamplesMs: times,
      coldLoadMs,
      pass: b.bytes <= BUNDLE_TARGET_BYTES && coldLoadMs <= COLD_LOAD_TARGET_MS,
    });
  }
  return results;
}
