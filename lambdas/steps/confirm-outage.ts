/**
 * Step 2b: a second opinion. For probe and alarm triggers the workflow probes the primary once more,
 * from this separate invocation, before fencing anything. If the primary answers (the group's quorum
 * of probes passes), the execution ends ABORTED as a false alarm and nothing is changed.
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
    return { startedAt, endedAt: deps.now(), confirmed: true, reason: `no probes configured for ${group.name}: nothing to confirm against` };
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
