/**
 * The deployed groups reach a step function through its bundle: the stack's esbuild options with the
 * inject file bakedModule writes (controllerFunction's `bake`). Built here as NodejsFunction builds it,
 * then the bundle's own handler is called: it plans with the baked groups, and without them it refuses.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { parseConfig } from '../../lambdas/core/config';
import { groupDigest, groupDigests } from '../../lambdas/core/deployed-group';
import type { Plan } from '../../lambdas/core/workflow-state';
import { bakedModule, BUNDLING } from '../../lib/infra/controller-function';
import { stepFunctionBake } from '../../lib/infra/workflow';
import { exampleConfig } from '../support/drill';

const ROOT = resolve(__dirname, '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'failover-baked-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The Plan step's bundle, with `inject` as the stack passes it. */
async function planBundle(name: string, inject: string[]): Promise<{ handler: (event: unknown) => Promise<Plan> }> {
  const outfile = join(dir, name, 'index.js');
  await build({
    entryPoints: [join(ROOT, 'lambdas', 'steps', 'plan.ts')],
    bundle: true,
    platform: 'node',
    target: BUNDLING.target,
    outfile,
    minify: BUNDLING.minify,
    keepNames: BUNDLING.keepNames,
    mainFields: [...BUNDLING.mainFields],
    external: [...BUNDLING.externalModules],
    inject,
    logLevel: 'error',
    absWorkingDir: ROOT,
  });
  return require(outfile);
}

const event = (digests: Record<string, string>) => ({
  input: { group: 'orders', reason: 'drill', trigger: { type: 'manual', by: 'alice@ops-1' } },
  groupDigests: digests,
  execution: { id: 'arn:aws:states:us-west-2:123456789012:execution:StateMachine:manual-orders-1', name: 'manual-orders-1' },
});

describe('the groups baked into a step function', () => {
  it('reach the bundled handler: it plans the execution with them', async () => {
    // Arrange
    const config = exampleConfig();
    const file = bakedModule(join(dir, 'baked'), stepFunctionBake(config));
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);

    // Act
    const { handler } = await planBundle('baked', [file]);
    const plan = await handler(event(groupDigests(config.groups)));

    // Assert
    expect(plan.group).toEqual({ name: 'orders', digest: groupDigest(config.groups[0]) });
    expect(readFileSync(file, 'utf8')).toMatch(/^export const FAILOVER_GROUPS = JSON\.parse\(/);
    vi.restoreAllMocks();
  });

  it('carry a CA certificate that several probes name once, and each probe gets it whole', async () => {
    // Arrange: the example group's probes all over HTTPS, each trusting the same private CA.
    const ca = readFileSync(join(ROOT, 'lib', 'bench', 'tls', 'root-ca.pem'), 'utf8');
    const example = exampleConfig();
    const group = example.groups[0];
    const probes = group.probes.map((p, i) => ({ type: 'http' as const, url: `https://api.orders.example.com/health/${i}`, method: 'GET' as const, expectStatus: [200], timeoutMs: p.timeoutMs, ca }));
    const config = parseConfig({ ...example, groups: [{ ...group, probes }] });
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);

    // Act
    const file = bakedModule(join(dir, 'baked'), stepFunctionBake(config));
    const { handler } = await planBundle('baked-ca', [file]);
    const plan = await handler(event(groupDigests(config.groups)));

    // Assert: planned with a group whose digest, every probe's CA in it, is the config's own.
    expect(probes.length).toBeGreaterThan(1);
    expect(readFileSync(file, 'utf8').split('BEGIN CERTIFICATE')).toHaveLength(2);
    expect(plan.group).toEqual({ name: 'orders', digest: groupDigest(config.groups[0]) });
    vi.restoreAllMocks();
  });

  it('are named after their content: the same config, the same file; another config, another file', () => {
    const config = exampleConfig();
    const changed = { ...config, groups: [{ ...config.groups[0], fence: { ...config.groups[0].fence, timeoutSeconds: 300 } }] };

    const a = bakedModule(join(dir, 'baked'), stepFunctionBake(config));
    const b = bakedModule(join(dir, 'baked'), stepFunctionBake(config));
    const c = bakedModule(join(dir, 'baked'), stepFunctionBake(changed));

    expect(a).toBe(b);
    expect(c).not.toBe(a);
  });

  it('a bundle built without them refuses to run rather than act on anything else', async () => {
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const { handler } = await planBundle('unbaked', []);

    await expect(handler(event({}))).rejects.toThrow('FAILOVER_GROUPS: no deployed groups were baked into this bundle (see lib/infra/workflow.ts)');
    vi.restoreAllMocks();
  });
});
