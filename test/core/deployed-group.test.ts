/**
 * The deployed config of an execution's group (lambdas/core/deployed-group.ts): found by name in the
 * groups a function was deployed with, held to the digest the execution was planned with, never read
 * from the event.
 */
import { describe, expect, it } from 'vitest';
import { deployedGroup, deployedGroupNamed, groupDigest, groupDigests, groupsByName } from '../../lambdas/core/deployed-group';
import { ordersGroup } from '../support/fixtures';

const group = ordersGroup();
const deployed = groupsByName([group]);

describe('groupDigest', () => {
  it('is 16 hex digits, the same for the same config whatever its key order, and differs for any change', () => {
    const reordered = Object.fromEntries(Object.entries(group).reverse()) as typeof group;
    const changed = ordersGroup({ dns: { records: [{ name: 'db.orders.example.com', type: 'CNAME', ttl: 31, target: 'replicaEndpoint' }] } });

    expect(groupDigest(group)).toMatch(/^[0-9a-f]{16}$/);
    expect(groupDigest(reordered)).toBe(groupDigest(group));
    expect(groupDigest(changed)).not.toBe(groupDigest(group));
    expect(groupDigests([group, { ...group, name: 'billing' }])).toEqual({ orders: groupDigest(group), billing: groupDigest({ ...group, name: 'billing' }) });
  });
});

describe('deployedGroup', () => {
  it('is the deployed config of the named group, whatever else the plan carries', () => {
    const forged = { name: 'orders', primary: { instanceId: 'i-0ffffffffffffffff', region: 'eu-west-1' } };

    expect(deployedGroup(deployed, { group: { name: 'orders', digest: groupDigest(group) } })).toBe(group);
    // A plan of an earlier version carried the whole config and no digest: only its name is read.
    expect(deployedGroup(deployed, { group: forged as never })).toBe(group);
  });

  it.each<[string, { name?: string }, string]>([
    ['a group that is not deployed', { name: 'payments' }, 'group: unknown group "payments"; known groups: orders'],
    ['an inherited property', { name: 'constructor' }, 'group: unknown group "constructor"; known groups: orders'],
    ['no name', {}, 'group: unknown group undefined; known groups: orders'],
  ])('refuses %s with InvalidInput', (_, planGroup, message) => {
    expect(() => deployedGroup(deployed, { group: planGroup as never })).toThrow(expect.objectContaining({ name: 'InvalidInput', message }));
    expect(() => deployedGroupNamed(deployed, planGroup.name)).toThrow(message);
  });

  it('refuses a plan made with another version of the group (a deployment during the execution) with ConfigMismatch', () => {
    const planned = groupDigest(ordersGroup({ primary: { additionalInstanceIds: ['i-0c0c0c0c0c0c0c0c0'] } }));

    expect(() => deployedGroup(deployed, { group: { name: 'orders', digest: planned } })).toThrow(
      expect.objectContaining({
        name: 'ConfigMismatch',
        message:
          `the deployed config of orders changed during this execution (planned with ${planned}, this function has ${groupDigest(group)}): ` +
          'a deployment ran meanwhile; not acting on a config the execution was not planned with. Start a new execution',
      }),
    );
  });
});
