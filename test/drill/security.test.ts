/**
 * What an attacker who can write to the table might forge, run through the real definition and step
 * code against the simulated account and dynalite. Assertions are on the account and the store.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { FailoverConfig } from '../../lambdas/core/config';
import { runScenario } from '../../lib/drill/report';
import { exampleConfig, expectPassed } from '../support/drill';

let config: FailoverConfig;
beforeAll(() => {
  config = exampleConfig();
});

describe('forged store items', () => {
  it('forged-lock: a hand-written ten-year lock does not suppress a forced manual failover; it is taken over and reported', async () => {
    const r = await runScenario(config, 'forged-lock');
    expectPassed(r);
    expect(r.primary.state).toBe('stopped');
    expect(r.replica.promoted).toBe(true);
    expect(r.timeline[0]).toMatchObject({ step: 'lock', result: expect.stringContaining('holder "maintenance-window"') });
    expect(r.notifications.map((n) => n.subject)).toEqual([expect.stringMatching(/^failover orders: SUCCEEDED in /)]);
  });
});

describe('a SKIPPED that leaves an outage unhandled', () => {
  it('alarm-while-paused: SKIPPED, nothing changed, and the topic is told (a skip behind a live lock is not: duplicate-triggers)', async () => {
    const r = await runScenario(config, 'alarm-while-paused');
    expectPassed(r);
    expect(r.executions.map((e) => [e.trigger, e.outcome])).toEqual([['alarm', 'SKIPPED']]);
    expect(r.notifications.map((n) => n.subject)).toEqual(['failover orders: SKIPPED']);
    const dup = await runScenario(config, 'duplicate-triggers');
    expect(dup.notifications.map((n) => n.subject)).toEqual([expect.stringMatching(/^failover orders: SUCCEEDED/)]);
  });
});
