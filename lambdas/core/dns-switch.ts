/**
 * The data-plane DNS switch of `dns.mode: "health-check"`, shared by the stack (lib/infra/health-check-dns.ts)
 * and the flip step: the metric the controller writes, the alarm on it, and the health check that
 * follows the alarm. One metric, alarm and health check per group; one failover record pair per record.
 *
 * The metric is 0 or absent while the primary serves and 1 once the group has failed over. The alarm
 * treats missing data as `ignore` (the state is kept), so one datapoint latches it, and the health
 * check maps INSUFFICIENT_DATA to its last known status: missing data never moves DNS either way.
 */
export const DNS_SWITCH_NAMESPACE = 'FailoverController';
export const DNS_SWITCH_METRIC = 'DnsFailedOver';
export const DNS_SWITCH_DIMENSION = 'Group';

/** The alarm's name: unique per stack and group, readable in the console and in the record. */
export function dnsSwitchAlarmName(stackName: string, group: string): string {
  return `${stackName}-${group}-dns-failed-over`;
}

/** The PRIMARY and SECONDARY records' SetIdentifier. */
export function failoverSetIdentifier(group: string, role: 'PRIMARY' | 'SECONDARY'): string {
  return `${group}-${role === 'PRIMARY' ? 'primary' : 'secondary'}`;
}

/** What one authoritative name server answered (or the error that kept it from answering). */
export interface AuthoritativeAnswer { server: string; answers: string[]; error?: string }

/**
 * The DNS data plane: the zone's authoritative name servers, asked directly. No Route 53 API call:
 * the name servers keep answering when the API (hosted in us-east-1) does not.
 */
export interface DnsDataPlane {
  query(zoneName: string, name: string, type: 'A' | 'AAAA' | 'CNAME'): Promise<AuthoritativeAnswer[]>;
}
