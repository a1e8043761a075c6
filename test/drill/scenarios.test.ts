/**
 * Every drill scenario, run as `failoverctl drill` runs it: the synthesized state machine on the local
 * runner, the real step code, the simulated AWS account and dynalite. Assertions are on what the
 * account and the store hold afterwards, not on what the controller says it did.
 */
import { resolve } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfigFile, type FailoverConfig } from '../../lambdas/core/config';
import { Drill } from '../../lib/drill/drill';
import { synthFor } from '../../lib/runner/synth';
import { synthesizeController } from '../../lib/runner/synth';
import { groupDigests } from '../../lambdas/core/deployed-group';
import { checkInvariants } from '../../lib/drill/invariants';
import { runScenario, type DrillReport } from '../../lib/drill/report';
import { SCENARIOS } from '../../lib/drill/scenarios';
import { manual } from '../../lib/drill/scenarios/kit';

let config: FailoverConfig;
beforeAll(() => {
  config = loadConfigFile(resolve(__dirname, '..', '..', 'failover.config.json'));
});

const REPLICA_ENDPOINT = 'orders-replica.c0abcdefghij.us-west-2.rds.amazonaws.com';
const OLD_DB_ENDPOINT = 'orders-primary-db.c0abcdefghij.us-east-1.rds.amazonaws.com';

/** The rule that prevents two writers, read off the report's changing calls and timeline. */
function expectFenceBeforePromote(report: DrillReport): void {
  const promote = report.apiCalls.find((c) => c.operation === 'PromoteReadReplica' && !c.error);
  if (!promote) return;
  const stop = report.apiCalls.find((c) => c.operation === 'StopInstances' && !c.error && !c.dryRun);
  const fence = report.timeline.find((t) => t.step === 'fence');
  expect(stop, 'a promotion without a stop').toBeDefined();
  expect(stop!.at).toBeLessThan(promote.at);
  expect(fence?.endedAt, 'the fence was never confirmed').not.toBeNull();
  expect(fence!.endedAt!).toBeLessThanOrEqual(promote.at);
}

function dnsAfter(report: DrillReport): Record<string, { ttl: number; after: string[] }> {
  return Object.fromEntries(report.dns.map((d) => [`${d.type} ${d.name}`, { ttl: d.ttl, after: d.after }]));
}

describe('drill scenarios', () => {
  it('primary-down: detected by the probes, then fenced, promoted, DNS flipped, one complete history item', async () => {
    const r = await runScenario(config, 'primary-down');

    // The outage starts 23 s in; rounds every 10 s at :30, :40, :50 fail; the third declares it down.
    // Each round runs when SQS hands its message over: 0.1 s (the batch's API call) plus 0.2 s (the
    // mapping's poller, SimSqs.deliveryLatencyMs) after its time.
    expect(r.detectionSeconds).toBe(27.4);
    expect(r.executions).toEqual([{ name: 'probe-orders-20260101T000030Z', trigger: 'probe', outcome: 'SUCCEEDED', error: null }]);
    expect(r.primary).toEqual({ instanceId: 'i-0a1b2c3d4e5f60718', state: 'stopped' });
    expect(r.replica).toMatchObject({ id: 'orders-replica', promoted: true, status: 'available', endpoint: REPLICA_ENDPOINT });
    expect(dnsAfter(r)).toEqual({
      'CNAME db.orders.example.com': { ttl: 30, after: [REPLICA_ENDPOINT] },
      'A api.orders.example.com': { ttl: 30, after: ['198.51.100.20'] },
    });
    // The force-stop is sent again on each poll while the instance is stopping; the old database is
    // fenced (deny-all security group, then a reboot) before the promotion.
    expect(r.apiCalls.map((c) => c.operation)).toEqual([
      'StartExecution', 'StopInstances', 'StopInstances', 'StopInstances', 'ModifyDBInstance', 'RebootDBInstance',
      'PromoteReadReplica', 'ChangeResourceRecordSets', 'Publish',
    ]);
    expectFenceBeforePromote(r);
    expect(r.writers.map((w) => [w.kind, w.id, w.fenced])).toEqual([['ec2', 'i-0a1b2c3d4e5f60718', true], ['rds', 'orders-primary-db', true]]);
    expect(r.clientWrites.acceptedByOldAfterPromotionStarted).toBe(0);

    expect(r.history).toHaveLength(1);
    const item = r.history[0];
    expect(item).toMatchObject({
      group: 'orders',
      outcome: 'SUCCEEDED',
      trigger: { type: 'probe', outageStartedAt: '2026-01-01T00:00:30.000Z', failedRounds: 3 },
      mode: 'failover',
      dryRun: false,
      fence: { instanceId: 'i-0a1b2c3d4e5f60718', finalState: 'stopped', confirmed: true, method: 'force-stop' },
      promotion: { dbInstanceIdentifier: 'orders-replica', endpointAddress: REPLICA_ENDPOINT, confirmed: true },
      error: null,
      notification: { notified: true, error: null },
    });
    expect(item.dnsChanges).toEqual([
      { name: 'db.orders.example.com', type: 'CNAME', ttl: 30, before: [OLD_DB_ENDPOINT], after: [REPLICA_ENDPOINT], applied: true },
      { name: 'api.orders.example.com', type: 'A', ttl: 30, before: ['192.0.2.10'], after: ['198.51.100.20'], applied: true },
    ]);
    expect(item.steps.map((s) => s.step)).toEqual(['lock', 'confirm', 'assess', 'fence', 'fence-db', 'promote', 'dns', 'verify']);
    expect(item.steps[1].result).toMatch(/^outage confirmed: round failed: 3 of 3 probes failed/);
    // The simulated force-stop takes 15 s, the old database's security-group change 20 s and its
    // reboot 60 s, a promotion 180 s, a Route 53 change 45 s; polls every 5 s.
    const durations = Object.fromEntries(item.steps.map((s) => [s.step, s.durationSeconds!]));
    expect(durations.fence).toBeGreaterThanOrEqual(15);
    expect(durations['fence-db']).toBeGreaterThanOrEqual(80);
    expect(durations.promote).toBeGreaterThanOrEqual(180);
    expect(durations.dns).toBeGreaterThanOrEqual(45);
    expect(item.rtoSeconds).toBeGreaterThanOrEqual(320);
    expect(item.rtoSeconds).toBeLessThan(320 + 4 * 5 + 5);
    expect(r.rtoSeconds).toBe(item.rtoSeconds);
    expect(r.notifications).toEqual([{ at: expect.any(Number), subject: expect.stringContaining('orders: SUCCEEDED') }]);
    expect(r.passed, r.failures.join('; ')).toBe(true);
  });

  it('dry-run: nothing changes, the EC2 permission is checked with DryRun, the record lists the plan', async () => {
    const r = await runScenario(config, 'dry-run');

    expect(r.primary.state).toBe('running');
    expect(r.replica.promoted).toBe(false);
    expect(r.dns.every((d) => d.after.join() === d.before.join())).toBe(true);
    expect(r.apiCalls.filter((c) => c.service !== 'sns')).toEqual([
      { service: 'ec2', operation: 'StopInstances', at: expect.any(Number), dryRun: true, error: 'DryRunOperation' },
    ]);
    expect(r.history).toHaveLength(1);
    expect(r.history[0].outcome).toBe('DRY_RUN');
    expect(r.history[0].plannedActions).toEqual([
      'force-stop EC2 instance i-0a1b2c3d4e5f60718 in us-east-1',
      'fence the old database orders-primary-db in us-east-1: only the deny-all security group, then reboot it',
      're-check every fence from AWS',
      'promote RDS read replica orders-replica in us-west-2',
      're-check every fence again before the DNS change',
      `UPSERT CNAME db.orders.example.com (TTL 30) from ${OLD_DB_ENDPOINT} to ${REPLICA_ENDPOINT}`,
      'UPSERT A api.orders.example.com (TTL 30) from 192.0.2.10 to 198.51.100.20',
    ]);
    expect(r.history[0].dnsChanges.every((c) => !c.applied)).toBe(true);
    // A dry run fenced nothing, and the record says so.
    expect(r.history[0].fence?.writers?.map((w) => w.fenced)).toEqual([false, false]);
    expect(r.passed, r.failures.join('; ')).toBe(true);
  });

  it('switchover: waits for lag 0, stops gracefully, no data loss', async () => {
    const r = await runScenario(config, 'switchover');

    expect(r.primary.state).toBe('stopped');
    expect(r.replica.promoted).toBe(true);
    expect(r.history[0]).toMatchObject({ outcome: 'SUCCEEDED', mode: 'switchover', dataLossSeconds: 0, fence: { method: 'stop' } });
    expect(r.history[0].summary).toMatch(/^switched over orders: i-0a1b2c3d4e5f60718 fenced \(stopped\)/);
    const assess = r.timeline.find((t) => t.step === 'assess')!;
    expect(assess.endedAt! - assess.startedAt).toBeGreaterThanOrEqual(60); // the lag took a minute to drain
    expectFenceBeforePromote(r);
    expect(r.passed, r.failures.join('; ')).toBe(true);
  });

  it('throttled: every first call throttled, retried with backoff, still fails over', async () => {
    const r = await runScenario(config, 'throttled');

    const throttled = r.apiCalls.filter((c) => c.error);
    expect(throttled.map((c) => `${c.operation}:${c.error}`)).toEqual([
      'StopInstances:RequestLimitExceeded',
      'ModifyDBInstance:Throttling',
      'RebootDBInstance:Throttling',
      'PromoteReadReplica:Throttling',
      'ChangeResourceRecordSets:Throttling',
      'Publish:ThrottledException',
    ]);
    expect(r.primary.state).toBe('stopped');
    expect(r.replica.promoted).toBe(true);
    expect(r.dns.find((d) => d.type === 'CNAME')!.after).toEqual([REPLICA_ENDPOINT]);
    expect(r.history).toHaveLength(1);
    expect(r.history[0]).toMatchObject({ outcome: 'SUCCEEDED', notification: { notified: true } });
    expectFenceBeforePromote(r);
    expect(r.passed, r.failures.join('; ')).toBe(true);
  });

  it('fence-stuck: FENCE_FAILED, the replica is never promoted, DNS unchanged', async () => {
    const r = await runScenario(config, 'fence-stuck');

    expect(r.primary.state).toBe('stopping');
    expect(r.replica).toMatchObject({ promoted: false, status: 'available' });
    expect(r.apiCalls.some((c) => c.operation === 'PromoteReadReplica')).toBe(false);
    expect(r.apiCalls.some((c) => c.operation === 'ChangeResourceRecordSets')).toBe(false);
    expect(r.dns.every((d) => d.after.join() === d.before.join())).toBe(true);
    expect(r.executions).toEqual([{ name: 'drill-1', trigger: 'manual', outcome: 'FENCE_FAILED', error: 'FenceFailed' }]);
    expect(r.history[0].error).toEqual({ name: 'FenceNotConfirmed', cause: expect.stringMatching(/still stopping .* \(timeout 120 s\); not promoting/) });
    expect(r.history[0].fence).toMatchObject({ confirmed: false, finalState: 'stopping' });
    const fence = r.timeline.find((t) => t.step === 'fence')!;
    expect(fence.endedAt).toBeNull();
    expect(r.notifications[0].subject).toContain('FENCE_FAILED');
    expect(r.passed, r.failures.join('; ')).toBe(true);
  });

  it('fence-stuck-isolate: the stop never completes, isolation holds: SUCCEEDED, recorded as fenced by isolation', async () => {
    const r = await runScenario(config, 'fence-stuck-isolate');

    expect(r.primary.state).toBe('stopping');
    expect(r.replica.promoted).toBe(true);
    // Force-stops re-sent while it stays stopping, then the isolation; the isolation alone keeps the
    // connections it had, so the promotion waits for the old database's reboot, which closes them.
    const ops = r.apiCalls.map((c) => c.operation).filter((o, i, all) => o !== 'StopInstances' || all[i - 1] !== 'StopInstances');
    expect(ops).toEqual(['StopInstances', 'ModifyNetworkInterfaceAttribute', 'ModifyDBInstance', 'RebootDBInstance', 'PromoteReadReplica', 'ChangeResourceRecordSets', 'Publish']);
    expect(r.writers.find((w) => w.kind === 'ec2')).toMatchObject({ state: 'stopping', fenced: true });
    expect(r.history[0]).toMatchObject({
      outcome: 'SUCCEEDED',
      fence: { method: 'isolate', confirmed: true, finalState: 'stopping', isolation: { securityGroupId: 'sg-0iso000000000000', networkInterfaces: ['eni-0c3d4e5f60718'] } },
    });
    expect(r.history[0].summary).toMatch(/i-0a1b2c3d4e5f60718 isolated \(still stopping\)/);
    expect(r.passed, r.failures.join('; ')).toBe(true);
  });

  it('promote-fails: PROMOTION_FAILED, DNS unchanged, the primary stays fenced', async () => {
    const r = await runScenario(config, 'promote-fails');

    expect(r.primary.state).toBe('stopped');
    expect(r.replica).toMatchObject({ promoted: false, status: 'failed' });
    expect(r.apiCalls.some((c) => c.operation === 'ChangeResourceRecordSets')).toBe(false);
    expect(r.dns.every((d) => d.after.join() === d.before.join())).toBe(true);
    expect(r.executions[0]).toMatchObject({ outcome: 'PROMOTION_FAILED', error: 'PromotionFailed' });
    expect(r.history[0].error?.name).toBe('PromotionFailed');
    expect(r.passed, r.failures.join('; ')).toBe(true);
  });

  it('dns-rejected: DNS_FAILED with the Route 53 error recorded and notified', async () => {
    const r = await runScenario(config, 'dns-rejected');

    expect(r.primary.state).toBe('stopped');
    expect(r.replica.promoted).toBe(true);
    expect(r.dns.every((d) => d.after.join() === d.before.join())).toBe(true);
    expect(r.executions[0]).toMatchObject({ outcome: 'DNS_FAILED', error: 'DnsFailed' });
    expect(r.history[0].error).toEqual({ name: 'DnsChangeFailed', cause: expect.stringContaining('InvalidChangeBatch') });
    // The record keeps what the change would have done, marked as not applied.
    expect(r.history[0].dnsChanges.map((c) => [c.before, c.applied])).toEqual([
      [[OLD_DB_ENDPOINT], false],
      [['192.0.2.10'], false],
    ]);
    expect(r.notifications.map((n) => n.subject)).toEqual([expect.stringContaining('DNS_FAILED')]);
    expect(r.passed, r.failures.join('; ')).toBe(true);
  });

  it('replica-lagging: ABORTED without force, nothing changed', async () => {
    const r = await runScenario(config, 'replica-lagging');

    expect(r.primary.state).toBe('running');
    expect(r.replica.promoted).toBe(false);
    expect(r.apiCalls.filter((c) => c.service !== 'sns')).toEqual([]);
    // Nothing was promoted, so no data loss; the reason names the lag RDS reported before the outage.
    expect(r.history[0]).toMatchObject({ outcome: 'ABORTED', dataLossSeconds: null });
    expect(r.history[0].summary).toMatch(/^not promoting: replica lag 120 s of orders-replica in the minute from \d\d:\d\d:00Z exceeds maxLagSeconds 30 s/);
    expect(r.dataLoss).toEqual({ estimatedSeconds: null, actualSeconds: null });
    expect(r.passed, r.failures.join('; ')).toBe(true);
  });

  it('replica-lagging --force: SUCCEEDED with the data loss recorded', async () => {
    const r = await runScenario(config, 'replica-lagging', { force: true });

    expect(r.primary.state).toBe('stopped');
    expect(r.replica.promoted).toBe(true);
    // The estimate bounds the writes the 120 s replica may lack, from before the outage to the fence.
    expect(r.history[0]).toMatchObject({ outcome: 'SUCCEEDED', force: true });
    expect(r.dataLoss.estimatedSeconds).toBe(r.history[0].dataLossSeconds);
    expect(r.dataLoss.estimatedSeconds!).toBeGreaterThanOrEqual(r.dataLoss.actualSeconds!);
    // Replication goes on while the old database is fenced, so the replica catches up part of its 120 s.
    expect(r.dataLoss.actualSeconds!).toBeGreaterThan(0);
    expectFenceBeforePromote(r);
    expect(r.passed, r.failures.join('; ')).toBe(true);
  });

  it('primary-down with the fast detection settings (5 s interval, threshold 2)', async () => {
    const fast = { ...config, groups: config.groups.map((g) => ({ ...g, detection: { ...g.detection, intervalSeconds: 5, failureThreshold: 2 } })) };
    const r = await runScenario(fast, 'primary-down');

    // Down at 23 s; rounds at 25 s and 30 s fail; the second declares it down.
    expect(r.detectionSeconds).toBe(7.4);
    expect(r.history[0].trigger).toMatchObject({ type: 'probe', outageStartedAt: '2026-01-01T00:00:25.000Z', failedRounds: 2 });
    expect(r.passed, r.failures.join('; ')).toBe(true);
  });

  it('flapping: failing and answering in turn never reaches the threshold: no execution', async () => {
    const r = await runScenario(config, 'flapping');

    expect(r.executions).toEqual([]);
    expect(r.apiCalls).toEqual([]);
    expect(r.primary.state).toBe('running');
    expect(r.history).toEqual([]);
    expect(r.passed, r.failures.join('; ')).toBe(true);
  });

  it('slow-endpoint: answers after the timeout count as failures: one failover', async () => {
    const r = await runScenario(config, 'slow-endpoint');

    expect(r.executions.map((e) => [e.trigger, e.outcome])).toEqual([['probe', 'SUCCEEDED']]);
    expect(r.primary.state).toBe('stopped');
    expect(r.replica.promoted).toBe(true);
    // The TCP port still accepts: two of three probes failing is the majority.
    expect(r.history[0].steps[1].result).toMatch(/^outage confirmed: round failed: 2 of 3 probes failed \(quorum majority\): api health: timeout after 500 ms; api database check: timeout after 500 ms$/);
    expect(r.passed, r.failures.join('; ')).toBe(true);
  });

  it('primary-recovers: healthy again at confirmation: ABORTED as a false alarm, nothing changed', async () => {
    const r = await runScenario(config, 'primary-recovers');

    expect(r.executions.map((e) => e.outcome)).toEqual(['ABORTED']);
    expect(r.primary.state).toBe('running');
    expect(r.replica.promoted).toBe(false);
    expect(r.apiCalls.map((c) => c.operation)).toEqual(['StartExecution', 'Publish']);
    expect(r.history[0].summary).toMatch(/^false alarm: the primary answered the confirmation probes \(round passed: all 3 probes answered\)$/);
    expect(r.passed, r.failures.join('; ')).toBe(true);
  });

  it('duplicate-triggers: probe, alarm and manual at once: exactly one failover, the others SKIPPED, one history item each', async () => {
    const r = await runScenario(config, 'duplicate-triggers');

    expect(r.history).toHaveLength(3);
    const byTrigger = Object.fromEntries(r.history.map((h) => [h.trigger.type, h.outcome]));
    expect(Object.values(byTrigger).sort()).toEqual(['SKIPPED', 'SKIPPED', 'SUCCEEDED']);
    expect(Object.keys(byTrigger).sort()).toEqual(['alarm', 'manual', 'probe']);
    // The alarm's input is what the stack's EventBridge rule makes of a CloudWatch alarm event.
    const alarm = r.history.find((h) => h.trigger.type === 'alarm')!;
    expect(alarm.trigger).toMatchObject({ alarmName: 'orders-primary-status-check-failed' });
    expect(alarm.reason).toBe('CloudWatch alarm orders-primary-status-check-failed is in ALARM');
    expect(r.apiCalls.filter((c) => c.operation === 'RebootDBInstance')).toHaveLength(1);
    expect(r.apiCalls.filter((c) => c.operation === 'PromoteReadReplica')).toHaveLength(1);
    expect(r.failovers).toBe(1);
    expect(r.passed, r.failures.join('; ')).toBe(true);
  });

  it('paused: the outage is detected and reported once, and no execution starts', async () => {
    const r = await runScenario(config, 'paused');

    expect(r.executions).toEqual([]);
    expect(r.apiCalls.map((c) => c.operation)).toEqual(['Publish']);
    expect(r.notifications).toEqual([{ at: expect.any(Number), subject: 'failover orders: primary down, not failing over' }]);
    expect(r.primary.state).toBe('running');
    expect(r.passed, r.failures.join('; ')).toBe(true);
  });

  describe('faults survived', () => {
    it('crash-after-stop: the retried fence stops again harmlessly and records the truth', async () => {
      const r = await runScenario(config, 'crash-after-stop');

      // The retried start stops again, and each poll while stopping sends the force-stop again: all succeed.
      const stops = r.apiCalls.filter((c) => c.operation === 'StopInstances');
      expect(stops.length).toBeGreaterThanOrEqual(2);
      expect(stops.every((c) => !c.error)).toBe(true);
      expect(r.primary.state).toBe('stopped');
      expect(r.replica.promoted).toBe(true);
      expect(r.history).toHaveLength(1);
      expect(r.history[0]).toMatchObject({ outcome: 'SUCCEEDED', fence: { finalState: 'stopped', confirmed: true, method: 'force-stop' } });
      expectFenceBeforePromote(r);
      expect(r.passed, r.failures.join('; ')).toBe(true);
    });

    it('stale-lock: an expired lock of a dead execution is taken over', async () => {
      const r = await runScenario(config, 'stale-lock');

      expect(r.history[0].outcome).toBe('SUCCEEDED');
      expect(r.history[0].steps[0].result).toMatch(/taking over the expired lock of arn:aws:states:.*:died-long-ago \(expired 2025-12-31T23:00:00.000Z\)$/);
      expect(r.primary.state).toBe('stopped');
      expect(r.passed, r.failures.join('; ')).toBe(true);
    });

    it('lock-held: a live holder makes this run SKIPPED, with no AWS call at all', async () => {
      const r = await runScenario(config, 'lock-held');

      expect(r.executions.map((e) => e.outcome)).toEqual(['SKIPPED']);
      expect(r.apiCalls).toEqual([]);
      expect(r.notifications).toEqual([]);
      expect(r.history[0].summary).toMatch(/^skipping: another execution holds the lock of orders \(arn:.*:still-running\)/);
      expect(r.passed, r.failures.join('; ')).toBe(true);
    });

    it.each([
      ['instance-already-stopped', 'stopped'],
      ['instance-terminated', 'terminated'],
    ])('%s: counts as fenced, and the failover proceeds', async (name, state) => {
      const r = await runScenario(config, name);

      expect(r.primary.state).toBe(state);
      expect(r.history[0]).toMatchObject({ outcome: 'SUCCEEDED', fence: { finalState: state, confirmed: true } });
      expect(r.replica.promoted).toBe(true);
      expect(r.passed, r.failures.join('; ')).toBe(true);
    });

    it.each([
      ['replica-not-replica', 'not promoting: orders-replica is not a read replica (already standalone?)'],
      ['replica-unavailable', 'not promoting: replica orders-replica is storage-full, not available'],
    ])('%s: ABORTED before fencing, nothing changed', async (name, summary) => {
      const r = await runScenario(config, name);

      expect(r.history[0]).toMatchObject({ outcome: 'ABORTED', summary, fence: null, promotion: null });
      expect(r.apiCalls.map((c) => c.operation)).toEqual(['Publish']);
      expect(r.primary.state).toBe('running');
      expect(r.dns.every((d) => d.after.join() === d.before.join())).toBe(true);
      expect(r.passed, r.failures.join('; ')).toBe(true);
    });

    it('store-unavailable: the history write is retried, then the execution fails loudly with the record in a notification and the log', async () => {
      const drill = await Drill.create(config);
      try {
        drill.injectStoreFault({ operation: 'PutItem', error: 'InternalServerError', when: (input) => String(input.Item?.sk).startsWith('EXEC#') });
        const [run] = await drill.run({ input: { group: 'orders', reason: 'test', trigger: { type: 'manual' } } });

        expect(run.status).toBe('FAILED');
        expect(run.error).toBe('RecordNotStored');
        // The first attempt of the Record step and its six retries (the retrier's MaxAttempts), each refused by DynamoDB.
        expect(run.tasks.filter((t) => t.state === 'Record').map((t) => t.error)).toEqual(Array(7).fill('TransientAwsError'));
        expect(drill.account.instance('i-0a1b2c3d4e5f60718')!.state).toBe('stopped');
        expect(await drill.store.listHistory()).toEqual([]);
        const lost = drill.account.published.find((m) => m.message.includes('THE HISTORY ITEM COULD NOT BE STORED'))!;
        const record = JSON.parse(lost.message.slice(lost.message.indexOf('--- record (JSON) ---') + 22));
        expect(record).toMatchObject({ executionArn: run.executionArn, outcome: 'SUCCEEDED', promotion: { confirmed: true } });
        expect(drill.logs.find((l) => l.message === 'history item not stored')).toMatchObject({ record: { executionArn: run.executionArn, outcome: 'SUCCEEDED' } });
        expect(await drill.store.getLock('orders')).toBeUndefined();
        expect(await checkInvariants(drill)).toEqual([]);
      } finally {
        await drill.close();
      }
    });

    it('notify-fails: SNS refuses, the failover stands, and the record says the notification failed', async () => {
      const r = await runScenario(config, 'notify-fails');

      expect(r.executions).toEqual([{ name: 'drill-1', trigger: 'manual', outcome: 'SUCCEEDED', error: null }]);
      expect(r.primary.state).toBe('stopped');
      expect(r.replica.promoted).toBe(true);
      expect(r.history[0].notification).toEqual({ notified: false, error: 'AuthorizationErrorException: not authorized to publish (drill)' });
      expect(r.passed, r.failures.join('; ')).toBe(true);
    });

    it('an ABORTED outcome whose notification SNS refuses: the execution still succeeds, so only the outcome-aborted alarm\'s metric (Executions, Outcome ABORTED) tells on-call', async () => {
      const drill = await Drill.create(config);
      try {
        const group = drill.config.groups[0];
        drill.account.setReplicationDelay(group.replica.dbInstanceIdentifier, 120);
        drill.account.inject({ service: 'sns', operation: 'Publish', error: 'AuthorizationErrorException', message: 'not authorized to publish (drill)', times: Infinity });
        const [run] = await drill.run(manual(group, {}));
        // Not FAILED: AWS/States ExecutionsFailed (the workflow-failed alarm) does not count it.
        expect(run.status).toBe('SUCCEEDED');
        expect(drill.account.published).toEqual([]);
        const [item] = await drill.store.listHistory();
        expect(item).toMatchObject({ outcome: 'ABORTED', notification: { notified: false, error: 'AuthorizationErrorException: not authorized to publish (drill)' } });
        // The one document the alarm reads: Executions with the dimension Outcome alone (observability.ts).
        const emf = drill.logs.filter((l) => l._aws !== undefined && l.Executions !== undefined) as Array<Record<string, unknown>>;
        expect(emf.filter((l) => l.Outcome === 'ABORTED' && l.Group === undefined).map((l) => l.Executions)).toEqual([1]);
      } finally {
        await drill.close();
      }
    });
  });

  it('the drill knows exactly the scenarios tested here', () => {
    expect(SCENARIOS.map((s) => s.name)).toEqual([
      'primary-down',
      'flapping',
      'slow-endpoint',
      'primary-recovers',
      'duplicate-triggers',
      'paused',
      'dry-run',
      'switchover',
      'throttled',
      'fence-stuck',
      'fence-stuck-isolate',
      'promote-fails',
      'dns-rejected',
      'replica-lagging',
      'crash-after-stop',
      'stale-lock',
      'lock-held',
      'instance-already-stopped',
      'instance-terminated',
      'replica-not-replica',
      'replica-unavailable',
      'store-unavailable',
      'notify-fails',
      // Never two writers (test/drill/writers.test.ts).
      'writer-db-reachable',
      'pooled-connections',
      'wrong-region',
      'primary-restarted',
      'asg-replaces-primary',
      'source-region-down',
      'source-region-down-attested',
      'switchover-under-load',
      // Replica lag as RDS reports it (test/drill/lag.test.ts).
      'pg-source-dies',
      'mysql-replication-broken',
      'replica-fell-behind',
      'idle-source',
      'lag-metric-delayed',
      'lag-metric-missing',
      'two-replicas',
      // Readiness (test/readiness/readiness.test.ts).
      'ready',
      'not-ready-wrong-region',
      'not-ready-ttl',
      'not-ready-replication',
      'not-ready-alias',
      'not-ready-asg',
      'not-ready-fence-denied',
      'not-ready-aurora',
      'not-ready-alarm-missing',
      'not-ready-probes-failing',
      'not-ready-paused',
      'not-ready-flipped',
      'not-ready-source-vpc',
      // Security (test/drill/security.test.ts).
      'forged-lock',
      'alarm-while-paused',
      // A second vantage for the confirmation (test/drill/vantage.test.ts).
      'controller-cut-off',
      'primary-down-vantage',
      'vantage-unreachable',
      'one-of-two-vantages-unreachable',
      // When a region is down (test/drill/region.test.ts).
      'route53-api-down',
      'route53-api-down-records',
      'primary-region-dark',
      // The probe fleet protecting the groups from itself (test/probe/controller-partitioned.test.ts).
      'controller-partitioned',
      'controller-partitioned-alarm',
      'probes-never-passed',
    ]);
  });
});

describe('the workflow against the simulated account', () => {
  let drill: Drill | undefined;
  afterEach(async () => {
    await drill?.close();
    drill = undefined;
  });

  const input = (extra: Record<string, unknown> = {}) => ({ group: 'orders', reason: 'test', trigger: { type: 'manual' }, ...extra });

  it('an unknown group fails with InvalidInput naming it, with no AWS call and no history', async () => {
    drill = await Drill.create(config);
    const [run] = await drill.run({ input: input({ group: 'nope' }) });

    expect(run.status).toBe('FAILED');
    expect(run.error).toBe('InvalidInput');
    expect(run.cause).toBe('group: unknown group "nope"; known groups: orders');
    expect(drill.account.apiCalls).toEqual([]);
    expect(await drill.store.listHistory()).toEqual([]);
  });

  it('malformed input fails with InvalidInput naming the field and the value', async () => {
    drill = await Drill.create(config);
    const [run] = await drill.run({ input: input({ trigger: { type: 'pager' }, dryRun: 'yes' }) });

    expect(run.error).toBe('InvalidInput');
    expect(run.cause).toContain('trigger.type: must be one of probe, alarm, manual, got "pager"');
    expect(run.cause).toContain('dryRun: must be a boolean, got "yes"');
    expect(drill.account.apiCalls).toEqual([]);
  });

  it('two concurrent executions for one group: one fails over, the other is SKIPPED and touches nothing', async () => {
    drill = await Drill.create(config);
    const [first, second] = await drill.run({ input: input(), name: 'first' }, { input: input(), name: 'second' });

    const history = await drill.store.listHistory({ group: 'orders' });
    const outcomes = Object.fromEntries(history.map((h) => [h.executionName, h.outcome]));
    expect(Object.values(outcomes).sort()).toEqual(['SKIPPED', 'SUCCEEDED']);
    expect([first.status, second.status]).toEqual(['SUCCEEDED', 'SUCCEEDED']);
    expect(drill.account.apiCalls.filter((c) => c.operation === 'RebootDBInstance')).toHaveLength(1);
    expect(drill.account.apiCalls.filter((c) => c.operation === 'PromoteReadReplica')).toHaveLength(1);
    expect(await drill.store.getLock('orders')).toBeUndefined();
    expect(await checkInvariants(drill)).toEqual([]);
  });

  it('a finished failover leaves the group FAILED_OVER with the replica as primary', async () => {
    drill = await Drill.create(config);
    await drill.run({ input: input() });

    expect(await drill.store.getGroupState('orders')).toMatchObject({
      status: 'FAILED_OVER',
      primary: { kind: 'rds', id: 'orders-replica', endpointAddress: REPLICA_ENDPOINT },
    });
  });

  it('the drill runs the definition a synth of its own config gives (probes pointed at its servers)', async () => {
    drill = await Drill.create(config);
    const fresh = synthesizeController(drill.config);

    expect(drill.synth.definition).toEqual(fresh.definition);
    expect(synthFor(drill.config).definition).toEqual(fresh.definition);
    // The steps get the drilled groups (probes pointed at the drill's servers), and the definition names them.
    expect(drill.deps.groups().orders.probes[0]).toMatchObject({ url: `http://127.0.0.1:${drill.primaryEndpoints.httpPort}/health` });
    expect(drill.synth.definition.States.Plan.Parameters.groupDigests).toEqual(groupDigests(drill.config.groups));
  });

  it('the invariant checker catches a workflow that promotes before the fence is confirmed', async () => {
    drill = await Drill.create(config);
    // Break the definition the way a careless edit would: go straight from the stop call to the promotion.
    const definition = structuredClone(drill.synth.definition);
    definition.States.FencePrimary.Next = 'PromoteReplica';
    Object.assign(drill, { synth: { ...drill.synth, definition } });
    await drill.run({ input: input() });

    const violations = await checkInvariants(drill);
    // Promoted while the primary was stopping and the old database unfenced: its clients went on writing.
    expect(violations).toEqual(expect.arrayContaining([
      expect.stringMatching(/^PromoteReadReplica orders-replica at t\+[\d.]+ s while i-0a1b2c3d4e5f60718 was stopping, not confirmed stopped or isolated$/),
      expect.stringMatching(/^the old database orders-primary-db accepted \d+ write\(s\) after the promotion of orders-replica began/),
    ]));
  });
});
