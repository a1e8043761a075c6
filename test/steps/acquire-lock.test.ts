/**
 * Step 2, acquire-lock, and the Store's lock, against a real DynamoDB implementation (dynalite, in
 * process): the conditional writes are what keep two failovers of one group from running at once.
 */
import 'aws-sdk-client-mock-vitest/extend';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mockClient, type AwsStub } from 'aws-sdk-client-mock';
import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  GetItemCommand,
  ProvisionedThroughputExceededException,
} from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { LocalDynamoDB } from '../../lib/drill/local-dynamodb';
import { run } from '../../lambdas/steps/acquire-lock';
import { HOLD_KEY, HOLD_LIVE_MS } from '../../lambdas/core/mass-failure-hold';
import { probesKey } from '../../lambdas/probe/detect';
import { Store, type GroupState } from '../../lambdas/core/store';
import type { TriggerType, WorkflowState } from '../../lambdas/core/workflow-state';
import { T0, at, deployed, executionArn as ARN, ordersGroup, ordersInput, planFor } from '../support/fixtures';
import { parseConfig, type GroupConfig } from '../../lambdas/core/config';
import { useTestStore } from '../support/store';

const FIRST = ARN('orders-probe-1');
const SECOND = ARN('orders-manual-2');

const group = ordersGroup();

let dynamo: LocalDynamoDB;
let store: Store;

// dynalite, a fresh table per test.
useTestStore((s, d) => {
  store = s;
  dynamo = d;
});

describe('Store lock', () => {
  it('takes a free lock, stored under the group key with a TTL attribute', async () => {
    // Act
    const result = await store.acquireLock('orders', FIRST, T0, 3900);

    // Assert
    expect(result).toEqual({ acquired: true, lock: { group: 'orders', holder: FIRST, acquiredAt: T0, expiresAt: at(3900) } });
    const raw = await dynamo.client().send(
      new GetItemCommand({ TableName: store.tableName, Key: { pk: { S: 'GROUP#orders' }, sk: { S: 'LOCK' } }, ConsistentRead: true }),
    );
    expect(raw.Item).toMatchObject({
      holder: { S: FIRST },
      expiresAt: { N: String(at(3900)) },
      // DynamoDB TTL is in epoch seconds; an hour after expiry, so the condition, not TTL, decides.
      ttl: { N: String(at(3900) / 1000 + 3600) },
    });
  });

  it('blocks a second holder while the lock is live, returning the holder', async () => {
    // Arrange
    await store.acquireLock('orders', FIRST, T0, 3900);

    // Act
    const result = await store.acquireLock('orders', SECOND, at(10), 3900);

    // Assert
    expect(result).toEqual({ acquired: false, lock: { group: 'orders', holder: FIRST, acquiredAt: T0, expiresAt: at(3900) } });
    expect(await store.getLock('orders')).toMatchObject({ holder: FIRST });
  });

  it('lets the same holder take it again (a retried step) and extends it', async () => {
    await store.acquireLock('orders', FIRST, T0, 3900);

    const result = await store.acquireLock('orders', FIRST, at(5), 3900);

    expect(result).toEqual({ acquired: true, lock: { group: 'orders', holder: FIRST, acquiredAt: at(5), expiresAt: at(3905) } });
    expect(await store.getLock('orders')).toEqual({ group: 'orders', holder: FIRST, acquiredAt: at(5), expiresAt: at(3905) });
  });

  it('still blocks at the exact expiry time, and hands an expired lock over after it', async () => {
    // Arrange: the first holder died with the lock.
    await store.acquireLock('orders', FIRST, T0, 60);

    // Act
    const atExpiry = await store.acquireLock('orders', SECOND, at(60), 3900);
    const afterExpiry = await store.acquireLock('orders', SECOND, at(61), 3900);

    // Assert
    expect(atExpiry.acquired).toBe(false);
    expect(afterExpiry).toEqual({
      acquired: true,
      lock: { group: 'orders', holder: SECOND, acquiredAt: at(61), expiresAt: at(3961) },
      tookOverFrom: { group: 'orders', holder: FIRST, acquiredAt: T0, expiresAt: at(60) },
    });
    expect(await store.getLock('orders')).toMatchObject({ holder: SECOND });
  });

  it('keeps the locks of different groups apart', async () => {
    await store.acquireLock('orders', FIRST, T0, 3900);

    const result = await store.acquireLock('billing', SECOND, T0, 3900);

    expect(result.acquired).toBe(true);
  });

  it('is released by its holder only', async () => {
    // Arrange
    await store.acquireLock('orders', FIRST, T0, 3900);

    // Act
    const byOther = await store.releaseLock('orders', SECOND);
    const lockAfterOther = await store.getLock('orders');
    const byHolder = await store.releaseLock('orders', FIRST);

    // Assert
    expect(byOther).toBe(false);
    expect(lockAfterOther).toMatchObject({ holder: FIRST, expiresAt: at(3900) });
    expect(byHolder).toBe(true);
    expect(await store.getLock('orders')).toBeUndefined();
  });

  it('returns false when releasing a lock that is not there', async () => {
    expect(await store.releaseLock('orders', FIRST)).toBe(false);
  });

  it('after a release, a new holder takes the lock at once', async () => {
    await store.acquireLock('orders', FIRST, T0, 3900);
    await store.releaseLock('orders', FIRST);

    const result = await store.acquireLock('orders', SECOND, at(1), 3900);

    expect(result.acquired).toBe(true);
  });
});

describe('Store lock: faults as DynamoDB raises them', () => {
  // The document client mocked, so DynamoDB's own exceptions reach the store; restored after each test
  // so the other tests keep talking to dynalite.
  let ddb: AwsStub<any, any, any>;
  let mocked: Store;
  beforeEach(() => {
    ddb = mockClient(DynamoDBDocumentClient);
    mocked = new Store(new DynamoDBClient({ region: 'us-west-2' }), 'failover');
  });
  afterEach(() => ddb.restore());

  const conditionFailed = () => new ConditionalCheckFailedException({ $metadata: { httpStatusCode: 400 }, message: 'The conditional request failed' });

  it('reports the live holder when the conditional put fails', async () => {
    // Arrange
    ddb.on(PutCommand).rejects(conditionFailed());
    ddb.on(GetCommand).resolves({ Item: { pk: 'GROUP#orders', sk: 'LOCK', holder: FIRST, acquiredAt: T0, expiresAt: at(4200) } });

    // Act
    const result = await mocked.acquireLock('orders', SECOND, at(10), 4200);

    // Assert
    expect(result).toEqual({ acquired: false, lock: { group: 'orders', holder: FIRST, acquiredAt: T0, expiresAt: at(4200) } });
    expect(ddb).toHaveReceivedCommandWith(PutCommand, {
      TableName: 'failover',
      ConditionExpression: 'attribute_not_exists(pk) OR expiresAt < :now OR holder = :me',
      ExpressionAttributeValues: { ':now': at(10), ':me': SECOND },
    });
    expect(ddb).toHaveReceivedCommandWith(GetCommand, { TableName: 'failover', Key: { pk: 'GROUP#orders', sk: 'LOCK' }, ConsistentRead: true });
  });

  it('release by a non-holder (condition failed) returns false', async () => {
    ddb.on(DeleteCommand).rejects(conditionFailed());

    expect(await mocked.releaseLock('orders', SECOND)).toBe(false);
    expect(ddb).toHaveReceivedCommandWith(DeleteCommand, {
      Key: { pk: 'GROUP#orders', sk: 'LOCK' },
      ConditionExpression: 'holder = :me',
      ExpressionAttributeValues: { ':me': SECOND },
    });
  });

  it('throttling on the lock is a TransientAwsError', async () => {
    ddb.on(PutCommand).rejects(
      new ProvisionedThroughputExceededException({ $metadata: { httpStatusCode: 400 }, message: 'The level of configured provisioned throughput for the table was exceeded.' }),
    );

    const error = await mocked.acquireLock('orders', FIRST, T0, 4200).then(
      () => undefined,
      (err: unknown) => err as Error,
    );

    expect(error?.name).toBe('TransientAwsError');
    expect(error?.message).toBe(
      'DynamoDB PutItem (lock) failed: ProvisionedThroughputExceededException: The level of configured provisioned throughput for the table was exceeded.',
    );
  });
});

describe('acquire-lock run', () => {
  /** Execution FIRST (or `executionArn`), a failover started and triggered at T0. */
  function state(options: { executionArn?: string; trigger?: TriggerType; dryRun?: boolean } = {}): WorkflowState {
    const plan = planFor(group, {
      executionArn: options.executionArn ?? FIRST,
      trigger: { type: options.trigger ?? 'probe' },
      dryRun: options.dryRun ?? false,
    });
    return { plan };
  }

  const deps = (nowMs = T0) => ({ now: () => nowMs, store: () => store, ...deployed(group) });

  const groupState = (overrides: Partial<GroupState>): GroupState => ({
    group: 'orders',
    status: 'ARMED',
    updatedAt: '2026-03-01T00:00:00.000Z',
    ...overrides,
  });

  it('takes the free lock for the execution, for the lock TTL of the deployed groups', async () => {
    // Act
    const result = await run(state(), deps());

    // Assert
    expect(result).toEqual({
      startedAt: T0,
      endedAt: T0,
      acquired: true,
      holder: FIRST,
      // The state machine's timeout for the deployed groups (executionTimeoutSeconds: 5,340 s for the
      // example) plus five minutes, so the lock outlives any execution.
      expiresAt: at(5640),
      reason: 'took the lock of orders until 2026-03-01T13:34:00.000Z',
    });
    expect(await store.getLock('orders')).toEqual({ group: 'orders', holder: FIRST, acquiredAt: T0, expiresAt: at(5640) });
  });

  it("takes the TTL from the deployed groups, not from the event: a forged plan's lockTtlSeconds is ignored", async () => {
    // Arrange: what an older plan carried, forged to hold the lock for ten years.
    const forged = { plan: { ...state().plan, lockTtlSeconds: 10 * 365 * 86_400 } } as WorkflowState;

    // Act
    const result = await run(forged, deps());

    // Assert
    expect(result.expiresAt).toBe(at(5640));
    expect(await store.getLock('orders')).toMatchObject({ expiresAt: at(5640) });
  });

  it("refuses a group that is not deployed, whatever the event says it is, and takes no lock", async () => {
    const forged = { plan: { ...state().plan, group: { name: 'payments' } } } as WorkflowState;

    await expect(run(forged, deps())).rejects.toMatchObject({ name: 'InvalidInput', message: 'group: unknown group "payments"; known groups: orders' });
    expect(await store.getLock('payments')).toBeUndefined();
  });

  it('is skipped while another execution holds the lock', async () => {
    // Arrange
    await run(state(), deps());

    // Act
    const result = await run(state({ executionArn: SECOND, trigger: 'manual' }), deps(at(30)));

    // Assert
    expect(result).toMatchObject({
      acquired: false,
      holder: FIRST,
      reason: `skipping: another execution holds the lock of orders (${FIRST}) until 2026-03-01T13:34:00.000Z`,
    });
  });

  it('a retried step of the holder gets the lock again', async () => {
    await run(state(), deps());

    const result = await run(state(), deps(at(2)));

    expect(result).toMatchObject({ acquired: true, holder: FIRST });
  });

  it.each([
    [
      'PAUSED',
      groupState({ status: 'PAUSED', reason: 'maintenance window' }),
      'skipping: orders is PAUSED (maintenance window); automatic triggers are ignored',
    ],
    [
      'FAILED_OVER',
      groupState({ status: 'FAILED_OVER', primary: { kind: 'rds', id: 'orders-replica' } }),
      'skipping: orders already failed over to orders-replica; automatic triggers are ignored until it is re-armed',
    ],
    [
      'in the cooldown',
      groupState({ lastFailover: { executionArn: ARN('orders-0'), at: '2026-03-01T11:45:00.000Z', outcome: 'SUCCEEDED', rtoSeconds: 40 } }),
      'skipping: orders failed over at 2026-03-01T11:45:00.000Z, within the 30 min cooldown',
    ],
  ])('skips an automatic trigger, without taking the lock, when the group is %s', async (_, current, reason) => {
    // Arrange
    await store.putGroupState(current);

    // Act
    const result = await run(state({ trigger: 'alarm' }), deps());

    // Assert: skipped, and flagged for the topic: nothing else will handle this trigger's outage.
    expect(result).toEqual({ startedAt: T0, endedAt: T0, acquired: false, reason, notify: true });
    expect(await store.getLock('orders')).toBeUndefined();
  });

  it('lets an automatic trigger through after the cooldown', async () => {
    await store.putGroupState(groupState({ lastFailover: { executionArn: ARN('orders-0'), at: '2026-03-01T11:30:00.000Z', outcome: 'SUCCEEDED', rtoSeconds: 40 } }));

    const result = await run(state({ trigger: 'probe' }), deps());

    expect(result.acquired).toBe(true);
  });

  it('never blocks a manual trigger on the group state', async () => {
    await store.putGroupState(groupState({ status: 'FAILED_OVER', primary: { kind: 'rds', id: 'orders-replica' } }));

    const result = await run(state({ trigger: 'manual' }), deps());

    expect(result.acquired).toBe(true);
  });

  describe('an alarm of a group whose probes would confirm it', () => {
    const probed = parseConfig({ groups: [{ ...ordersInput(), probes: [{ type: 'tcp', name: 'port', host: '10.0.1.25', port: 5432 }] }] }).groups[0];
    /** `type`'s trigger of group `g`, as execution orders-<type>. */
    const trigger = (g: GroupConfig, type: TriggerType = 'alarm'): WorkflowState => ({ plan: planFor(g, { executionArn: ARN(`orders-${type}`), trigger: { type } }) }) as WorkflowState;
    const depsOf = (g: GroupConfig) => ({ now: () => T0, store: () => store, ...deployed(g) });
    /** The probe function's counters for orders, as it writes them: last passed at `at` with `settings`. */
    const passedWith = (settings: string, at = T0 - 60_000) => store.putProbeState({ group: 'orders', consecutiveFailures: 0, outageStartedAt: null, lastSuccessAt: at, lastRoundAt: at, passedWith: settings }, null);

    describe('probes that have never passed', () => {
      it('is skipped, without taking the lock, and told: the probes have never passed (or never run)', async () => {
        const result = await run(trigger(probed), depsOf(probed));

        expect(result).toMatchObject({ acquired: false, notify: true, reason: expect.stringMatching(/^skipping: the probes of orders, which confirm its alarms, have never passed: .* fail over by hand: failoverctl failover orders$/) });
        expect(await store.getLock('orders')).toBeUndefined();
      });

      it('is skipped when the probes have not passed since they were changed', async () => {
        await passedWith('settings-before-the-change');

        const result = await run(trigger(probed), depsOf(probed));

        expect(result).toMatchObject({ acquired: false, notify: true, reason: expect.stringMatching(/^skipping: the probes of orders, which confirm its alarms, have not passed since they were changed \(last passed 2026-03-01T11:59:00.000Z, with other settings\)/) });
      });

      it('goes on once the probes, as configured now, have passed; a probe or manual trigger is not asked', async () => {
        expect((await run(trigger(probed, 'manual'), depsOf(probed))).acquired).toBe(true);
        expect(await store.releaseLock('orders', ARN('orders-manual'))).toBe(true);
        expect((await run(trigger(probed, 'probe'), depsOf(probed))).acquired).toBe(true);
        expect(await store.releaseLock('orders', ARN('orders-probe'))).toBe(true);
        await passedWith(probesKey(probed));

        expect((await run(trigger(probed), depsOf(probed))).acquired).toBe(true);
      });
    });

    describe('while a mass-failure hold is in force (the controller may be cut off)', () => {
      const alarmOnly = parseConfig({ groups: [{ ...ordersInput(), alarms: ['orders-down'], confirmation: 'none' }] }).groups[0];
      const REASON = 'automatic failovers held: 4 of 4 groups failed the same round (at least 3 and 50 % hold them): the controller itself may be cut off from the primaries';
      /** The hold as the probe function leaves it: opened at `openedAt` (null: ended), last seen lasting at `lastAt`. */
      const hold = (openedAt: number | null, lastAt: number) =>
        store.putProbeState({ group: HOLD_KEY, consecutiveFailures: openedAt === null ? 0 : 1, outageStartedAt: openedAt, lastSuccessAt: null, lastRoundAt: lastAt, lastRound: { failed: openedAt !== null, reason: REASON }, openedBy: 0, openedOf: 1 }, null);
      beforeEach(async () => {
        await passedWith(probesKey(probed), T0 - 600_000);
      });

      it('is skipped and told, naming the hold, for a group whose probes would confirm it', async () => {
        await hold(T0 - 120_000, T0 - 30_000);

        const result = await run(trigger(probed), depsOf(probed));

        expect(result).toMatchObject({
          acquired: false,
          notify: true,
          reason: expect.stringMatching(/^skipping: automatic failovers held since 2026-03-01T11:58:00.000Z: 4 of 4 groups failed the same round .*; an alarm of orders would be confirmed by its probes from that same network\. If the outage is real, fail over by hand: failoverctl failover orders$/),
        });
        expect(await store.getLock('orders')).toBeUndefined();
      });

      it('goes on when the hold has not been seen lasting for HOLD_LIVE_MS (nobody is left to end it)', async () => {
        await hold(T0 - 600_000, T0 - HOLD_LIVE_MS - 1);
        expect((await run(trigger(probed), depsOf(probed))).acquired).toBe(true);
      });

      it('goes on when the hold has ended', async () => {
        await hold(null, T0 - 10_000);
        expect((await run(trigger(probed), depsOf(probed))).acquired).toBe(true);
      });

      it('does not hold an alarm its probes do not confirm (confirmation "none"), nor the probes\' own or a manual trigger', async () => {
        await hold(T0 - 120_000, T0 - 30_000);
        expect((await run(trigger(alarmOnly), depsOf(alarmOnly))).acquired).toBe(true);
        expect(await store.releaseLock('orders', ARN('orders-alarm'))).toBe(true);
        expect((await run(trigger(probed, 'manual'), depsOf(probed))).acquired).toBe(true);
        expect(await store.releaseLock('orders', ARN('orders-manual'))).toBe(true);
        expect((await run(trigger(probed, 'probe'), depsOf(probed))).acquired).toBe(true);
      });
    });
  });

  it('in a dry run, says the lock is free without taking it', async () => {
    const result = await run(state({ dryRun: true }), deps());

    expect(result).toEqual({
      startedAt: T0,
      endedAt: T0,
      acquired: true,
      holder: undefined,
      expiresAt: undefined,
      reason: 'dry run: the lock of orders is free; a real run would take it',
    });
    expect(await store.getLock('orders')).toBeUndefined();
  });

  it('in a dry run, reports a live lock of another execution', async () => {
    await store.acquireLock('orders', SECOND, T0, 3900);

    const result = await run(state({ dryRun: true }), deps(at(10)));

    expect(result).toMatchObject({
      acquired: false,
      holder: SECOND,
      reason: `skipping: another execution holds the lock of orders (${SECOND}); a real run would be skipped too`,
    });
    expect(await store.getLock('orders')).toMatchObject({ holder: SECOND, acquiredAt: T0 });
  });
});

describe('a lock no execution of this controller can hold (forged or corrupt)', () => {
  const state = (): WorkflowState => ({ plan: planFor(group, { executionArn: SECOND }) }) as WorkflowState;

  it.each([
    ['ten years long', FIRST, T0 + 10 * 365 * 86_400_000, /expires more than 2 x the lock's TTL/],
    ['held by something that is no execution', 'maintenance-window', T0 + 600_000, /neither a Step Functions execution nor a break-glass run/],
    ['held by an execution of another state machine', 'arn:aws:states:us-west-2:123456789012:execution:SomeoneElses:x', T0 + 600_000, /execution of another state machine \(SomeoneElses\)/],
  ])('%s: taken over, and the reason says why', async (_, holder, expiresAt, why) => {
    await store.acquireLock('orders', holder, T0, (expiresAt - T0) / 1000);

    const result = await run(state(), { now: () => T0 + 1000, store: () => store, ...deployed(group) });

    expect(result.acquired).toBe(true);
    expect(result.reason).toMatch(why);
    expect(await store.getLock('orders')).toMatchObject({ holder: SECOND });
  });

  it('a live execution\'s lock and a break-glass run\'s lock are honoured', async () => {
    for (const holder of [FIRST, 'local:local-orders-20260101T000000Z']) {
      await store.releaseLock('orders', FIRST);
      await store.acquireLock('orders', holder, T0, 3900);
      const result = await run(state(), { now: () => T0 + 1000, store: () => store, ...deployed(group) });
      expect(result.acquired, holder).toBe(false);
      expect(await store.getLock('orders'), holder).toMatchObject({ holder });
      await store.releaseLock('orders', holder);
    }
  });
});
