/**
 * Break-glass starts without synthesizing when a workflow was prepared for its config and code: by
 * `cdk synth` (bin/app.ts calls prepareBreakGlass with its own assembly), or by an earlier --local run,
 * a run without --yes included. What is checked is what the operator and the account see: the plan's
 * workflow line, whether the synth ran at all, and the run's outcome in the account and the store.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfigFile, type FailoverConfig } from '../../lambdas/core/config';
import type { CliDeps } from '../../lib/cli/deployment';
import { Drill } from '../../lib/drill/drill';
import { FailoverControllerStack } from '../../lib/infra/stack';
import { PreparedWorkflows } from '../../lib/runner/prepared-workflow';
import { DRILL_ACCOUNT, DRILL_REGION, prepareBreakGlass, synthFor } from '../../lib/runner/synth';
import { accountDeps } from '../support/drill';
import { CONFIG, INSTANCE, REPLICA, runCli } from './support';

let config: FailoverConfig;
beforeAll(() => {
  config = loadConfigFile(CONFIG);
});

let drill: Drill | undefined;
let cacheDir: string;
afterEach(async () => {
  await drill?.close();
  drill = undefined;
  rmSync(cacheDir, { recursive: true, force: true });
});

/** The drill's account, with prepared workflows kept in a directory of the test's own, and the synths counted. */
async function deployment(): Promise<{ drill: Drill; deps: Partial<CliDeps>; synths: () => number }> {
  drill = await Drill.create(config);
  cacheDir = mkdtempSync(join(tmpdir(), 'failover-cache-'));
  let synths = 0;
  const deps: Partial<CliDeps> = {
    ...accountDeps(drill),
    workflows: new PreparedWorkflows(cacheDir),
    synth: (c) => {
      synths += 1;
      return synthFor(c);
    },
  };
  return { drill, deps, synths: () => synths };
}

const argv = (d: Drill, ...more: string[]) => ['failover', 'orders', '--local', '--reason', 'Step Functions unavailable in us-west-2', '--table', d.tableName, '--topic-arn', d.topicArn, ...more];

describe('break-glass start-up: a prepared workflow', () => {
  it('a run without --yes synthesizes and saves the workflow; the run with --yes uses it without synthesizing, and fails over', async () => {
    const { drill: d, deps, synths } = await deployment();
    const review = await runCli(argv(d), { deps });
    expect(review.code).toBe(2);
    expect(review.stderr).toMatch(/\n {2}workflow: {3}synthesized now, in [\d.]+ s: none prepared for this config and this version of the controller in /);
    expect(review.stderr).toContain('saved: the next break-glass run with this config starts without synthesizing');
    expect(synths()).toBe(1);
    expect(readdirSync(cacheDir)).toEqual([expect.stringMatching(/^FailoverController-[0-9a-f]{32}\.workflow\.json$/)]);

    const r = await runCli(argv(d, '--yes'), { deps });
    expect(r.stderr).toMatch(/\n {2}workflow: {3}prepared by failoverctl at 2026-.*, for this config and this version of the controller\n/);
    expect(synths()).toBe(1);
    expect(r.code).toBe(0);
    expect(d.account.instance(INSTANCE)?.state).toBe('stopped');
    expect(d.account.dbInstance(REPLICA)?.replicaOf).toBeUndefined();
    const [item] = await d.store.listHistory({ group: 'orders' });
    expect(item).toMatchObject({ outcome: 'SUCCEEDED', trigger: { local: true } });
  });

  it('what `cdk synth` prepares (the app synthesized with its probes and bundling stages) runs as is', async () => {
    const { drill: d, deps, synths } = await deployment();
    // As bin/app.ts does, with the example config as it is on disk (its probes point at real hosts, not at the drill's servers).
    const app = new App({ outdir: mkdtempSync(join(tmpdir(), 'failover-app-')), context: { 'aws:cdk:bundling-stacks': [] } });
    const onDisk = loadConfigFile(CONFIG);
    const stack = new FailoverControllerStack(app, onDisk.stackName, { config: onDisk, env: { account: DRILL_ACCOUNT, region: DRILL_REGION } });
    expect(prepareBreakGlass(onDisk, app.synth(), stack, { FAILOVER_CACHE_DIR: cacheDir })).toEqual({ file: expect.stringContaining(cacheDir) });
    rmSync(app.outdir, { recursive: true, force: true });

    const r = await runCli(argv(d, '--yes', '--json'), { deps });
    expect(synths()).toBe(0);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ outcome: 'SUCCEEDED', workflow: { source: 'prepared', preparedBy: 'cdk synth' } });
    expect(d.account.instance(INSTANCE)?.state).toBe('stopped');
    expect(d.account.dbInstance(REPLICA)?.replicaOf).toBeUndefined();
  });

  it('a config whose workflow differs (another lag gate) does not use it: it synthesizes its own', async () => {
    const { drill: d, deps, synths } = await deployment();
    await runCli(argv(d, '--dry-run', '--yes'), { deps });
    expect(synths()).toBe(1);
    const changed = JSON.parse(readFileSync(CONFIG, 'utf8'));
    changed.groups[0].replica.maxLagSeconds = 45;
    const path = join(cacheDir, '..', `${basename(cacheDir)}.config.json`);
    writeFileSync(path, JSON.stringify(changed));
    const r = await runCli(argv(d, '--dry-run', '--yes', '--json', '--config', path), { deps });
    rmSync(path);
    expect(synths()).toBe(2);
    expect(JSON.parse(r.stdout)).toMatchObject({ outcome: 'DRY_RUN', workflow: { source: 'synthesized' } });
    expect(readdirSync(cacheDir)).toHaveLength(2);
  });

  it('a damaged prepared file is said so and synthesized over; the run goes on', async () => {
    const { drill: d, deps, synths } = await deployment();
    await runCli(argv(d, '--dry-run', '--yes'), { deps });
    const [file] = readdirSync(cacheDir);
    writeFileSync(join(cacheDir, file), '{"format": 1, "key": "truncat');
    const r = await runCli(argv(d, '--dry-run', '--yes'), { deps });
    expect(r.stderr).toMatch(/workflow: {3}synthesized now, in [\d.]+ s: the prepared workflow could not be used: .*JSON/);
    expect(synths()).toBe(2);
    expect(r.code).toBe(0);
    const [item] = await d.store.listHistory({ group: 'orders' });
    expect(item.outcome).toBe('DRY_RUN');
  });

  it('a place it cannot write to: the run still synthesizes and runs, and says the workflow was not saved', async () => {
    const { drill: d, deps } = await deployment();
    // FAILOVER_CACHE_DIR names a file, not a directory (tests run as root here, so a mode would not stop it).
    writeFileSync(join(cacheDir, 'a-file'), '');
    const r = await runCli(argv(d, '--dry-run', '--yes'), { deps: { ...deps, workflows: new PreparedWorkflows(join(cacheDir, 'a-file', 'cache')) } });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/could not save it for the next run: ENOTDIR/);
    expect(readdirSync(cacheDir)).toEqual(['a-file']);
    const [item] = await d.store.listHistory({ group: 'orders' });
    expect(item.outcome).toBe('DRY_RUN');
  });
});
