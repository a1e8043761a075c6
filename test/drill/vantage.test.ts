/**
 * A second vantage for the confirmation, in the drill: the real workflow, the real confirm step and
 * vantage function, the simulated account's Lambda and network. Assertions are on what the account
 * holds afterwards (the instance, the replica, the records) and on the stored history item.
 */
import { describe, expect, it } from 'vitest';
import type { FailoverConfig } from '../../lambdas/core/config';
import { Drill } from '../../lib/drill/drill';
import { runScenario, type DrillReport } from '../../lib/drill/report';
import { DRILL_REGION } from '../../lib/runner/synth';
import { exampleConfig, expectPassed } from '../support/drill';

const config: FailoverConfig = exampleConfig();
const PRIMARY_REGION = config.groups[0].primary.region;

const dnsUnchanged = (r: DrillReport) => r.dns.every((d) => d.after.join() === d.before.join());
const views = (r: DrillReport) => r.history[0].confirmation?.vantages.map((v) => [v.region, v.source, v.saw]);

describe('a second vantage for the confirmation', () => {
  it('controller-cut-off: the controller loses its network to the primary, the vantage still reaches it: ABORTED, nothing fenced, the record shows the disagreement', async () => {
    const r = await runScenario(config, 'controller-cut-off');

    expectPassed(r);
    expect(r.executions).toEqual([{ name: 'probe-orders-20260101T000030Z', trigger: 'probe', outcome: 'ABORTED', error: null }]);
    expect(r.primary.state).toBe('running');
    expect(r.replica).toMatchObject({ promoted: false, status: 'available' });
    expect(dnsUnchanged(r)).toBe(true);
    expect(r.apiCalls.map((c) => c.operation)).toEqual(['StartExecution', 'Publish']);
    const item = r.history[0];
    expect(item.outcome).toBe('ABORTED');
    expect(item.fence).toBeNull();
    expect(views(r)).toEqual([[DRILL_REGION, 'controller', 'down'], ['us-east-2', 'function', 'up']]);
    expect(item.confirmation?.disagree).toBe(true);
    // Each view says when it was taken: the controller's as the step began, the vantage's after its cold start.
    const [own, vantage] = item.confirmation!.vantages.map((v) => Date.parse(v.at));
    expect(own).toBe(Date.parse(item.steps.find((s) => s.step === 'confirm')!.startedAt));
    expect(vantage).toBeGreaterThan(own);
    expect(vantage).toBeLessThanOrEqual(Date.parse(item.steps.find((s) => s.step === 'confirm')!.endedAt!));
    expect(item.confirmation?.vantages[0].reason).toMatch(/^round failed: 3 of 3 probes failed .*connection refused/);
    expect(item.confirmation?.vantages[1].reason).toBe('round passed: all 3 probes answered');
    expect(item.summary).toMatch(/^not fencing: the vantages disagree/);
  });

  it('the same cut without a vantage: the controller fences a primary that is up (why the vantage is there)', async () => {
    const drill = await Drill.create(config);
    try {
      // Once the controller has seen the primary healthy, as in controller-cut-off.
      drill.scheduleAt(drill.account.clock.now() + 23_000, () => drill.account.network.cut(DRILL_REGION, PRIMARY_REGION));
      const started = await drill.watch(5);
      await drill.run(...started.map((e) => ({ input: e.input, name: e.name })));

      expect(drill.primaryEndpoints.mode).toBe('up');
      expect(drill.account.instance(config.groups[0].primary.instanceId)!.state).toBe('stopped');
      expect(drill.promotedCandidate('orders')).toBeDefined();
    } finally {
      await drill.close();
    }
  });

  it('primary-down-vantage: both vantages see the primary down: the failover proceeds, the record names both views', async () => {
    const r = await runScenario(config, 'primary-down-vantage');

    expectPassed(r);
    expect(r.executions.map((e) => e.outcome)).toEqual(['SUCCEEDED']);
    expect(r.primary.state).toBe('stopped');
    expect(r.replica.promoted).toBe(true);
    expect(dnsUnchanged(r)).toBe(false);
    expect(views(r)).toEqual([[DRILL_REGION, 'controller', 'down'], ['us-east-2', 'function', 'down']]);
    expect(r.history[0].confirmation?.disagree).toBe(false);
  });

  it('vantage-unreachable: the only vantage\'s Lambda API fails every call: no majority, ABORTED, nothing fenced', async () => {
    const r = await runScenario(config, 'vantage-unreachable');

    expectPassed(r);
    expect(r.executions.map((e) => e.outcome)).toEqual(['ABORTED']);
    expect(r.primary.state).toBe('running');
    expect(r.replica.promoted).toBe(false);
    expect(dnsUnchanged(r)).toBe(true);
    expect(views(r)).toEqual([[DRILL_REGION, 'controller', 'down'], ['us-east-2', 'function', 'unreachable']]);
    expect(r.history[0].confirmation?.vantages[1].reason).toMatch(/ServiceException/);
  });

  it('one-of-two-vantages-unreachable: two of three views see the primary down: the failover proceeds', async () => {
    const r = await runScenario(config, 'one-of-two-vantages-unreachable');

    expectPassed(r);
    expect(r.primary.state).toBe('stopped');
    expect(r.replica.promoted).toBe(true);
    expect(views(r)).toEqual([[DRILL_REGION, 'controller', 'down'], ['us-east-2', 'function', 'down'], ['eu-west-1', 'function', 'unreachable']]);
  });
});

describe('readiness with a vantage', () => {
  const withVantage: FailoverConfig = { ...config, vantages: [{ region: 'us-east-2' }] };
  const vantageProblems = async (d: Drill) => (await d.evaluateReadiness()).report.groups[0].problems.filter((p) => p.check === 'vantages');

  it('finds the deployed vantage function, and says so when it is gone or its region\'s Lambda API does not answer', async () => {
    const d = await Drill.create(withVantage);
    try {
      expect(await vantageProblems(d)).toEqual([]);

      d.account.setRegionReachable('us-east-2', false, ['lambda']);
      expect(await vantageProblems(d)).toEqual([
        expect.objectContaining({ resource: 'FailoverController-confirm-vantage (us-east-2)', reason: expect.stringMatching(/could not be looked up \(Lambda GetFunction in us-east-2 failed with TimeoutError.*every automatic failover would end ABORTED/) }),
      ]);
      d.account.setRegionReachable('us-east-2', true, ['lambda']);

      // Someone deleted the vantage stack: the confirmation could not ask it, and readiness says so first.
      d.account.lambda.removeFunction('us-east-2', 'FailoverController-confirm-vantage');
      const { report } = await d.evaluateReadiness();
      expect(report.groups[0].ready).toBe(false);
      expect(report.groups[0].problems.filter((p) => p.check === 'vantages')).toEqual([
        expect.objectContaining({ reason: expect.stringMatching(/^the vantage function is not deployed in us-east-2 \(deploy its stack, npx cdk deploy --all\): with one vantage, every automatic failover would end ABORTED/) }),
      ]);
      // Only lookups: nothing was invoked.
      expect(d.account.lambda.invocations).toEqual([]);
    } finally {
      await d.close();
    }
  });
});
