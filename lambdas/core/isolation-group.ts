/** The name of a group's isolation security group, which the stack makes in the primary's VPC and the fence step looks up. */
export function isolationGroupName(group: string): string {
  return `failover-isolation-${group}`;
}

/**
 * The name of a group's database fence security group (no rules at all: nothing in, nothing out), which
 * the stack makes in the source database's VPC and the database fence looks up.
 */
export function databaseFenceGroupName(group: string): string {
  return `failover-dbfence-${group}`;
}
