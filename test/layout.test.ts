/**
 * The folders are layers and imports point down only: bin → lib → lambdas, and inside each, the rooms
 * in the order below. A file that imports from a room it may not (a Lambda importing lib/, the CLI
 * importing the drill, the core importing a step) fails here, naming the file and the import.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(__dirname, '..');

/** Each room and the rooms it may import from (besides itself). */
const MAY_IMPORT: Record<string, readonly string[]> = {
  bin: ['lib', 'lib/bench', 'lib/drill', 'lib/cli', 'lib/runner', 'lib/infra', 'lambdas/readiness', 'lambdas/steps', 'lambdas/probe', 'lambdas/runtime', 'lambdas/core'],
  lib: ['lib/infra', 'lambdas/core'],
  'lib/bench': ['lib/drill', 'lib/runner', 'lib/infra', 'lambdas/readiness', 'lambdas/steps', 'lambdas/probe', 'lambdas/runtime', 'lambdas/core'],
  // The drill's own command uses the CLI's argument parsing and output.
  'lib/drill': ['lib/cli', 'lib/runner', 'lib/infra', 'lambdas/readiness', 'lambdas/steps', 'lambdas/probe', 'lambdas/runtime', 'lambdas/core'],
  'lib/cli': ['lib/runner', 'lib/infra', 'lambdas/readiness', 'lambdas/steps', 'lambdas/runtime', 'lambdas/core'],
  'lib/runner': ['lib/infra', 'lambdas/steps', 'lambdas/runtime', 'lambdas/core'],
  'lib/infra': ['lambdas/readiness', 'lambdas/steps', 'lambdas/probe', 'lambdas/runtime', 'lambdas/core'],
  // The readiness evaluation asks the replica gate and the fence's DryRun of the steps themselves.
  'lambdas/readiness': ['lambdas/steps', 'lambdas/probe', 'lambdas/runtime', 'lambdas/core'],
  // The confirm step probes the primary with the probe function's own checks.
  'lambdas/steps': ['lambdas/probe', 'lambdas/runtime', 'lambdas/core'],
  'lambdas/probe': ['lambdas/runtime', 'lambdas/core'],
  'lambdas/runtime': ['lambdas/core'],
  'lambdas/core': [],
};

/** The room of a file: the longest room name that is a folder prefix of its path. */
function roomOf(file: string): string | undefined {
  const dir = dirname(file);
  return Object.keys(MAY_IMPORT)
    .filter((room) => dir === room || dir.startsWith(`${room}/`))
    .sort((a, b) => b.length - a.length)[0];
}

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir)).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(join(ROOT, path)).isDirectory()) return sourceFiles(path);
    return /\.(ts|mts|js)$/.test(name) ? [path] : [];
  });
}

/** Relative imports, requires and dynamic imports of a file, as paths from the root. */
function importsOf(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const specs = [...text.matchAll(/(?:from|require\(|import\()\s*['"](\.{1,2}\/[^'"]+)['"]/g)].map((m) => m[1]);
  return specs.map((spec) => relative(ROOT, resolve(ROOT, dirname(file), spec)));
}

const FILES = ['bin', 'lib', 'lambdas'].flatMap(sourceFiles);

describe('layout', () => {
  it('every source file is in a room of the layout', () => {
    expect(FILES.length).toBeGreaterThan(50);
    expect(FILES.filter((f) => roomOf(f) === undefined)).toEqual([]);
  });

  it('imports point down only', () => {
    const upward = FILES.flatMap((file) => {
      const from = roomOf(file)!;
      return importsOf(file)
        .filter((target) => {
          const to = roomOf(`${target}.ts`) ?? roomOf(`${target}/index.ts`);
          return to !== undefined && to !== from && !MAY_IMPORT[from].includes(to);
        })
        .map((target) => `${file} imports ${target}`);
    });
    expect(upward).toEqual([]);
  });

  it('the check sees an upward import (a Lambda importing lib/, the CLI importing the drill)', () => {
    expect(MAY_IMPORT[roomOf('lambdas/steps/plan.ts')!]).not.toContain('lib/infra');
    expect(MAY_IMPORT[roomOf('lib/cli/local.ts')!]).not.toContain('lib/drill');
    expect(importsOf('lib/infra/workflow.ts')).toContain('lambdas/core/errors');
  });
});
