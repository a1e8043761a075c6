/**
 * `unlock` against the store on dynalite and Step Functions mocked: it releases a lock whose execution
 * is over, and refuses (changing nothing) while the holder may still be running.
 */
import 'aws-sdk-client-mock-vitest/extend';
import { DescribeExecutionCommand, SFNServiceException } from '@aws-sdk/client-sfn';
import { describe, expect, it } from 'vitest';
import type { Store } from '../../lambdas/core/store';
import type { CliDeps } from '../../lib/cli/deployment';
import { T0, executionArn, runCli, useDeployment } from './support';

let store: Store;
let deps: Partial<CliDeps>;
const { sfn } = useDeployment((d) => ({ store, deps } = d));

const HOLDER = executionArn('manual-orders-20260101T000000Z');
const NOW = T0 + 600_000;

describe('unlock', () => {
  it('releases the lock of an execution Step Functions says is over', async () => {
    await store.acquireLock('orders', HOLDER, T0, 4200);
    sfn.on(DescribeExecutionCommand, { executionArn: HOLDER }).resolves({ status: 'ABORTED' } as never);

    const r = await runCli(['unlock', 'orders', '--json'], { deps, now: NOW });

    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ group: 'orders', holder: HOLDER, holderStatus: 'ABORTED', released: true });
    expect(await store.getLock('orders')).toBeUndefined();
  });

  it('refuses while the holder is RUNNING, and leaves the lock', async () => {
    await store.acquireLock('orders', HOLDER, T0, 4200);
    sfn.on(DescribeExecutionCommand, { executionArn: HOLDER }).resolves({ status: 'RUNNING' } as never);

    const r = await runCli(['unlock', 'orders'], { deps, now: NOW });

    expect(r.code).toBe(4);
    expect(r.stderr).toContain(`the lock of orders is held by ${HOLDER}, and Step Functions says it is RUNNING; wait for it to end, or pass --force`);
    expect(await store.getLock('orders')).toMatchObject({ holder: HOLDER });
  });

  it('refuses when Step Functions cannot be asked, unless --force', async () => {
    await store.acquireLock('orders', HOLDER, T0, 4200);
    sfn.on(DescribeExecutionCommand).rejects(new SFNServiceException({ name: 'AccessDeniedException', message: 'denied', $fault: 'client', $metadata: { httpStatusCode: 400 } }));

    const refused = await runCli(['unlock', 'orders'], { deps, now: NOW });
    expect(refused.code).toBe(4);
    expect(await store.getLock('orders')).toMatchObject({ holder: HOLDER });

    const forced = await runCli(['unlock', 'orders', '--force'], { deps, now: NOW });
    expect(forced.code).toBe(0);
    expect(forced.stdout).toMatch(new RegExp(`^released the lock of orders held by ${HOLDER} \\(forced; it would have expired `));
    expect(await store.getLock('orders')).toBeUndefined();
  });

  it('says so when there is no lock', async () => {
    const r = await runCli(['unlock', 'orders'], { deps, now: NOW });
    expect(r).toMatchObject({ code: 0, stdout: 'orders has no lock; nothing changed.\n' });
  });
});
