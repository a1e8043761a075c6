/**
 * A group as the store and Step Functions see it now: its stored state (ARMED when nothing is stored),
 * its lock, and whether that lock belongs to an execution that is still running.
 */
import { DescribeExecutionCommand } from '@aws-sdk/client-sfn';
import type { GroupState, GroupStatus, LockItem } from '../../lambdas/core/store';
import { RefusedError } from './args';
import type { Deployment } from './deployment';
import type { Context } from './io';

export interface GroupView {
  state: GroupState | undefined;
  /** The stored status; ARMED when the group has no state item yet (the workflow's default). */
  stored: GroupStatus;
  /** IN_PROGRESS while a live execution holds the lock; otherwise the stored status. */
  status: GroupStatus | 'IN_PROGRESS';
  lock: LockItem | undefined;
  /** The lock is held by an execution that may still be running. */
  lockLive: boolean;
  /** What Step Functions says about the lock holder, when it could be asked. */
  holder: { status: string; stoppedAt: number | null } | null;
}

/**
 * Read the lock first, then the state. The workflow writes FAILED_OVER before it releases the lock,
 * so a free lock read before an ARMED state means no failover can complete before a write that
 * follows: a pause or resume cannot overwrite a FAILED_OVER it never saw.
 */
export async function readGroup(ctx: Context, deployment: Deployment, group: string): Promise<GroupView> {
  const lock = await deployment.store.getLock(group);
  const state = await deployment.store.getGroupState(group);
  const now = ctx.deps.now();
  let lockLive = lock !== undefined && lock.expiresAt >= now;
  let holder: GroupView['holder'] = null;
  if (lock && lockLive && /^arn:aws[\w-]*:states:/.test(lock.holder)) {
    // An execution stopped from the console (or one whose record failed) leaves its lock until it expires.
    try {
      const described = await deployment.sfn(lock.holder).send(new DescribeExecutionCommand({ executionArn: lock.holder }));
      holder = { status: described.status ?? 'UNKNOWN', stoppedAt: described.stopDate ? described.stopDate.getTime() : null };
      if (holder.status !== 'RUNNING') lockLive = false;
    } catch {
      // Not allowed to ask, or the execution is gone: trust the lock's expiry.
    }
  }
  const stored = state?.status ?? 'ARMED';
  return { state, stored, status: lockLive ? 'IN_PROGRESS' : stored, lock, lockLive, holder };
}

/** Changing the group's state while an execution holds its lock would race with that execution's record. */
export function refuseWhileInProgress(view: GroupView, group: string, command: string, force: boolean): void {
  if (!view.lockLive || force) return;
  throw new RefusedError(
    `a failover of ${group} is in progress (${view.lock!.holder}); ${command} would race with its record: wait until it ends (failoverctl status ${group}), or pass --force`,
  );
}
