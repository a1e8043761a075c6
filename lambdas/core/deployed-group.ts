/**
 * The deployed config of the group an execution acts on.
 *
 * Every step takes what it acts on (instance ids, regions, replicas, the source database, the zone,
 * record names, TTLs and values, timeouts) from the groups deployed with its own function, found by the
 * group's name; from its event it takes only decisions and observations (which replica was chosen, what
 * the fences found, when things happened). Anyone who may invoke a step's function can forge its event;
 * only a deployment changes what is baked into the function (lib/infra/workflow.ts).
 *
 * The Plan records the digest of the group's config it planned with, and each step checks it against
 * its own: a deployment that changed the group during an execution stops the execution (ConfigMismatch)
 * instead of mixing two configs in one failover.
 *
 *   const group = deployedGroup(deps.groups(), state.plan); // InvalidInput for a group not deployed
 *   groupDigest(group) // '3f1c0d9a6b2e47a1': sha256 of its canonical JSON, 16 hex digits
 */
import { createHash } from 'node:crypto';
import type { GroupConfig } from './config';
import { ConfigMismatch, InvalidInput } from './errors';
import type { Plan } from './workflow-state';

/** The deployed groups by name, as each function has them. */
export type DeployedGroups = Readonly<Record<string, GroupConfig>>;

/** The groups by name. */
export function groupsByName(groups: readonly GroupConfig[]): Record<string, GroupConfig> {
  return Object.fromEntries(groups.map((g) => [g.name, g]));
}

/** JSON with every object's keys sorted: the same config always gives the same text. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * Which version of a group's config this is: the first 16 hex digits of the SHA-256 of its canonical
 * JSON. It tells configs apart (a deployment from a config file, the definition from a function's
 * bundle); it is no secret and protects nothing by itself.
 */
export function groupDigest(group: GroupConfig): string {
  return createHash('sha256').update(canonicalJson(group)).digest('hex').slice(0, 16);
}

/** Every group's digest, by name: what the definition carries in place of the configs. */
export function groupDigests(groups: readonly GroupConfig[]): Record<string, string> {
  return Object.fromEntries(groups.map((g) => [g.name, groupDigest(g)]));
}

/** The deployed group named `name`; InvalidInput, listing the deployed ones, when there is none. */
export function deployedGroupNamed(groups: DeployedGroups, name: unknown): GroupConfig {
  const group = typeof name === 'string' && Object.hasOwn(groups, name) ? groups[name] : undefined;
  if (!group) {
    throw new InvalidInput(`group: unknown group ${JSON.stringify(name)}; known groups: ${Object.keys(groups).sort().join(', ')}`);
  }
  return group;
}

/**
 * The deployed config of the plan's group, checked to be the one the execution was planned with. A plan
 * without a digest (planned by an earlier version, which carried the whole config) is not checked.
 */
export function deployedGroup(groups: DeployedGroups, plan: Pick<Plan, 'group'>): GroupConfig {
  const group = deployedGroupNamed(groups, plan.group?.name);
  const planned = plan.group.digest;
  if (planned !== undefined) {
    const deployed = groupDigest(group);
    if (deployed !== planned) {
      throw new ConfigMismatch(
        `the deployed config of ${group.name} changed during this execution (planned with ${planned}, this function has ${deployed}): ` +
          'a deployment ran meanwhile; not acting on a config the execution was not planned with. Start a new execution',
      );
    }
  }
  return group;
}
