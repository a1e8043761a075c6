/**
 * `failoverctl check`: the readiness evaluation from the operator's machine. "The account" is the
 * drill's simulated AWS account and the deployment's table is dynalite; the probe function has run
 * for two minutes as a deployed one would have.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { FailoverConfig } from '../../lambdas/core/config';
import { Drill } from '../../lib/drill/drill';
import { exampleConfig, accountDeps } from '../support/drill';
import { INSTANCE, runCli } from './support';

let config: FailoverConfig;
beforeAll(() => {
  config = exampleConfig();
});

let drill: Drill | undefined;
afterEach(async () => {
  await drill?.close();
  drill = undefined;
});

const depsFor = accountDeps;

async function watched(): Promise<Drill> {
  drill = await Drill.create(config);
  await drill.watch(2);
  return drill;
}

const check = (d: Drill, ...more: string[]) => runCli(['check', ...more, '--table', d.tableName, '--region', 'us-west-2'], { deps: depsFor(d) });

describe('failoverctl check', () => {
  it('a ready group: READY, exit 0, nothing changed', async () => {
    const d = await watched();
    const r = await check(d);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      [
        `Readiness of table ${d.tableName} in us-west-2, config failover.config.json, at 2026-01-01 09:02:00 +09:00`,
        '',
        'orders  READY',
        '',
      ].join('\n'),
    );
    expect(d.account.apiCalls.filter((c) => c.mutating && c.service !== 'sqs').map((c) => [c.operation, c.dryRun])).toEqual([['StopInstances', true]]);
  });

  it('not ready: each problem with its check, resource and what to do; exit 1', async () => {
    const d = await watched();
    d.account.putRecord('Z0EXAMPLE1234567890AB', { name: 'db.orders.example.com', type: 'CNAME', ttl: 3600, values: d.account.record('Z0EXAMPLE1234567890AB', 'db.orders.example.com', 'CNAME')!.values });
    d.account.autoscaling.addGroup({ name: 'orders-asg', region: 'us-east-1', instanceIds: [INSTANCE] });
    const r = await check(d, 'orders');
    expect(r.code).toBe(1);
    expect(r.stdout.split('\n').slice(1)).toEqual([
      '',
      'orders  NOT READY: 1 problem',
      '  dns      CNAME db.orders.example.com',
      "           its live TTL is 3600 s, above the configured 30 s: clients that resolved it before a flip keep the old answer for up to 3600 s, which adds up to 3570 s to the recovery time clients see. Lower the record's TTL to 30 now; the flip sets it only for answers given after it.",
      `  primary  ${INSTANCE} (us-east-1): belongs to Auto Scaling group orders-asg: the fence suspends its HealthCheck, ReplaceUnhealthy, Launch, AZRebalance processes before stopping it, so the group does not replace it with a running instance (resume them after a failback)`,
      '',
    ]);
  });

  it('--json: { checkedAt, groups: [{ group, ready, problems: [{ check, resource, reason }], notes }] }', async () => {
    const d = await watched();
    d.account.rds.setReplicationState('orders-replica', 'error');
    const r = await check(d, '--json');
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toEqual({
      checkedAt: '2026-01-01T00:02:00.000Z',
      groups: [
        {
          group: 'orders',
          ready: false,
          problems: [
            {
              check: 'replica',
              resource: 'orders-replica (us-west-2)',
              reason: expect.stringMatching(/^the read replication status of orders-replica is error \(Replication has stopped because of an error\.\): it is not receiving/),
            },
          ],
          notes: [],
        },
      ],
    });
  });

  it('the fence refused with the operator\'s credentials (a read-only operator): a note that break-glass from here could not fence, not a problem', async () => {
    const d = await watched();
    d.account.inject({ service: 'ec2', operation: 'StopInstances', error: 'UnauthorizedOperation', message: 'You are not authorized to perform this operation.' });
    const r = await check(d);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`orders  READY\n  fence    ${INSTANCE} (us-east-1): your credentials may not stop it (StopInstances DryRun: UnauthorizedOperation): a break-glass run (failover --local) with them would end FENCE_FAILED`);
  });

  it('AWS could not answer a check: exit 3, the rest still reported', async () => {
    const d = await watched();
    d.account.setRegionReachable('us-east-1', false, ['ec2', 'autoscaling']);
    const r = await check(d);
    expect(r.code).toBe(3);
    expect(r.stdout).toContain('  primary  i-0a1b2c3d4e5f60718 (us-east-1)\n           could not be checked: EC2 DescribeInstances i-0a1b2c3d4e5f60718 failed with TimeoutError');
  });

  it('an unknown group is a usage error naming the known ones; nothing is read', async () => {
    const d = await watched();
    const before = d.account.apiCalls.length;
    const r = await check(d, 'payments');
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('failoverctl: unknown group "payments"; known groups (in failover.config.json): orders\n');
    expect(d.account.apiCalls.length).toBe(before);
  });
});

describe('failoverctl status shows the readiness function\'s last result', () => {
  it('NOT READY since the change, with its problems', async () => {
    const d = await watched();
    d.account.cloudwatch.removeAlarm('orders-primary-status-check-failed', 'us-west-2');
    await d.evaluateReadiness();
    const r = await runCli(['status', 'orders', '--table', d.tableName, '--region', 'us-west-2'], { deps: depsFor(d) });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      [
        '  readiness     NOT READY since 2026-01-01 09:02:00 +09:00 (1 s ago), checked 2026-01-01 09:02:00 +09:00 (1 s ago): 1 problem',
        '                alarms orders-primary-status-check-failed: no alarm named "orders-primary-status-check-failed" exists in us-west-2, the controller\'s region, where the stack\'s rule listens: it would never start a failover. Check alarms[] (alarms are regional, and a renamed alarm is a new one).',
      ].join('\n'),
    );
  });
});
