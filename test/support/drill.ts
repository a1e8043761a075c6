/** What the drill tests share: the example config, and "the scenario passed", with its failures shown. */
import { resolve } from 'node:path';
import { expect } from 'vitest';
import { loadConfigFile, type FailoverConfig } from '../../lambdas/core/config';
import type { DrillReport } from '../../lib/drill/report';

export function exampleConfig(): FailoverConfig {
  return loadConfigFile(resolve(__dirname, '..', '..', 'failover.config.json'));
}

export function expectPassed(r: DrillReport): void {
  expect(r.failures, r.failures.join('\n')).toEqual([]);
  expect(r.passed).toBe(true);
}
