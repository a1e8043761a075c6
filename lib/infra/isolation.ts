/**
 * The isolation security groups for network fencing (`fence.onUnconfirmed: "isolate"`): one per group,
 * in the primary's VPC, with no inbound rule and an outbound rule that matches nothing, so an interface
 * in it can neither receive nor send. They live in one small stack per primary region, since a
 * CloudFormation stack cannot make resources in another region; the fence step finds its group by name.
 */
import { Stack, type StackProps } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type { Construct } from 'constructs';
import { isolationGroupName } from '../../lambdas/core/isolation-group';
import type { GroupConfig } from '../../lambdas/core/config';

export interface IsolationStackProps extends StackProps {
  /** The groups whose primaries are in this stack's region and fence by isolation. */
  readonly groups: GroupConfig[];
}

export class IsolationStack extends Stack {
  public readonly securityGroups: Record<string, ec2.CfnSecurityGroup> = {};

  constructor(scope: Construct, id: string, props: IsolationStackProps) {
    super(scope, id, { description: 'failover-controller: deny-all security groups for fencing a primary by isolation', ...props });
    for (const group of props.groups) {
      this.securityGroups[group.name] = new ec2.CfnSecurityGroup(this, `Isolation-${group.name}`, {
        groupName: isolationGroupName(group.name),
        groupDescription: `failover-controller: isolates the primary of ${group.name} (no traffic in or out)`,
        vpcId: group.primary.vpcId!,
        // No ingress rule; and one egress rule that matches no packet, which replaces the default allow-all.
        securityGroupEgress: [{ ipProtocol: 'icmp', fromPort: 252, toPort: 86, cidrIp: '255.255.255.255/32', description: 'Disallow all traffic' }],
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
