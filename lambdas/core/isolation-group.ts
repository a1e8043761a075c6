/** The name of a group's isolation security group, which the stack makes in the primary's VPC and the fence step looks up. */
export function isolationGroupName(group: string): string {
  return `failover-isolation-${group}`;
}
