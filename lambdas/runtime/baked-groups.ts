/**
 * The deployed groups as a step function has them: baked into its bundle at synth, through an esbuild
 * inject file that exports FAILOVER_GROUPS (lib/infra/workflow.ts, stepFunctionBake). Nothing in the
 * environment, nothing read at run time, nothing an event can change.
 */
import type { DeployedGroups } from '../core/deployed-group';

// Replaced by the bundler with the inject file's export; undeclared outside a bundle (the drill and the
// tests pass their own groups and never call this).
declare const FAILOVER_GROUPS: DeployedGroups | undefined;

export function bakedGroups(): DeployedGroups {
  if (typeof FAILOVER_GROUPS === 'undefined') {
    throw new Error('FAILOVER_GROUPS: no deployed groups were baked into this bundle (see lib/infra/workflow.ts)');
  }
  return FAILOVER_GROUPS;
}
