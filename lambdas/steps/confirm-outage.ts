/**
 * Step 2b: a second opinion. For probe and alarm triggers the workflow probes the primary once more,
 * from this separate invocation, before fencing anything. If the primary answers (the group's quorum
 * of probes passes), the execution ends ABORTED as a false alarm and nothing is changed.
 *
 * A group without probes has nothing to confirm against: it fails over only if its config says so
 * (`confirmation: "none"`, the documented opt-out for alarm-only groups); otherwise the trigger is not
 * confirmed and nothing is changed.
 */
import { checkAll } from '../probe/check-endpoint';
import { judgeRound } from '../probe/detect';
import { deployedGroup } from '../core/deployed-group';
import { bakedGroups } from '../runtime/baked-groups';
import type { StepDeps } from '../runtime/deps';
import { stepHandler } from '../runtime/powertools';
import type { ConfirmResult, WorkflowState } from '../core/workflow-state';

export async function run(state: WorkflowState, deps: Pick<StepDeps, 'now' | 'groups'>): Promise<ConfirmResult> {
  // The deployed group's probes: an event cannot point them anywhere else.
  const group = deployedGroup(deps.groups(), state.plan);
  const startedAt = deps.now();
  if (group.probes.length === 0) {
    return group.confirmation === 'none'
      ? { startedAt, endedAt: deps.now(), confirmed: true, reason: `not confirmed by any probe: ${group.name} has no probes and its config says confirmation "none", so the trigger alone starts the failover` }
      : {
          startedAt,
          endedAt: deps.now(),
          confirmed: false,
          reason: `not failing over: ${group.name} has no probes to confirm the outage against, and its config does not opt out with confirmation "none"`,
        };
  }
  const results = await checkAll(group.probes);
  const verdict = judgeRound(results, group.detection.quorum);
  return {
    startedAt,
    endedAt: deps.now(),
    confirmed: verdict.failed,
    reason: verdict.failed ? `outage confirmed: ${verdict.reason}` : `false alarm: the primary answered the confirmation probes (${verdict.reason})`,
    results: results.map(({ probe, ok, error }) => ({ probe, ok, ...(error ? { error } : {}) })),
  };
}

export const handler = stepHandler('confirm-outage', (state: WorkflowState) => run(state, { now: Date.now, groups: bakedGroups }));
