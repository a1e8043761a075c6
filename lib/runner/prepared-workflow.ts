/**
 * A prepared workflow: what break-glass runs (the state machine definition and which step each Task
 * state runs), saved by `cdk synth`/`cdk deploy` and by any run that had to synthesize, so that the next
 * break-glass run starts at once instead of loading the CDK and synthesizing the stack (seconds on a
 * laptop, more on a loaded one; bench: `breakGlassStart`).
 *
 * A saved workflow is used only for the config and the code it was made from: its file name is a
 * digest of the workflow's shape (the config without probes, which reach the definition only through
 * the groups' digests, set afresh for every run) and of every source file the definition is built from.
 * Change the config's shape, the controller's code or its CDK version, and the file is not found: the
 * run synthesizes, and saves what it made.
 *
 * Where: FAILOVER_CACHE_DIR, else $XDG_CACHE_HOME/failover-controller, else ~/.cache/failover-controller.
 * This module loads no CDK: reading a prepared workflow must stay cheaper than what it saves.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import type { FailoverConfig } from '../../lambdas/core/config';
import { groupDigests } from '../../lambdas/core/deployed-group';
import type { StepName } from '../../lambdas/steps';

/** What the runner needs of a synthesized stack (synth.ts's SynthesizedController has more). */
export interface RunnableWorkflow {
  definition: Record<string, any>;
  stepsByFunctionArn: Map<string, StepName>;
}

/** Who saved a prepared workflow. */
export type PreparedBy = 'cdk synth' | 'failoverctl';

export interface PreparedWorkflow extends RunnableWorkflow {
  file: string;
  preparedAt: string;
  preparedBy: PreparedBy;
}

interface SavedFile {
  format: 1;
  key: string;
  preparedAt: string;
  preparedBy: PreparedBy;
  definition: Record<string, any>;
  steps: Array<[string, StepName]>;
}

const ROOT = resolve(__dirname, '..', '..');
/** The sources a definition is built from: the constructs, and the step code and budgets they read. */
const SOURCE_DIRS = ['lib/infra', 'lib/runner', 'lambdas'];

/** The config as far as the definition depends on it: probes reach it only through the groups' digests. */
export function workflowShape(config: FailoverConfig): FailoverConfig {
  return { ...config, groups: config.groups.map((g) => ({ ...g, probes: [] })) };
}

let codeDigest: string | undefined;

/** A digest of every source file under SOURCE_DIRS and of the CDK's version (a few milliseconds, once). */
function sourceDigest(): string {
  if (codeDigest) return codeDigest;
  const hash = createHash('sha256');
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (/\.(ts|js|json)$/.test(name)) hash.update(`${relative(ROOT, path)}\0`).update(readFileSync(path)).update('\0');
    }
  };
  for (const dir of SOURCE_DIRS) walk(join(ROOT, dir));
  hash.update(`aws-cdk-lib@${(JSON.parse(readFileSync(require.resolve('aws-cdk-lib/package.json'), 'utf8')) as { version: string }).version}`);
  return (codeDigest = hash.digest('hex'));
}

/** The prepared workflow's key for a config: its shape and the code. */
export function workflowKey(config: FailoverConfig): string {
  return createHash('sha256').update(sourceDigest()).update(JSON.stringify(workflowShape(config))).digest('hex').slice(0, 32);
}

/** Where prepared workflows live for this environment. */
export function workflowCacheDir(env: Record<string, string | undefined>): string {
  if (env.FAILOVER_CACHE_DIR) return resolve(env.FAILOVER_CACHE_DIR);
  return join(env.XDG_CACHE_HOME ? resolve(env.XDG_CACHE_HOME) : join(env.HOME ?? homedir(), '.cache'), 'failover-controller');
}

export class PreparedWorkflows {
  constructor(readonly dir: string) {}

  private fileFor(config: FailoverConfig): { file: string; key: string } {
    const key = workflowKey(config);
    return { key, file: join(this.dir, `${config.stackName}-${key}.workflow.json`) };
  }

  /**
   * The workflow prepared for this config and code, with the config's groups' digests in its Plan state;
   * undefined when there is none. A file that cannot be read or is not what this code writes throws.
   */
  load(config: FailoverConfig): PreparedWorkflow | undefined {
    const { file, key } = this.fileFor(config);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    const saved = JSON.parse(text) as SavedFile;
    if (saved.format !== 1 || saved.key !== key || !saved.definition?.States?.Plan || !Array.isArray(saved.steps)) {
      throw new Error(`${file} is not a workflow prepared for this config (format ${String(saved.format)}, key ${String(saved.key)})`);
    }
    const definition = saved.definition;
    definition.States.Plan.Parameters.groupDigests = groupDigests(config.groups);
    return { file, preparedAt: saved.preparedAt, preparedBy: saved.preparedBy, definition, stepsByFunctionArn: new Map(saved.steps) };
  }

  /** Save a workflow synthesized from this config; returns the file. Written whole or not at all. */
  save(config: FailoverConfig, workflow: RunnableWorkflow, by: PreparedBy, now = Date.now()): string {
    const { file, key } = this.fileFor(config);
    const saved: SavedFile = {
      format: 1,
      key,
      preparedAt: new Date(now).toISOString(),
      preparedBy: by,
      definition: workflow.definition,
      steps: [...workflow.stepsByFunctionArn],
    };
    mkdirSync(this.dir, { recursive: true });
    const partial = `${file}.${process.pid}.partial`;
    writeFileSync(partial, `${JSON.stringify(saved)}\n`);
    renameSync(partial, file);
    return file;
  }
}
