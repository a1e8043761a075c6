/**
 * Run a scenario and report what happened: the resources' final state as the simulated account holds
 * it, the history items as the store holds them, the timeline, every changing AWS call, and whether the
 * controller behaved as the scenario expects.
 */
import type { HistoryItem } from '../../lambdas/core/history';
import type { FailoverConfig } from '../../lambdas/core/config';
import { Drill } from './drill';
import { recordValuesFor } from '../../lambdas/core/candidates';
import { checkInvariants } from './invariants';
import { actualLossSeconds, clientWritesOf, databasesOf, writersOf, type ClientWrites } from './truth';
import { findScenario, type ReadinessExpectation, type ScenarioOptions } from './scenarios';
import type { ReadinessReport } from '../../lambdas/readiness/evaluate';
import { formatReadiness } from '../cli/check';
import { styleFor } from '../cli/format';

const PLAIN = styleFor(false);

export interface DrillReport {
  scenario: string;
  summary: string;
  expected: string;
  passed: boolean;
  /** Why it did not pass: one sentence per failed check. */
  failures: string[];
  executions: Array<{ name: string; trigger: string | null; outcome: string | null; error: string | null }>;
  /** Replicas whose promotion began, from the account (not from what the store managed to record). */
  failovers: number;
  /** Every writer of the group, as the account holds it at the end; `method` is what the record says. */
  writers: Array<{ kind: 'ec2' | 'rds'; id: string; region: string; state: string; fenced: boolean; method: string | null }>;
  /** The old database and the replica: would each take a write from a client now? */
  databases: Array<{ id: string; region: string; acceptsWrites: boolean }>;
  /** What the group's clients tried, and where it landed. */
  clientWrites: ClientWrites;
  /** Every candidate replica, and what the record says of it. */
  replicas: Array<{ id: string; region: string; engine: string; chosen: boolean; reason: string | null }>;
  /** Both null when nothing was promoted; `actualSeconds` from the simulated writes. */
  dataLoss: { estimatedSeconds: number | null; actualSeconds: number | null };
  primary: { instanceId: string; state: string };
  replica: { id: string; promoted: boolean; status: string; endpoint: string | null };
  dns: Array<{ name: string; type: string; ttl: number; before: string[]; after: string[] }>;
  /** The group's dns.mode. */
  dnsMode: 'records' | 'health-check';
  /**
   * What a client resolving each configured name gets at the end, from the simulated DNS data plane:
   * `answers` is what most of the zone's authoritative name servers answer, `servers` each one's answer,
   * `at` simulated seconds since the drill began.
   */
  resolution: Array<{ name: string; type: string; answers: string[]; ttl: number | null; at: number; servers: Array<{ server: string; answers: string[] }> }>;
  history: HistoryItem[];
  /** Simulated seconds since the drill began. */
  timeline: Array<{ execution: string; step: string; startedAt: number; endedAt: number | null; result: string }>;
  apiCalls: Array<{ service: string; operation: string; at: number; dryRun: boolean; error?: string }>;
  notifications: Array<{ at: number; subject: string }>;
  /** From the outage's start (the endpoints stopped answering) to the workflow's start; null without both. */
  detectionSeconds: number | null;
  rtoSeconds: number | null;
  dataLossSeconds: number | null;
  controllerOverheadMs: number;
  /** A readiness scenario's evaluation, as `failoverctl check --json` prints it; null for the others. */
  readiness: ReadinessReport | null;
}

export async function runScenario(config: FailoverConfig, name: string, options: ScenarioOptions = {}): Promise<DrillReport> {
  const scenario = findScenario(name);
  const drill = await Drill.create(scenario.config ? scenario.config(config) : config);
  const group = drill.config.groups[0];
  try {
    await scenario.run(drill, group, options);
    const readiness = scenario.readiness ? (await drill.evaluateReadiness()).report : null;
    const { account, store } = drill;
    const seconds = (ms: number) => drill.secondsSinceStart(ms);
    const history = (await store.listHistory({ group: group.name, limit: 100 })).reverse();
    const byArn = new Map(history.map((h) => [h.executionArn, h]));
    const executions = drill.executions.map((e) => ({
      name: e.executionName,
      trigger: ((e.input as any)?.trigger?.type as string) ?? null,
      outcome: byArn.get(e.executionArn)?.outcome ?? null,
      error: e.error ?? null,
    }));

    // "The replica" is the candidate whose promotion began, else the first one.
    const candidateDbs = drill.candidates(group.name).map((c) => account.dbInstance(c.dbInstanceIdentifier, c.region)!);
    const replicaDb = drill.promotedCandidate(group.name) ?? candidateDbs[0];
    const promoted = replicaDb.status === 'available' && !replicaDb.replicaOf;
    const topology = drill.topology.get(group.name)!;
    // What a client resolving each configured name gets now: the zone's name servers, from the records'
    // data and the health checks' status as each server has it.
    const resolution = group.dns.records.map((r) => {
      const servers = account.route53.resolve(r.name, r.type);
      return { name: r.name, type: r.type, answers: mostCommon(servers.map((x) => x.answers)), ttl: servers[0]?.ttl ?? null, at: seconds(account.clock.now()), servers };
    });
    const dns = group.dns.records.map((r, i) => {
      const before = topology.recordsBefore.get(`${r.name} ${r.type}`) ?? [];
      // Health-check mode never changes a record: what "after" means is what the name servers answer.
      if (group.dns.mode === 'health-check') return { name: r.name, type: r.type, ttl: resolution[i].ttl ?? 0, before, after: resolution[i].answers };
      const now = account.record(group.dns.hostedZoneId, r.name, r.type);
      return { name: r.name, type: r.type, ttl: now?.ttl ?? 0, before, after: now?.values ?? [] };
    });
    const failover = history.find((h) => h.promotion?.confirmed && !h.dryRun);
    const report: DrillReport = {
      scenario: scenario.name,
      summary: scenario.summary,
      expected: '',
      passed: false,
      failures: [],
      executions,
      failovers: candidateDbs.filter((r) => r.promotionStartedAt !== undefined).length,
      writers: writersWithMethods(drill, group.name, failover ?? history[0]),
      databases: databasesOf(drill, group.name),
      clientWrites: clientWritesOf(drill, group.name),
      replicas: candidateDbs.map((d) => {
        const recorded = (failover ?? history[0])?.replicas?.find((r) => r.id === d.id);
        return { id: d.id, region: d.region, engine: d.engine, chosen: recorded?.chosen ?? false, reason: recorded?.reason ?? null };
      }),
      dataLoss: {
        estimatedSeconds: replicaDb.promotionStartedAt !== undefined ? (failover ?? history[0])?.dataLossSeconds ?? null : null,
        actualSeconds: actualLossSeconds(drill, group.name),
      },
      primary: { instanceId: group.primary.instanceId, state: account.instance(group.primary.instanceId)?.state ?? 'gone' },
      replica: { id: replicaDb.id, promoted, status: replicaDb.status, endpoint: replicaDb.endpointAddress },
      dns,
      dnsMode: group.dns.mode,
      resolution,
      history,
      timeline: history.flatMap((h) => [
        ...h.steps.map((s) => ({
          execution: h.executionName,
          step: s.step,
          startedAt: seconds(Date.parse(s.startedAt)),
          endedAt: s.endedAt ? seconds(Date.parse(s.endedAt)) : null,
          result: s.result,
        })),
        { execution: h.executionName, step: 'record', startedAt: seconds(Date.parse(h.endedAt)), endedAt: seconds(Date.parse(h.endedAt)), result: h.summary },
      ]),
      // The controller's own queue of probe rounds changes nothing of the estate (like its table, which is not an account call here).
      apiCalls: account.apiCalls
        .filter((c) => c.mutating && c.service !== 'sqs')
        .map((c) => ({ service: c.service, operation: c.operation, at: seconds(c.at), dryRun: c.dryRun, ...(c.error ? { error: c.error } : {}) })),
      notifications: account.published.map((m) => ({ at: seconds(m.at), subject: m.subject ?? '' })),
      detectionSeconds:
        drill.outageStartedAt !== undefined && account.startedExecutions.length > 0
          ? Math.round((account.startedExecutions[0].at - drill.outageStartedAt) / 100) / 10
          : null,
      rtoSeconds: failover?.rtoSeconds ?? null,
      dataLossSeconds: replicaDb.promotionStartedAt !== undefined ? (failover ?? history[0])?.dataLossSeconds ?? null : null,
      controllerOverheadMs: Math.round(drill.executions.reduce((sum, e) => sum + e.wallMs, 0)),
      readiness,
    };

    const expectation = scenario.expect(options);
    report.expected = describeExpectation(expectation);
    const failures: string[] = [];
    // Concurrent executions finish in any order: compare the outcomes as a set with counts.
    const observed = executions.map((e) => e.outcome ?? e.error ?? 'none').sort();
    if (JSON.stringify(observed) !== JSON.stringify([...expectation.outcomes].sort())) {
      failures.push(`outcomes ${observed.join(', ')}, expected ${expectation.outcomes.join(', ')}`);
    }
    if (report.primary.state !== expectation.primaryState) failures.push(`primary is ${report.primary.state}, expected ${expectation.primaryState}`);
    if (promoted !== expectation.promoted) failures.push(`replica ${promoted ? 'was' : 'was not'} promoted`);
    for (const record of dns) {
      const planned = group.dns.records.find((r) => r.name === record.name && r.type === record.type)!;
      const target = recordValuesFor(planned, replicaDb.id) ?? [replicaDb.endpointAddress];
      const flipped = same(record.after, target) && record.ttl === planned.ttl;
      const unchanged = same(record.after, record.before);
      if (expectation.dnsFlipped && !flipped) failures.push(`${record.type} ${record.name} is ${record.after.join(',')}, expected ${target.join(',')} TTL ${planned.ttl}`);
      if (!expectation.dnsFlipped && !unchanged) failures.push(`${record.type} ${record.name} changed to ${record.after.join(',')}`);
    }
    failures.push(...((await expectation.check?.(drill, history)) ?? []));
    if (scenario.readiness && readiness) failures.push(...readinessFailures(scenario.readiness, readiness, drill));
    failures.push(...(await checkInvariants(drill)));
    report.failures = failures;
    report.passed = failures.length === 0;
    return report;
  } finally {
    await drill.close();
  }
}

/** The EC2 primary and the old database, as they are at the end, against what the record says was done. */
/** Every writer as the account holds it at the end, with the method the record names for it. */
function writersWithMethods(drill: Drill, group: string, item: HistoryItem | undefined): DrillReport['writers'] {
  const primary = drill.config.groups.find((g) => g.name === group)!.primary.instanceId;
  return writersOf(drill, group).map((w) => ({
    ...w,
    method: item?.fence?.writers?.find((r) => r.kind === w.kind && r.id === w.id)?.method ?? (w.id === primary ? item?.fence?.method ?? null : null),
  }));
}

/**
 * What a readiness scenario must have found: its group ready or not, exactly the expected problems, the
 * expected notes; one notification when it is not ready (the change from unknown), none when it is;
 * and no call that changes anything (the fence's permission is asked with DryRun only).
 */
function readinessFailures(expected: ReadinessExpectation, readiness: ReadinessReport, drill: Drill): string[] {
  const g = readiness.groups[0];
  const failures: string[] = [];
  if (g.ready !== expected.ready) failures.push(`readiness: ${g.group} is ${g.ready ? 'ready' : 'not ready'}, expected ${expected.ready ? 'ready' : 'not ready'}`);
  const unmatched = [...g.problems];
  for (const want of expected.problems) {
    const i = unmatched.findIndex((p) => p.check === want.check && (!want.resource || p.resource === want.resource) && want.reason.every((w) => p.reason.includes(w)));
    if (i < 0) failures.push(`readiness: no ${want.check} problem${want.resource ? ` about ${want.resource}` : ''} saying ${want.reason.map((w) => JSON.stringify(w)).join(' and ')}`);
    else unmatched.splice(i, 1);
  }
  for (const p of unmatched) failures.push(`readiness: unexpected ${p.check} problem about ${p.resource}: ${p.reason}`);
  for (const want of expected.notes ?? []) {
    if (!g.notes.some((n) => n.check === want.check && want.note.every((w) => n.note.includes(w)))) {
      failures.push(`readiness: no ${want.check} note saying ${want.note.map((w) => JSON.stringify(w)).join(' and ')}`);
    }
  }
  const subjects = drill.account.published.map((m) => m.subject ?? '');
  const wanted = expected.ready ? [] : [`failover-controller: ${g.group} is NOT READY for a failover`];
  if (JSON.stringify(subjects) !== JSON.stringify(wanted)) failures.push(`readiness: notifications ${JSON.stringify(subjects)}, expected ${JSON.stringify(wanted)}`);
  const changes = drill.account.apiCalls.filter((c) => c.mutating && !c.dryRun && !['sns', 'sqs'].includes(c.service));
  if (changes.length > 0) failures.push(`readiness changed something: ${changes.map((c) => c.operation).join(', ')}`);
  return failures;
}

/** The answer most name servers give (the first such, on a tie). */
function mostCommon(answers: string[][]): string[] {
  const counts = new Map<string, { values: string[]; n: number }>();
  for (const a of answers) {
    const key = a.join('\n');
    counts.set(key, { values: a, n: (counts.get(key)?.n ?? 0) + 1 });
  }
  return [...counts.values()].sort((x, y) => y.n - x.n)[0]?.values ?? [];
}

function same(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function describeExpectation(e: ReturnType<ReturnType<typeof findScenario>['expect']>): string {
  return `${e.outcomes.length ? e.outcomes.join(', ') : 'no execution'}; primary ${e.primaryState}; replica ${e.promoted ? 'promoted' : 'not promoted'}; DNS ${e.dnsFlipped ? 'flipped' : 'unchanged'}`;
}

/** The report as a person reads it: the timeline, the final state, the verdict. */
export function formatReport(r: DrillReport): string {
  const lines = [`Drill: ${r.scenario}: ${r.summary}`, ''];
  lines.push('Timeline (simulated seconds):');
  for (const t of r.timeline) {
    const span = t.endedAt !== null ? `t+${t.startedAt.toFixed(1).padStart(6)}s  ${(t.endedAt - t.startedAt).toFixed(1).padStart(6)}s` : `t+${t.startedAt.toFixed(1).padStart(6)}s    open `;
    lines.push(`  ${span}  ${t.step.padEnd(8)} ${t.result}`);
  }
  if (r.readiness) {
    lines.push('', 'Readiness (the scheduled readiness function, run once):');
    lines.push(...formatReadiness(r.readiness, { style: PLAIN }).slice(1).map((l) => (l ? `  ${l}` : l)));
  }
  lines.push('', 'AWS calls that change something:');
  for (const c of r.apiCalls) {
    lines.push(`  t+${c.at.toFixed(1).padStart(6)}s  ${c.service}:${c.operation}${c.dryRun ? ' (DryRun)' : ''}${c.error ? ` -> ${c.error}` : ''}`);
  }
  lines.push('', 'Final state:');
  lines.push(`  EC2 ${r.primary.instanceId}: ${r.primary.state}`);
  lines.push(`  RDS ${r.replica.id}: ${r.replica.status}, ${r.replica.promoted ? 'standalone (promoted)' : 'read replica'}, endpoint ${r.replica.endpoint}`);
  for (const d of r.dns) lines.push(`  DNS ${d.type} ${d.name} TTL ${d.ttl}: ${d.before.join(',')} -> ${d.after.join(',')}`);
  // In health-check mode no record changes: what the name servers answer is the DNS result.
  for (const d of r.dnsMode === 'health-check' ? r.resolution : []) lines.push(`  resolves ${d.type} ${d.name} at t+${d.at}s: ${d.answers.join(',') || '(nothing)'} (${d.servers.filter((s) => same(s.answers, d.answers)).length}/${d.servers.length} name servers)`);
  for (const w of r.writers) lines.push(`  writer ${w.kind} ${w.id} (${w.region}): ${w.state}, ${w.fenced ? 'fenced' : 'NOT FENCED'}${w.method ? ` (${w.method})` : ''}`);
  lines.push(`  client writes: ${r.clientWrites.attempted} attempted, ${r.clientWrites.acceptedByOld} by the old database (${r.clientWrites.acceptedByOldAfterPromotionStarted} after the promotion began), ${r.clientWrites.acceptedByNew} by the promoted one`);
  if (r.failovers > 0 && r.clientWrites.acceptedByNew === 0) lines.push('    (the clients still hold the old answer, cached for the old record\'s TTL, until it expires)');
  lines.push('', 'Executions:');
  for (const e of r.executions) lines.push(`  ${e.name} (${e.trigger}): ${e.outcome ?? 'no record'}${e.error ? `, error ${e.error}` : ''}`);
  lines.push(
    '',
    `Detection: ${r.detectionSeconds !== null ? `${r.detectionSeconds} s` : 'n/a'}   RTO: ${r.rtoSeconds !== null ? `${r.rtoSeconds} s` : 'n/a'}   data loss: ${r.dataLoss.estimatedSeconds !== null ? `${r.dataLoss.estimatedSeconds} s estimated, ${r.dataLoss.actualSeconds} s actual` : r.dataLoss.actualSeconds !== null ? `unknown (estimate), ${r.dataLoss.actualSeconds} s actual` : 'n/a'}   failovers: ${r.failovers}   controller overhead: ${r.controllerOverheadMs} ms   notifications: ${r.notifications.length}`,
    `Expected: ${r.expected}`,
    r.passed ? 'PASSED: the controller behaved as expected.' : `FAILED:\n  ${r.failures.join('\n  ')}`,
  );
  return lines.join('\n');
}
