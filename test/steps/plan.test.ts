/**
 * Step 1, plan: the execution input is validated against the deployed groups; a malformed input fails
 * with InvalidInput naming the field and the value, and a valid one gets its defaults.
 */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../lambdas/core/config';
import { run, type PlanEvent } from '../../lambdas/steps/plan';
import { T0 as NOW, ZONE, ordersInput } from '../support/fixtures';

const deps = { now: () => NOW };

// The example group `orders` (fixtures) and `billing`, in other regions of the same zone.
const config = parseConfig({
  groups: [
    ordersInput(),
    {
      name: 'billing',
      primary: { instanceId: 'i-0b1b2c3d4e5f60718', region: 'eu-west-1' },
      replica: { dbInstanceIdentifier: 'billing-replica', region: 'eu-central-1', source: 'billing-primary-db', sourceVpcId: 'vpc-0db0000000000000a' },
      dns: { hostedZoneId: ZONE, zoneName: 'example.com', records: [{ name: 'db.billing.example.com', type: 'CNAME', target: 'replicaEndpoint' }] },
    },
  ],
});
// What the state machine embeds: the validated groups by name.
const groupsJson = JSON.stringify(Object.fromEntries(config.groups.map((g) => [g.name, g])));
const execution = {
  id: 'arn:aws:states:us-east-1:123456789012:execution:FailoverWorkflow:orders-manual-1',
  name: 'orders-manual-1',
};

const event = (input: unknown): PlanEvent => ({ input, groupsJson, execution });
const valid = { group: 'orders', reason: 'primary unreachable from two AZs', trigger: { type: 'manual' } };

async function planError(input: unknown): Promise<Error> {
  const error = await run(event(input), deps).then(
    () => undefined,
    (err: unknown) => err as Error,
  );
  if (!error) throw new Error(`expected plan to reject ${JSON.stringify(input)}`);
  return error;
}

describe('plan: a valid input', () => {
  it('gets the defaults: failover, not a dry run, not forced, triggered now', async () => {
    // Arrange
    const input = valid;

    // Act
    const plan = await run(event(input), deps);

    // Assert
    expect(plan).toEqual({
      executionArn: execution.id,
      executionName: 'orders-manual-1',
      group: config.groups[0],
      reason: 'primary unreachable from two AZs',
      trigger: { type: 'manual' },
      mode: 'failover',
      dryRun: false,
      force: false,
      startedAt: NOW,
      triggeredAt: NOW,
      // The state machine's timeout (fence: max of 120 and switchover stop 600, + lag wait 300 + promotion
      // 1800 + DNS 300 + 900 margin = 3900) plus five minutes, so the lock outlives any execution.
      lockTtlSeconds: 5640,
    });
    expect(plan.group.replica.maxLagSeconds).toBe(30);
    expect(plan.group.dns.records[0].ttl).toBe(30);
  });

  it('takes triggeredAt from trigger.at, so the RTO counts from the trigger', async () => {
    const input = { ...valid, trigger: { type: 'probe', at: '2026-03-01T11:59:20Z', failures: 3 } };

    const plan = await run(event(input), deps);

    expect(plan.triggeredAt).toBe(Date.parse('2026-03-01T11:59:20.000Z'));
    expect(plan.startedAt).toBe(NOW);
    // Extra trigger details are kept for the history.
    expect(plan.trigger).toEqual({ type: 'probe', at: '2026-03-01T11:59:20Z', failures: 3 });
  });

  it('accepts a trigger.at slightly ahead (clock skew) and clamps it to now', async () => {
    const input = { ...valid, trigger: { type: 'alarm', at: '2026-03-01T12:00:30+00:00' } };

    const plan = await run(event(input), deps);

    expect(plan.triggeredAt).toBe(NOW);
  });

  it('keeps explicit mode, dryRun and force', async () => {
    const input = { ...valid, mode: 'switchover', dryRun: true, force: true };

    const plan = await run(event(input), deps);

    expect(plan).toMatchObject({ mode: 'switchover', dryRun: true, force: true });
  });

  it("carries a manual execution's attestation with who made it and when", async () => {
    const input = { ...valid, trigger: { type: 'manual', by: 'alice@ops-1' }, attestation: { reason: 'us-east-1 is dark; both instances terminated from the console' } };

    const plan = await run(event(input), deps);

    expect(plan.attestation).toEqual({ by: 'alice@ops-1', reason: 'us-east-1 is dark; both instances terminated from the console', at: '2026-03-01T12:00:00.000Z' });
  });
});

describe('plan: InvalidInput', () => {
  const cases: Array<[string, unknown, string]> = [
    ['missing reason', { group: 'orders', trigger: { type: 'manual' } }, 'reason: is required'],
    ['empty reason', { ...valid, reason: '' }, 'reason: must not be empty, got ""'],
    ['missing trigger', { group: 'orders', reason: 'x' }, 'trigger: is required'],
    ['trigger not an object', { ...valid, trigger: 'manual' }, 'trigger: must be an object, got "manual"'],
    ['bad trigger.type', { ...valid, trigger: { type: 'cron' } }, 'trigger.type: must be one of probe, alarm, manual, got "cron"'],
    ['non-boolean dryRun', { ...valid, dryRun: 'yes' }, 'dryRun: must be a boolean, got "yes"'],
    ['non-boolean force', { ...valid, force: 1 }, 'force: must be a boolean, got 1'],
    ['bad mode', { ...valid, mode: 'failback' }, 'mode: must be "failover" or "switchover", got "failback"'],
    ['unknown extra field', { ...valid, urgent: true }, 'urgent: is not a known field'],
    ['control characters in reason', { ...valid, reason: 'db down\u0007\nrm -rf' }, 'reason: must not contain control characters, got "db down\\u0007\\nrm -rf"'],
    ['control character in group', { ...valid, group: 'orders\u0000' }, 'group: must not contain control characters, got "orders\\u0000"'],
    [
      'oversized reason',
      { ...valid, reason: 'x'.repeat(1025) },
      `reason: must be at most 1024 characters, got "${'x'.repeat(76)}...`,
    ],
    [
      'malformed trigger.at',
      { ...valid, trigger: { type: 'manual', at: 'yesterday' } },
      'trigger.at: must be an ISO 8601 time such as 2026-01-01T00:00:00Z, got "yesterday"',
    ],
    [
      'future trigger.at',
      { ...valid, trigger: { type: 'manual', at: '2026-03-01T12:05:00Z' } },
      'trigger.at: must not be in the future, got "2026-03-01T12:05:00Z"',
    ],
    [
      'an attestation on a probe trigger',
      { ...valid, trigger: { type: 'probe' }, attestation: { reason: 'fenced' } },
      'attestation: only a manual execution may attest that the writers are fenced; this one\'s trigger.type is "probe"',
    ],
    [
      'an attestation on an alarm trigger',
      { ...valid, trigger: { type: 'alarm', alarmName: 'x' }, attestation: { by: 'robot', reason: 'fenced' } },
      'attestation: only a manual execution may attest that the writers are fenced; this one\'s trigger.type is "alarm"',
    ],
    ['an attestation without a reason', { ...valid, attestation: {} }, 'attestation.reason: is required'],
    ['unknown group', { ...valid, group: 'payments' }, 'group: unknown group "payments"; known groups: billing, orders'],
    // An inherited property is not a group.
    ['inherited property as group', { ...valid, group: 'toString' }, 'group: unknown group "toString"; known groups: billing, orders'],
  ];

  it.each(cases)('%s', async (_, input, message) => {
    // Act
    const error = await planError(input);

    // Assert
    expect(error.name).toBe('InvalidInput');
    expect(error.message).toBe(message);
  });

  it('reports every problem of the input at once', async () => {
    const error = await planError({ group: 'orders', trigger: { type: 'cron' }, dryRun: 'no', extra: 1 });

    expect(error.name).toBe('InvalidInput');
    expect(error.message.split('; ').sort()).toEqual(
      ['dryRun: must be a boolean, got "no"', 'extra: is not a known field', 'reason: is required', 'trigger.type: must be one of probe, alarm, manual, got "cron"'].sort(),
    );
  });
});
