/**
 * The drill scenario `controller-partitioned`, run as `failoverctl drill` runs it: four groups whose
 * probes all fail in the same rounds. Asserted on the simulated account (executions started, messages
 * published) and the probe function's log lines. And `probes-never-passed`: a group whose probes cannot
 * pass against its healthy primary.
 */
import { resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfigFile, type FailoverConfig } from '../../lambdas/core/config';
import { Drill } from '../../lib/drill/drill';
import { runScenario } from '../../lib/drill/report';
import { HOLD_SUBJECT } from '../../lib/drill/scenarios/detection';

let config: FailoverConfig;
beforeAll(() => {
  config = loadConfigFile(resolve(__dirname, '..', '..', 'failover.config.json'));
});

describe('controller-partitioned', () => {
  it('every group failing in the same rounds: no execution, one notification that the controller may be cut off', async () => {
    const r = await runScenario(config, 'controller-partitioned');

    expect(r.executions).toEqual([]);
    expect(r.apiCalls.filter((c) => c.operation === 'StartExecution')).toEqual([]);
    expect(r.notifications.map((n) => n.subject)).toEqual([HOLD_SUBJECT]);
    expect(r.primary.state).toBe('running');
    expect(r.passed, r.failures.join('; ')).toBe(true);
  }, 120_000);

  it('controller-partitioned-alarm: an alarm during the partition is held too: SKIPPED, told; nothing started by the probes', async () => {
    const r = await runScenario(config, 'controller-partitioned-alarm');

    expect(r.apiCalls.filter((c) => c.operation === 'StartExecution')).toEqual([]);
    expect(r.executions.map((e) => [e.trigger, e.outcome])).toEqual([['alarm', 'SKIPPED']]);
    expect(r.history.map((h) => h.summary)).toEqual([expect.stringMatching(/^skipping: automatic failovers held since 2026-01-01T00:00:30.000Z: 3 of 3 groups failed the same round .*; an alarm of orders would be confirmed by its probes from that same network/)]);
    expect(r.notifications.map((n) => n.subject)).toEqual([HOLD_SUBJECT, expect.stringMatching(/^failover orders: SKIPPED/)]);
    expect(r.primary.state).toBe('running');
    expect(r.passed, r.failures.join('; ')).toBe(true);
  }, 120_000);
});

describe('probes-never-passed', () => {
  it('probes that cannot pass against a healthy primary: told once, nothing started; the alarm they would confirm SKIPPED; the primary running, the replica not promoted', async () => {
    const r = await runScenario(config, 'probes-never-passed');

    expect(r.apiCalls.filter((c) => c.operation === 'StartExecution')).toEqual([]);
    expect(r.executions.map((e) => [e.trigger, e.outcome])).toEqual([['alarm', 'SKIPPED']]);
    expect(r.history.map((h) => h.summary)).toEqual([expect.stringMatching(/^skipping: the probes of orders, which confirm its alarms, have never passed/)]);
    expect(r.notifications.map((n) => n.subject)).toEqual(['failover orders: primary down, not failing over', expect.stringMatching(/^failover orders: SKIPPED/)]);
    expect(r.primary.state).toBe('running');
    expect(r.replica.promoted).toBe(false);
    expect(r.passed, r.failures.join('; ')).toBe(true);
  }, 120_000);

  it('the control: once the probes have passed, the same alarm goes on to the confirmation (a healthy primary: a false alarm)', async () => {
    const drill = await Drill.create(config);
    try {
      await drill.watch(1);
      const [run] = await drill.run({ input: drill.alarmExecutionInput('orders', config.groups[0].alarms[0]) });

      expect(run.status).toBe('SUCCEEDED');
      const [item] = await drill.store.listHistory();
      expect([item.trigger.type, item.outcome]).toEqual(['alarm', 'ABORTED']);
      expect(item.summary).toMatch(/^false alarm/);
      expect(drill.account.instance(config.groups[0].primary.instanceId)!.state).toBe('running');
    } finally {
      await drill.close();
    }
  }, 120_000);
});
