/**
 * The vantage function: deployed in a region of its own (`vantages[]` in the config, lib/infra/vantage.ts),
 * invoked by the confirmation step before anything is fenced. It probes the group's primary from there,
 * with the group's own probes and quorum, and says what it saw. It changes nothing and reads no AWS API.
 *
 * The event names the group only; the probes come from the groups baked into this bundle, so an event
 * cannot point the function anywhere else.
 */
import type { ProbeConfig } from '../core/config';
import { InvalidInput } from '../core/errors';
import type { DeployedGroups } from '../core/deployed-group';
import { probeRecords, type VantageAnswer } from '../core/vantage';
import { checkAll, type ProbeResult } from './check-endpoint';
import { judgeRound } from './detect';
import { bakedGroups } from '../runtime/baked-groups';
import { requireEnv } from '../runtime/env';
import { stepHandler } from '../runtime/powertools';

export interface VantageDeps {
  groups(): DeployedGroups;
  now(): number;
  /** This function's region. */
  region: string;
  /** Probe from here: the network as this function sees it. */
  probe(probes: ProbeConfig[]): Promise<ProbeResult[]>;
}

export async function run(event: unknown, deps: VantageDeps): Promise<VantageAnswer> {
  const name = (event as { group?: unknown } | null)?.group;
  if (typeof name !== 'string') throw new InvalidInput(`group: must be a group name, got ${JSON.stringify(name)}`);
  const group = deps.groups()[name];
  if (!group) throw new InvalidInput(`group: ${JSON.stringify(name)} is not a deployed group (deployed: ${Object.keys(deps.groups()).join(', ')})`);
  const at = deps.now();
  const results = await deps.probe(group.probes);
  const verdict = judgeRound(results, group.detection.quorum);
  return {
    region: deps.region,
    group: name,
    at,
    down: group.probes.length > 0 && verdict.failed,
    ...(verdict.void ? { void: verdict.void } : {}),
    reason: verdict.reason,
    results: probeRecords(results),
  };
}

export const handler = stepHandler('confirm-vantage', (event: unknown) =>
  run(event, { groups: bakedGroups, now: Date.now, region: requireEnv('AWS_REGION'), probe: checkAll }),
);
