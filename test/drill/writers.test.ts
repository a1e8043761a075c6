/**
 * Never two writers, judged on data: each scenario runs the real workflow against the simulated account
 * while the group's clients write through its DNS name, then the report says what each database
 * accepted. The invariant checker (run by every scenario) fails a run in which the old database took a
 * write after the promotion began.
 */
import { describe, expect, it } from 'vitest';
import type { FailoverConfig } from '../../lambdas/core/config';
import { runScenario, type DrillReport } from '../../lib/drill/report';
import { exampleConfig, expectPassed } from '../support/drill';

const config: FailoverConfig = exampleConfig();

/** Nothing accepted by the old database once the promotion began; only the promoted one writable. */
function expectOneWriter(r: DrillReport): void {
  expect(r.clientWrites.acceptedByOldAfterPromotionStarted).toBe(0);
  expect(r.databases.filter((d) => d.acceptsWrites).map((d) => d.id)).toEqual([r.replica.id]);
  expect(r.writers.every((w) => w.fenced), JSON.stringify(r.writers)).toBe(true);
}

describe('never two writers', () => {
  it('writer-db-reachable: the database outlives its instance and keeps taking writes until it is fenced; then none', async () => {
    const r = await runScenario(config, 'writer-db-reachable');
    expectPassed(r);
    expectOneWriter(r);
    expect(r.clientWrites.acceptedByOld).toBeGreaterThan(0);
    expect(r.clientWrites.acceptedByNew).toBeGreaterThan(0);
    const rds = r.writers.find((w) => w.kind === 'rds')!;
    expect(rds).toMatchObject({ id: 'orders-primary-db', fenced: true });
    // The fence changed the old database's groups and rebooted it before the promotion.
    const ops = r.apiCalls.map((c) => c.operation);
    expect(ops.indexOf('ModifyDBInstance')).toBeLessThan(ops.indexOf('RebootDBInstance'));
    expect(ops.indexOf('RebootDBInstance')).toBeLessThan(ops.indexOf('PromoteReadReplica'));
  });

  it('pooled-connections: the pools write on through the security-group change, the reboot closes them, none writes after the promotion began', async () => {
    const r = await runScenario(config, 'pooled-connections');
    expectPassed(r);
    expectOneWriter(r);
  });

  it('wrong-region: InvalidInstanceID.NotFound is no fence: FENCE_FAILED for the dry run and the real run, nothing promoted', async () => {
    const r = await runScenario(config, 'wrong-region');
    expectPassed(r);
    expect(r.executions.map((e) => e.outcome)).toEqual(['FENCE_FAILED', 'FENCE_FAILED']);
    expect(r.replica.promoted).toBe(false);
    expect(r.dataLoss).toEqual({ estimatedSeconds: null, actualSeconds: null });
    expect(r.apiCalls.filter((c) => !c.dryRun && c.service !== 'sns').map((c) => c.operation)).not.toContain('PromoteReadReplica');
    // The failed dry run lists what a real run would do only as far as it got: nothing past the fence.
    const dry = r.history.find((h) => h.dryRun)!;
    expect(dry.plannedActions).toEqual(['stop at the fence of the EC2 writers (FENCE_FAILED) before changing anything, as this dry run did']);
  });

  it('primary-restarted: started again after its fence, it is stopped again before anything is promoted', async () => {
    const r = await runScenario(config, 'primary-restarted');
    expectPassed(r);
    expectOneWriter(r);
    expect(r.primary.state).toBe('stopped');
  });

  it('asg-replaces-primary: the group launches no replacement, during or after the failover', async () => {
    const r = await runScenario(config, 'asg-replaces-primary');
    expectPassed(r);
    expectOneWriter(r);
    expect(r.apiCalls.map((c) => c.operation)).toContain('SuspendProcesses');
  });

  it('source-region-down: nothing fenced, nothing promoted, DNS unchanged', async () => {
    const r = await runScenario(config, 'source-region-down');
    expectPassed(r);
    expect(r.executions.map((e) => e.outcome)).toEqual(['FENCE_FAILED']);
    expect(r.replica.promoted).toBe(false);
    expect(r.dns.every((d) => d.after.join() === d.before.join())).toBe(true);
  });

  it('source-region-down-attested: the operator\'s attestation lets it through, and the record says who and why', async () => {
    const r = await runScenario(config, 'source-region-down-attested');
    expectPassed(r);
    expect(r.replica.promoted).toBe(true);
    expect(JSON.stringify(r.history[0])).toContain('ops-oncall@example.com');
    expect(r.clientWrites.acceptedByOldAfterPromotionStarted).toBe(0);
  });

  it('switchover-under-load: writers stopped first, then caught up, then promoted: the real loss is 0', async () => {
    const r = await runScenario(config, 'switchover-under-load');
    expectPassed(r);
    expectOneWriter(r);
    expect(r.dataLoss).toEqual({ estimatedSeconds: 0, actualSeconds: 0 });
    const ops = r.apiCalls.map((c) => c.operation);
    expect(ops.indexOf('StopInstances')).toBeLessThan(ops.indexOf('PromoteReadReplica'));
    expect(ops.indexOf('RebootDBInstance')).toBeLessThan(ops.indexOf('PromoteReadReplica'));
  });
});
