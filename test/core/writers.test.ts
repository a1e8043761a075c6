/**
 * The writers in the record, where the source database is, and what counts as an unreachable region:
 * the pure pieces the fences and the history item are built from.
 */
import { describe, expect, it } from 'vitest';
import { sourceDatabase } from '../../lambdas/core/config';
import { isUnreachable } from '../../lambdas/core/errors';
import { buildHistoryItem } from '../../lambdas/core/history';
import { writersOf } from '../../lambdas/core/writers';
import type { WorkflowState } from '../../lambdas/core/workflow-state';
import { INSTANCE, PROMOTED, SOURCE_DB, at, ordersGroup, planFor, succeededState } from '../support/fixtures';

describe('sourceDatabase', () => {
  it.each([
    ['an ARN: its region and identifier', { source: 'arn:aws:rds:us-east-1:123456789012:db:orders-db', region: 'us-west-2' }, { id: 'orders-db', region: 'us-east-1', arn: 'arn:aws:rds:us-east-1:123456789012:db:orders-db' }],
    ["an identifier: in the replica's region, as RDS reports a same-region source", { source: 'orders-db', region: 'us-west-2' }, { id: 'orders-db', region: 'us-west-2' }],
  ])('%s', (_, replica, expected) => {
    expect(sourceDatabase(replica)).toEqual(expected);
  });
});

describe('isUnreachable', () => {
  it('is true for an endpoint that never answered, false for any HTTP answer', () => {
    expect(isUnreachable(Object.assign(new Error('timed out'), { name: 'TimeoutError', $metadata: {} }))).toBe(true);
    expect(isUnreachable(Object.assign(new Error('connect ETIMEDOUT'), { code: 'ETIMEDOUT' }))).toBe(true);
    expect(isUnreachable(Object.assign(new Error('slow'), { name: 'TimeoutError', $metadata: { httpStatusCode: 504 } }))).toBe(false);
    expect(isUnreachable(Object.assign(new Error('throttled'), { name: 'RequestLimitExceeded', $metadata: { httpStatusCode: 503 } }))).toBe(false);
  });
});

describe('writers in the history item', () => {
  const base = (): WorkflowState => {
    const s = succeededState(planFor(ordersGroup()), { lagSeconds: 1, dnsChanges: [{ name: 'db.orders.example.com', type: 'CNAME', ttl: 30, before: null, after: [PROMOTED] }] });
    return {
      ...s,
      fence: { ...s.fence!, instances: [{ id: INSTANCE, state: 'stopped', fenced: true, method: 'force-stop', seen: true, stops: 1, reason: 'stopped' }] },
      databaseFence: {
        id: SOURCE_DB, region: 'us-east-1', status: 'available', phase: 'confirmed', method: 'sg+reboot', confirmed: true,
        dryRun: false, polls: 3, startedAt: at(8.1), endedAt: at(8.8), reason: `${SOURCE_DB} fenced`,
      },
    };
  };

  it('lists every writer from the fences, and the latest re-check when there was one', () => {
    const fromFences = writersOf(base(), ordersGroup());
    const rechecked = writersOf({
      ...base(),
      verify: { stage: 'dns', confirmed: true, restopped: [], polls: 0, startedAt: at(31), endedAt: at(31), reason: 'ok', writers: [{ kind: 'ec2', id: INSTANCE, region: 'us-east-1', state: 'terminated', fenced: true, method: 'force-stop' }] },
    }, ordersGroup());

    expect(fromFences).toEqual([
      { kind: 'ec2', id: INSTANCE, region: 'us-east-1', state: 'stopped', fenced: true, method: 'force-stop' },
      { kind: 'rds', id: SOURCE_DB, region: 'us-east-1', state: 'available', fenced: true, method: 'sg+reboot' },
    ]);
    expect(rechecked.map((w) => w.state)).toEqual(['terminated']);
  });

  it('puts the writers in fence.writers, the database fence among the steps in the order they ran, and names the old database in the summary', () => {
    const item = buildHistoryItem(base(), ordersGroup(), at(40));

    expect(item.fence?.writers).toHaveLength(2);
    expect(item.attestation).toBeNull();
    expect(item.steps.map((s) => s.step)).toEqual(['lock', 'assess', 'fence', 'fence-db', 'promote', 'dns']);
    expect(item.summary).toBe(`failed over orders: ${INSTANCE} fenced (stopped), old database ${SOURCE_DB} fenced (deny-all security group, rebooted), orders-replica promoted, 1 DNS record(s) INSYNC`);
  });
});
