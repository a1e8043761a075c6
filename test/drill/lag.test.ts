/**
 * Replica lag as RDS reports it: the simulated replica is behind by its replication delay, and the
 * controller sees only AWS/RDS ReplicaLag per engine, a datapoint a minute, arriving late. The report
 * puts the controller's data-loss estimate (from the history item) next to the real loss (from the
 * writes the old database acknowledged and the promoted replica had).
 */
import { describe, expect, it } from 'vitest';
import type { FailoverConfig } from '../../lambdas/core/config';
import { runScenario, type DrillReport } from '../../lib/drill/report';
import { exampleConfig, expectPassed } from '../support/drill';

const config: FailoverConfig = exampleConfig();

/** The estimate is the record's figure, and never smaller than what was really lost. */
function expectHonestEstimate(r: DrillReport): void {
  expect(r.dataLoss.estimatedSeconds).toBe(r.history.find((h) => h.promotion?.confirmed)!.dataLossSeconds);
  expect(r.dataLoss.actualSeconds).not.toBeNull();
  expect(r.dataLoss.estimatedSeconds!).toBeGreaterThanOrEqual(r.dataLoss.actualSeconds!);
}

const nothingChanged = (r: DrillReport) => expect(r.apiCalls.filter((c) => c.service !== 'sns' && !c.dryRun)).toEqual([]);

describe('replica lag as RDS reports it', () => {
  it('pg-source-dies: the growing lag after the outage does not stop an automatic failover; the estimate covers the real loss', async () => {
    const r = await runScenario(config, 'pg-source-dies');
    expectPassed(r);
    expect(r.executions).toEqual([expect.objectContaining({ trigger: 'probe', outcome: 'SUCCEEDED' })]);
    expectHonestEstimate(r);
    expect(r.dataLoss.actualSeconds!).toBeGreaterThan(0);
    expect(r.dataLoss.estimatedSeconds! - r.dataLoss.actualSeconds!).toBeLessThanOrEqual(60);
    expect(r.replicas).toEqual([expect.objectContaining({ id: 'orders-replica', engine: 'postgres', chosen: true })]);
  });

  it('mysql-replication-broken: ReplicaLag -1 aborts before anything is fenced', async () => {
    const r = await runScenario(config, 'mysql-replication-broken');
    expectPassed(r);
    nothingChanged(r);
    expect(r.history[0].summary).toMatch(/^not promoting: replication was not running on orders-replica: ReplicaLag -1/);
    expect(r.dataLoss).toEqual({ estimatedSeconds: null, actualSeconds: null });
  });

  it('replica-fell-behind: aborts naming the climb; forced, the estimate covers the real loss', async () => {
    const aborted = await runScenario(config, 'replica-fell-behind');
    expectPassed(aborted);
    nothingChanged(aborted);
    expect(aborted.history[0].summary).toMatch(/falling behind: lag climbing \d+ s → \d+ s over \d+ min/);

    const forced = await runScenario(config, 'replica-fell-behind', { force: true });
    expectPassed(forced);
    expectHonestEstimate(forced);
    expect(forced.dataLoss.actualSeconds!).toBeGreaterThan(300);
  });

  it('idle-source: a saw-tooth up to ~300 s is no lag; nothing is lost and the estimate says at most its bound', async () => {
    const r = await runScenario(config, 'idle-source');
    expectPassed(r);
    expect(r.dataLoss.actualSeconds).toBe(0);
    expectHonestEstimate(r);
  });

  it('lag-metric-delayed: datapoints 3 minutes late, no false abort', async () => {
    const r = await runScenario(config, 'lag-metric-delayed');
    expectPassed(r);
    expectHonestEstimate(r);
  });

  it('lag-metric-missing: aborts naming the metric; forced, the loss is recorded as unknown', async () => {
    const aborted = await runScenario(config, 'lag-metric-missing');
    expectPassed(aborted);
    expect(aborted.history[0].summary).toContain('no ReplicaLag datapoint for orders-replica');

    const forced = await runScenario(config, 'lag-metric-missing', { force: true });
    expectPassed(forced);
    expect(forced.dataLoss.estimatedSeconds).toBeNull();
    expect(forced.dataLoss.actualSeconds).not.toBeNull();
  });

  it('two-replicas: the one 1 s behind is promoted and DNS points at it; the one 40 s behind is untouched and named', async () => {
    const r = await runScenario(config, 'two-replicas');
    expectPassed(r);
    expect(r.failovers).toBe(1);
    expect(r.replica).toMatchObject({ id: 'orders-replica-east', promoted: true });
    expect(r.replicas.map((x) => [x.id, x.chosen])).toEqual([['orders-replica', false], ['orders-replica-east', true]]);
    expect(r.replicas[0].reason).toBeTruthy();
    expectHonestEstimate(r);
  });
});
