/**
 * Step 1, plan: the execution input is validated against the deployed groups (the Plan function's own,
 * never the event's); a malformed input fails with InvalidInput naming the field and the value, a
 * trigger with a field our triggers do not send is refused, a definition of another deployment is
 * refused with ConfigMismatch, and a valid input gets its defaults.
 */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../lambdas/core/config';
import { groupDigest, groupDigests } from '../../lambdas/core/deployed-group';
import { run, type PlanEvent } from '../../lambdas/steps/plan';
import { T0 as NOW, ZONE, deployed, ordersInput } from '../support/fixtures';

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
// What the Plan function has, and what the definition names: each group's digest.
const deps = { now: () => NOW, ...deployed(...config.groups) };
const digests = groupDigests(config.groups);
const execution = {
  id: 'arn:aws:states:us-east-1:123456789012:execution:FailoverWorkflow:orders-manual-1',
  name: 'orders-manual-1',
};

const event = (input: unknown, groupDigests: Record<string, string> = digests): PlanEvent => ({ input, groupDigests, execution });
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
      // The group by name and the digest of the config it was planned with; no config in the state.
      group: { name: 'orders', digest: groupDigest(config.groups[0]) },
      reason: 'primary unreachable from two AZs',
      trigger: { type: 'manual' },
      mode: 'failover',
      dryRun: false,
      force: false,
      startedAt: NOW,
      triggeredAt: NOW,
    });
    expect(plan.group.digest).toMatch(/^[0-9a-f]{16}$/);
  });

  it('takes triggeredAt from trigger.at, so the RTO counts from the trigger', async () => {
    const input = { ...valid, trigger: { type: 'probe', at: '2026-03-01T11:59:20Z', outageStartedAt: '2026-03-01T11:58:50Z', failedRounds: 3 } };

    const plan = await run(event(input), deps);

    expect(plan.triggeredAt).toBe(Date.parse('2026-03-01T11:59:20.000Z'));
    expect(plan.startedAt).toBe(NOW);
    // The probe's trigger details are kept for the history.
    expect(plan.trigger).toEqual({ type: 'probe', at: '2026-03-01T11:59:20Z', outageStartedAt: '2026-03-01T11:58:50Z', failedRounds: 3 });
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

describe('plan: the trigger takes only the fields our own triggers send', () => {
  const at = '2026-03-01T11:59:20Z';
  const accepted: Array<[string, Record<string, unknown>]> = [
    ['the probe function', { type: 'probe', at, outageStartedAt: '2026-03-01T11:58:50Z', failedRounds: 3 }],
    ['the alarm rule', { type: 'alarm', alarmName: 'orders-primary-down', at, stateReason: 'Threshold Crossed: 1 datapoint [1.0] was greater than the threshold (0.0).' }],
    ['failoverctl', { type: 'manual', by: 'alice@ops-1', at }],
    ['failoverctl --local', { type: 'manual', by: 'alice@ops-1', at, local: true }],
    ['the drill', { type: 'manual', by: 'failoverctl drill' }],
  ];

  it.each(accepted)("accepts what %s sends, and keeps it for the history", async (_, trigger) => {
    const plan = await run(event({ ...valid, trigger }), deps);

    expect(plan.trigger).toEqual(trigger);
  });

  it("turns control characters in an alarm's state reason (CloudWatch's text) into spaces rather than refusing the failover", async () => {
    const plan = await run(event({ ...valid, trigger: { type: 'alarm', alarmName: 'orders-primary-down', stateReason: 'Threshold\nCrossed\u001b[2J' } }), deps);

    expect(plan.trigger.stateReason).toBe('Threshold Crossed [2J');
  });

  const refused: Array<[string, Record<string, unknown>, string]> = [
    ['a field no trigger sends', { type: 'manual', by: 'alice', note: 'see ticket 42' }, 'trigger.note: is not a known field'],
    ['a look-alike of a known field', { type: 'probe', failures: 3 }, 'trigger.failures: is not a known field'],
    ['an alarm field on a manual trigger', { type: 'manual', alarmName: 'orders-primary-down' }, 'trigger.alarmName: is not a field of a manual trigger, got "orders-primary-down"'],
    ['a probe field on an alarm trigger', { type: 'alarm', alarmName: 'x', outageStartedAt: '2026-03-01T11:00:00Z' }, 'trigger.outageStartedAt: is not a field of an alarm trigger, got "2026-03-01T11:00:00Z"'],
    ['a local flag on a probe trigger', { type: 'probe', local: true }, 'trigger.local: is not a field of a probe trigger, got true'],
    ['an operator name with control characters', { type: 'manual', by: 'alice\u001b[31m' }, 'trigger.by: must not contain control characters, got "alice\\u001b[31m"'],
    ['an operator name over 128 characters', { type: 'manual', by: 'a'.repeat(129) }, `trigger.by: must be at most 128 characters, got "${'a'.repeat(76)}...`],
    ['an alarm name over 255 characters', { type: 'alarm', alarmName: 'a'.repeat(256) }, `trigger.alarmName: must be at most 255 characters, got "${'a'.repeat(76)}...`],
    ['a state reason over 1,023 characters', { type: 'alarm', alarmName: 'x', stateReason: 'r'.repeat(1024) }, `trigger.stateReason: must be at most 1023 characters, got "${'r'.repeat(76)}...`],
    ['failed rounds that are no count', { type: 'probe', failedRounds: 2.5 }, 'trigger.failedRounds: must be a whole number of rounds, got 2.5'],
    ['an outage start that is no time', { type: 'probe', outageStartedAt: 'an hour ago' }, 'trigger.outageStartedAt: must be an ISO 8601 time such as 2026-01-01T00:00:00Z, got "an hour ago"'],
    ['local that is no boolean', { type: 'manual', local: 'yes' }, 'trigger.local: must be a boolean, got "yes"'],
  ];

  it.each(refused)('refuses %s with InvalidInput naming the field', async (_, trigger, message) => {
    const error = await planError({ ...valid, trigger });

    expect(error.name).toBe('InvalidInput');
    expect(error.message).toBe(message);
  });
});

describe('plan: the groups are the deployed ones, never the event', () => {
  it("a group the event's digests name but the Plan function does not have is unknown", async () => {
    const error = await planError({ ...valid, group: 'payments' });
    const forged = await run(event({ ...valid, group: 'payments' }, { ...digests, payments: '0123456789abcdef' }), deps).catch((err: Error) => err);

    expect(error.message).toBe('group: unknown group "payments"; known groups: billing, orders');
    expect(forged).toMatchObject({ name: 'InvalidInput', message: 'group: unknown group "payments"; known groups: billing, orders' });
  });

  it("fails with ConfigMismatch when the definition's digest of the group is not the function's (a deployment in progress), naming both", async () => {
    const error = await run(event(valid, { ...digests, orders: '0000000000000000' }), deps).catch((err: Error) => err);

    expect(error).toMatchObject({ name: 'ConfigMismatch' });
    expect((error as Error).message).toBe(
      `the state machine's definition was deployed with config 0000000000000000 of group orders, but the Plan function has config ${digests.orders}: ` +
        'a deployment is in progress or did not finish; nothing was done. Start the execution again once the stack is deployed',
    );
  });

  it('fails with ConfigMismatch when the definition does not name the group at all', async () => {
    const error = await run(event(valid, { billing: digests.billing }), deps).catch((err: Error) => err);

    expect(error).toMatchObject({ name: 'ConfigMismatch' });
    expect((error as Error).message).toMatch(/^the state machine's definition was deployed with no group orders, but the Plan function has config [0-9a-f]{16}: /);
  });
});
