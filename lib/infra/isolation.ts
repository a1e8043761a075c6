/**
 * The deny-all security groups the fences use, made in one small stack per region (a CloudFormation
 * stack cannot make resources in another region); the fence steps find them by name.
 *
 * - For every group, the database fence group `failover-dbfence-<group>` in the source database's VPC
 *   (`replica.sourceVpcId`, in the source's region): the fence puts the old database behind it alone.
 * - For groups with `fence.onUnconfirmed: "isolate"`, the isolation group `failover-isolation-<group>`
 *   in the primary's VPC.
 * Both have no inbound rule and one outbound rule that matches nothing (replacing the default allow-all),
 * so an interface in them can neither receive nor send.
 */
import { Stack, type StackProps } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type { Construct } from 'constructs';
import { databaseFenceGroupName, isolationGroupName } from '../../lambdas/core/isolation-group';
import { sourceDatabase, type GroupConfig } from '../../lambdas/core/config';

export interface IsolationStackProps extends StackProps {
  /** The groups whose primaries are in this stack's region and fence by isolation. */
  readonly groups: GroupConfig[];
  /**
   * The groups whose source databases are in this stack's region.
   * @default - none
   */
  readonly databases?: GroupConfig[];
}

/**
 * The tag on each isolation group, whose value is the failover group's name: the fence's role may put an
 * interface only into a security group that carries it (workflow.ts). Whoever may tag security groups in
 * the primary's VPC could widen that; the fence itself only ever names the group it finds by name.
 */
export const ISOLATION_GROUP_TAG = 'failover-controller:isolates';

// One egress rule that matches no packet, which replaces the default allow-all.
const NO_EGRESS = [{ ipProtocol: 'icmp', fromPort: 252, toPort: 86, cidrIp: '255.255.255.255/32', description: 'Disallow all traffic' }];

export class IsolationStack extends Stack {
  public readonly securityGroups: Record<string, ec2.CfnSecurityGroup> = {};
  /** The database fence groups, by failover group name. */
  public readonly databaseFenceGroups: Record<string, ec2.CfnSecurityGroup> = {};

  constructor(scope: Construct, id: string, props: IsolationStackProps) {
    super(scope, id, { description: 'failover-controller: deny-all security groups for fencing the writers (old databases, and primaries fenced by isolation)', ...props });
    for (const group of props.groups) {
      this.securityGroups[group.name] = new ec2.CfnSecurityGroup(this, `Isolation-${group.name}`, {
        groupName: isolationGroupName(group.name),
        groupDescription: `failover-controller: isolates the primary of ${group.name} (no traffic in or out)`,
        vpcId: group.primary.vpcId!,
        securityGroupEgress: NO_EGRESS,
        tags: [{ key: ISOLATION_GROUP_TAG, value: group.name }],
      });
    }
    for (const group of props.databases ?? []) {
      this.databaseFenceGroups[group.name] = new ec2.CfnSecurityGroup(this, `DatabaseFence-${group.name}`, {
        groupName: databaseFenceGroupName(group.name),
        groupDescription: `failover-controller: fences the old database of ${group.name} (no traffic in or out)`,
        vpcId: group.replica.sourceVpcId,
        securityGroupEgress: NO_EGRESS,
      });
    }
  }
}

/** The groups that fence by isolation, by their primary's region. */
export function isolatedGroupsByRegion(groups: GroupConfig[]): Map<string, GroupConfig[]> {
  const byRegion = new Map<string, GroupConfig[]>();
  for (const g of groups.filter((x) => x.fence.onUnconfirmed === 'isolate')) {
    byRegion.set(g.primary.region, [...(byRegion.get(g.primary.region) ?? []), g]);
  }
  return byRegion;
}

/** Every group, by its source database's region (where its database fence group lives). */
export function databasesByRegion(groups: GroupConfig[]): Map<string, GroupConfig[]> {
  const byRegion = new Map<string, GroupConfig[]>();
  for (const g of groups) {
    const { region } = sourceDatabase(g.replica);
    byRegion.set(region, [...(byRegion.get(region) ?? []), g]);
  }
  return byRegion;
}

/** Security groups per isolation stack, well under CloudFormation's 500 resources per stack. */
export const SECURITY_GROUPS_PER_STACK = 400;

/**
 * One region's database fence groups and isolation groups, split into stacks of at most
 * SECURITY_GROUPS_PER_STACK security groups, in config order (database fences first).
 */
export function isolationShards(databases: GroupConfig[], isolated: GroupConfig[]): Array<{ databases: GroupConfig[]; groups: GroupConfig[] }> {
  const items = [...databases.map((g) => ({ g, kind: 'database' as const })), ...isolated.map((g) => ({ g, kind: 'isolation' as const }))];
  const shards: Array<{ databases: GroupConfig[]; groups: GroupConfig[] }> = [];
  for (let i = 0; i < items.length; i += SECURITY_GROUPS_PER_STACK) {
    const part = items.slice(i, i + SECURITY_GROUPS_PER_STACK);
    shards.push({ databases: part.filter((x) => x.kind === 'database').map((x) => x.g), groups: part.filter((x) => x.kind === 'isolation').map((x) => x.g) });
  }
  return shards;
}
