/**
 * When a region is down (issue 16): the Route 53 API failing every call, and the primary region dark
 * (its APIs and network gone). With `dns.mode: "health-check"` the failover needs no Route 53 API call
 * and, with an attested fence, no call to the primary region: the scenarios check it on the account's
 * call log, and check what clients resolve on the simulated DNS data plane.
 */
import type { FailoverConfig } from '../../../lambdas/core/config';
import { sourceDatabase } from '../../../lambdas/core/config';
import type { Drill } from '../drill';
import { defaultEndpointAddress } from '../sim/rds';
import { clientWritesOf } from '../truth';
import { failedOver, manual, outage, runStarted, type Scenario } from './kit';

/**
 * The drilled config in `dns.mode: "health-check"`: each record's PRIMARY answers what the drill seeds
 * today (the old database's endpoint, the primary's address), its SECONDARY the replica's endpoint or
 * the configured values. One candidate: a failover pair has one SECONDARY.
 */
export function inHealthCheckMode(config: FailoverConfig): FailoverConfig {
  return {
    ...config,
    groups: config.groups.map((g, index) => {
      const source = sourceDatabase(g.replica);
      const replicaEndpoint = defaultEndpointAddress(g.replica.dbInstanceIdentifier, g.replica.region);
      return {
        ...g,
        additionalReplicas: [],
        dns: {
          ...g.dns,
          mode: 'health-check' as const,
          records: g.dns.records.map(({ target, valuesByReplica: _unused, ...r }) => ({
            ...r,
            values: target === 'replicaEndpoint' ? [replicaEndpoint] : r.values,
            // What drill.ts seeds as the records' values before a failover.
            primaryValues: r.type === 'CNAME' ? [defaultEndpointAddress(source.id, source.region)] : r.type === 'A' ? [`192.0.2.${10 + index}`] : [`2001:db8::${10 + index}`],
          })),
        },
      };
    }),
  };
}

const ROUTE53_DOWN = { kind: 'error', error: 'ServiceUnavailable', message: 'Service Unavailable' } as const;

/** Successful calls to the Route 53 API (none is needed in health-check mode). */
function route53Successes(drill: Drill): string[] {
  return drill.account.apiCalls.filter((c) => c.service === 'route53' && !c.error).map((c) => `route53:${c.operation}`);
}

/** Every configured name resolves, on every name server, to what the failover points it at. */
function clientsResolveToNewPrimary(drill: Drill): string[] {
  const group = drill.config.groups[0];
  const replica = drill.account.dbInstance(group.replica.dbInstanceIdentifier, group.replica.region)!;
  return group.dns.records.flatMap((r) => {
    const want = r.type === 'CNAME' && r.primaryValues ? [replica.endpointAddress] : r.values ?? [replica.endpointAddress];
    return drill.account.route53.resolve(r.name, r.type)
      .filter((s) => s.answers.join(',') !== want.join(','))
      .map((s) => `${s.server} answers ${r.type} ${r.name} with ${s.answers.join(',') || '(nothing)'}, not ${want.join(',')}`);
  });
}

/** The clients' cached answers (the old records' TTL) expire, and they reconnect where DNS now points. */
const CLIENTS_SETTLE_MS = 6 * 60_000;

export const REGION_SCENARIOS: Scenario[] = [
  {
    name: 'route53-api-down',
    summary: 'Route 53\'s API answers ServiceUnavailable to every call; DNS is in health-check mode: the failover writes its metric, the health check fails the records over, and the name servers answer the new primary. SUCCEEDED with no successful Route 53 API call.',
    config: inHealthCheckMode,
    run: async (drill) => {
      drill.account.startOutage({ service: 'route53', region: '*', failure: ROUTE53_DOWN });
      await runStarted(drill, await outage(drill, 'down'));
      await drill.advanceTo(drill.account.clock.now() + CLIENTS_SETTLE_MS);
    },
    expect: () => ({
      outcomes: ['SUCCEEDED'],
      ...failedOver,
      check: (drill, history) => [
        ...route53Successes(drill).map((c) => `${c} succeeded although the Route 53 API was down`),
        ...clientsResolveToNewPrimary(drill),
        ...(clientWritesOf(drill, drill.config.groups[0].name).acceptedByNew > 0 ? [] : ['no client reached the promoted database through its name']),
        ...(history[0]?.steps.some((s) => s.step === 'dns' && /name servers/.test(s.result)) ? [] : ['the record does not say the name servers answered the new values']),
      ],
    }),
  },
  {
    name: 'route53-api-down-records',
    summary: 'Route 53\'s API answers ServiceUnavailable to every call; DNS is in records mode: the replica is promoted, then the flip cannot change a record: DNS_FAILED, named and notified, and the names still resolve to the old database.',
    run: async (drill) => {
      drill.account.startOutage({ service: 'route53', region: '*', failure: ROUTE53_DOWN });
      await runStarted(drill, await outage(drill, 'down'));
    },
    expect: () => ({
      outcomes: ['DNS_FAILED'],
      primaryState: 'stopped',
      promoted: true,
      dnsFlipped: false,
      check: (drill, history) => {
        const record = JSON.stringify(history[0] ?? {});
        const notified = drill.account.published.find((m) => /DNS_FAILED/.test(m.subject ?? '') || /DNS_FAILED/.test(m.message));
        return [
          ...route53Successes(drill).map((c) => `${c} succeeded although the Route 53 API was down`),
          ...(record.includes('ServiceUnavailable') && /Route 53/.test(record) ? [] : ['the record does not name the Route 53 error']),
          ...(notified && /ServiceUnavailable|Route 53/.test(notified.message) ? [] : ['no notification names DNS_FAILED and the Route 53 error']),
        ];
      },
    }),
  },
  {
    name: 'primary-region-dark',
    summary: 'The primary region is dark: its EC2, RDS and every other API time out (the Route 53 API, hosted there, with them), its instance and database are down. The operator attests the fence; DNS is in health-check mode: SUCCEEDED with no successful call to the primary region nor to the Route 53 API.',
    config: inHealthCheckMode,
    run: async (drill, group, options) => {
      const topology = drill.topology.get(group.name)!;
      await drill.primaryEndpoints.setMode('down');
      drill.account.rds.fail(topology.sourceDbId);
      drill.account.startRegionOutage(group.primary.region);
      // The Route 53 control plane is in us-east-1 whichever region the primary is in.
      drill.account.startOutage({ service: 'route53', region: '*', failure: { kind: 'network' } });
      await drill.run(manual(group, options, {
        attestation: { by: 'ops-oncall@example.com', reason: `${group.primary.region} is dark (AWS Health event 5678); the instance and its database are unreachable` },
      }));
      await drill.advanceTo(drill.account.clock.now() + CLIENTS_SETTLE_MS);
    },
    expect: () => ({
      outcomes: ['SUCCEEDED'],
      ...failedOver,
      // The instance is in the dark region: the account still holds it as it was.
      primaryState: 'running',
      check: (drill, history) => {
        const dark = drill.config.groups[0].primary.region;
        const reached = drill.account.apiCalls.filter((c) => c.region === dark && !c.error);
        return [
          ...reached.map((c) => `${c.service}:${c.operation} in ${dark} succeeded although the region is dark`),
          ...route53Successes(drill).map((c) => `${c} succeeded although the Route 53 API was down`),
          ...clientsResolveToNewPrimary(drill),
          ...(JSON.stringify(history[0] ?? {}).includes('ops-oncall@example.com') ? [] : ['the record does not name the attestation']),
        ];
      },
    }),
  },
];
