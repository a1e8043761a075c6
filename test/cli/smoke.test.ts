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
