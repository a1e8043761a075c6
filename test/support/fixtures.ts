/**
 * The step tests' shared fixtures: the example group `orders` (EC2 primary in us-east-1, RDS replica in
 * us-west-2, one CNAME in example.com), a Plan for it, the deployed groups a step gets (`deployed`),
 * and the states a failover passes through, all around one clock, T0, and `failure()` for a step
 * expected to reject. A test that needs another value passes it as an override, in the test file.
 */
import { parseConfig, type GroupConfig } from '../../lambdas/core/config';
import { groupDigest, groupsByName, type DeployedGroups } from '../../lambdas/core/deployed-group';
import type { DnsChange, Plan, WorkflowState } from '../../lambdas/core/workflow-state';

/** 2026-03-01T12:00:00.000Z, the step tests' "now". */
export const T0 = Date.parse('2026-03-01T12:00:00.000Z');
/** `s` seconds after T0 (before it, when negative), in epoch ms. */
export const at = (s: number) => T0 + s * 1000;

export const INSTANCE = 'i-0a1b2c3d4e5f60718';
export const REPLICA = 'orders-replica';
/** The replica's source, the old database, in the primary's region, and its VPC. */
export const SOURCE_DB = 'orders-primary';
export const SOURCE_ARN = `arn:aws:rds:us-east-1:123456789012:db:${SOURCE_DB}`;
export const SOURCE_VPC = 'vpc-0db0000000000000a';
export const ZONE = 'Z0EXAMPLE1234567890AB';
/** The replica's endpoint, which is the new primary's after the promotion. */
export const PROMOTED = 'orders-replica.c9akciq32.us-west-2.rds.amazonaws.com';
/** What the DNS records pointed at before the failover. */
export const OLD_PRIMARY = 'ec2-198-51-100-10.compute-1.amazonaws.com';
export const CHANGE_ID = '/change/C2682N5HXP0BZ4';

/** An execution of the failover workflow, by name. */
export const executionArn = (name: string) => `arn:aws:states:us-east-1:123456789012:execution:FailoverWorkflow:${name}`;
/** The execution a probe started (see `probePlanFor`). */
export const PROBE_EXECUTION = executionArn('orders-probe-1');

export interface GroupOverrides {
  primary?: Record<string, unknown>;
  replica?: Record<string, unknown>;
  dns?: Record<string, unknown>;
}

/** The group `orders` as written in a config file; overrides are merged into primary, replica and dns. */
export function ordersInput(overrides: GroupOverrides = {}) {
  return {
    name: 'orders',
    primary: { instanceId: INSTANCE, region: 'us-east-1', ...overrides.primary },
    replica: { dbInstanceIdentifier: REPLICA, region: 'us-west-2', source: SOURCE_ARN, sourceVpcId: SOURCE_VPC, ...overrides.replica },
    dns: {
      hostedZoneId: ZONE,
      zoneName: 'example.com',
      records: [{ name: 'db.orders.example.com', type: 'CNAME', target: 'replicaEndpoint' }],
      ...overrides.dns,
    },
  };
}

/** The group `orders`, validated and with its defaults, as the steps get it. */
export function ordersGroup(overrides: GroupOverrides = {}): GroupConfig {
  return parseConfig({ groups: [ordersInput(overrides)] }).groups[0];
}

/** The deployed groups, as a step's deps give them: `{ groups }` to spread into a test's deps. */
export function deployed(...groups: GroupConfig[]): { groups: () => DeployedGroups } {
  const byName = groupsByName(groups);
  return { groups: () => byName };
}

/**
 * A plan for `group` (its name and digest: the step finds its config in its deps, see `deployed`):
 * execution `orders-1` (or the name ending `overrides.executionArn`), a failover triggered by a probe for
 * 'primary down', not a dry run, not forced, started and triggered at T0.
 */
export function planFor(group: GroupConfig, overrides: Partial<Plan> = {}): Plan {
  const arn = overrides.executionArn ?? executionArn('orders-1');
  return {
    executionArn: arn,
    executionName: arn.split(':').pop()!,
    group: { name: group.name, digest: groupDigest(group) },
    reason: 'primary down',
    trigger: { type: 'probe' },
    mode: 'failover',
    dryRun: false,
    force: false,
    startedAt: T0,
    triggeredAt: T0,
    ...overrides,
  };
}

/** A plan as the probe starts it: PROBE_EXECUTION, after 3 failed probe rounds, triggered at(-10), started at T0. */
export function probePlanFor(group: GroupConfig, overrides: Partial<Plan> = {}): Plan {
  return planFor(group, {
    executionArn: PROBE_EXECUTION,
    reason: '3 consecutive failed probe rounds',
    trigger: { type: 'probe', at: new Date(at(-10)).toISOString() },
    triggeredAt: at(-10),
    ...overrides,
  });
}

/**
 * A failover of `plan` that went through, with every step's timing: lock at(0), assess at(1) (replica lag
 * `lagSeconds`), fence at(2)..at(8), promote at(9)..at(30), DNS at(31)..at(37.5) with `dnsChanges`.
 */
export function succeededState(plan: Plan, options: { lagSeconds: number; dnsChanges: DnsChange[] }): WorkflowState {
  const { lagSeconds, dnsChanges } = options;
  return {
    plan,
    lock: { startedAt: at(0), endedAt: at(0.2), acquired: true, holder: plan.executionArn, expiresAt: at(3900), reason: 'took the lock of orders until 2026-03-01T13:05:00.000Z' },
    assess: { startedAt: at(1), endedAt: at(1.5), decision: 'proceed', reason: `replica orders-replica is available, lag ${lagSeconds} s within 30 s`, lagSeconds },
    fence: { startedAt: at(2), endedAt: at(8), instanceId: INSTANCE, confirmed: true, state: 'stopped', method: 'force-stop', dryRun: false, reason: `${INSTANCE} confirmed stopped`, polls: 2 },
    promote: {
      startedAt: at(9),
      endedAt: at(30),
      dbInstanceIdentifier: REPLICA,
      confirmed: true,
      status: 'available',
      endpointAddress: PROMOTED,
      alreadyPromoted: false,
      dryRun: false,
      reason: 'orders-replica promoted: available, no longer a replica',
      polls: 4,
    },
    dns: {
      startedAt: at(31),
      endedAt: at(37.5),
      changes: dnsChanges,
      changeId: CHANGE_ID,
      status: 'INSYNC',
      confirmed: true,
      dryRun: false,
      reason: `${dnsChanges.length} record(s) INSYNC`,
      polls: 2,
    },
    outcome: 'SUCCEEDED',
  };
}

/** The error a step's promise rejects with; fails the test if it resolves. */
export async function failure(p: Promise<unknown>): Promise<Error> {
  return p.then(
    () => {
      throw new Error('expected the step to fail');
    },
    (err: unknown) => err as Error,
  );
}
