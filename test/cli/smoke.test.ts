/**
 * The one test that runs failoverctl as a process, the way an operator does (bin/failoverctl.js →
 * tsx → bin/failoverctl.ts → main). Every other CLI test calls `main` in-process.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { ROOT } from './support';

it('node bin/failoverctl.js --version and --help exit 0 with the version and the commands', () => {
  const run = (arg: string) =>
    spawnSync(process.execPath, [join(ROOT, 'bin', 'failoverctl.js'), arg], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' }, timeout: 30_000 });
  const pkg = require('../../package.json') as { version: string };

  const version = run('--version');
  expect(version.stderr).toBe('');
  expect(version.status).toBe(0);
  expect(version.stdout).toBe(`failoverctl ${pkg.version}\n`);

  const help = run('--help');
  expect(help.status).toBe(0);
  expect(help.stdout).toMatch(/^failoverctl \S+: the operator's CLI of the failover controller\n/);
  expect(help.stdout).toMatch(/^ {2}failover {4}fail a group over now/m);
  expect(help.stdout).toContain('Exit codes:');
});

it('node bin/failoverctl.js drill runs from a directory outside the project (no lock file there), and exits', () => {
  const { mkdtempSync, rmSync } = require('node:fs') as typeof import('node:fs');
  const { tmpdir } = require('node:os') as typeof import('node:os');
  const away = mkdtempSync(join(tmpdir(), 'operator-'));
  try {
    // The spawn's timeout is a guard against a hang (the failure this test is about), not what it checks.
    const run = spawnSync(process.execPath, [join(ROOT, 'bin', 'failoverctl.js'), 'drill', '--scenario', 'ready', '--config', join(ROOT, 'failover.config.json'), '--json'], {
      cwd: away, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' }, timeout: 240_000,
    });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ scenario: 'ready', passed: true, readiness: { groups: [{ group: 'orders', ready: true }] } });
  } finally {
    rmSync(away, { recursive: true, force: true });
  }
});
