/**
 * The detection decisions, case by case: each asserts the decision and its exact reason sentence.
 */
import { describe, expect, it } from 'vitest';
import type { ProbeResult } from '../../lambdas/probe/check-endpoint';
import { advanceCounters, judgeRound, NO_COUNTERS, probesKey, type ProbeCounters, type Quorum, type RoundVerdict } from '../../lambdas/probe/detect';

const DB: ProbeResult = { probe: 'tcp 10.0.1.25:5432', type: 'tcp', ok: true, latencyMs: 0.8 };
const API: ProbeResult = { probe: 'GET https://x/health', type: 'http', ok: true, latencyMs: 12.3, status: 200 };
const SSH: ProbeResult = { probe: 'ssh', type: 'tcp', ok: true, latencyMs: 1.1 };
const down = (r: ProbeResult, error: string): ProbeResult => ({ ...r, ok: false, error });
const DB_DOWN = down(DB, 'connection refused');
const API_DOWN = down(API, 'timeout after 2000 ms');
const SSH_DOWN = down(SSH, 'host not found');

const DB_REASON = 'tcp 10.0.1.25:5432: connection refused';
const API_REASON = 'GET https://x/health: timeout after 2000 ms';
const SSH_REASON = 'ssh: host not found';

describe('judgeRound', () => {
  const cases: Array<[string, Quorum, ProbeResult[], boolean, string]> = [
    // No probes: nothing to judge.
    ['no probes (any)', 'any', [], false, 'no probes configured'],
    ['no probes (majority)', 'majority', [], false, 'no probes configured'],
    ['no probes (all)', 'all', [], false, 'no probes configured'],

    // One probe: every quorum agrees.
    ['any: 0 of 1', 'any', [DB], false, 'round passed: the only probe answered'],
    ['any: 1 of 1', 'any', [DB_DOWN], true, `round failed: 1 of 1 probe failed (quorum any): ${DB_REASON}`],
    ['majority: 0 of 1', 'majority', [DB], false, 'round passed: the only probe answered'],
    ['majority: 1 of 1', 'majority', [DB_DOWN], true, `round failed: 1 of 1 probe failed (quorum majority): ${DB_REASON}`],
    ['all: 0 of 1', 'all', [DB], false, 'round passed: the only probe answered'],
    ['all: 1 of 1', 'all', [DB_DOWN], true, `round failed: 1 of 1 probe failed (quorum all): ${DB_REASON}`],

    // Two probes: a majority is both.
    ['any: 0 of 2', 'any', [DB, API], false, 'round passed: all 2 probes answered'],
    ['any: 1 of 2', 'any', [DB, API_DOWN], true, `round failed: 1 of 2 probes failed (quorum any): ${API_REASON}`],
    ['any: 2 of 2', 'any', [DB_DOWN, API_DOWN], true, `round failed: 2 of 2 probes failed (quorum any): ${DB_REASON}; ${API_REASON}`],
    ['majority: 0 of 2', 'majority', [DB, API], false, 'round passed: all 2 probes answered'],
    ['majority: 1 of 2 is not a majority', 'majority', [DB_DOWN, API], false, 'round passed: 1 of 2 probes failed (quorum majority)'],
    ['majority: 2 of 2', 'majority', [DB_DOWN, API_DOWN], true, `round failed: 2 of 2 probes failed (quorum majority): ${DB_REASON}; ${API_REASON}`],
    ['all: 0 of 2', 'all', [DB, API], false, 'round passed: all 2 probes answered'],
    ['all: 1 of 2', 'all', [DB, API_DOWN], false, 'round passed: 1 of 2 probes failed (quorum all)'],
    ['all: 2 of 2', 'all', [DB_DOWN, API_DOWN], true, `round failed: 2 of 2 probes failed (quorum all): ${DB_REASON}; ${API_REASON}`],

    // Three probes.
    ['any: 0 of 3', 'any', [DB, API, SSH], false, 'round passed: all 3 probes answered'],
    ['any: 1 of 3', 'any', [DB, API, SSH_DOWN], true, `round failed: 1 of 3 probes failed (quorum any): ${SSH_REASON}`],
    ['any: 2 of 3', 'any', [DB_DOWN, API, SSH_DOWN], true, `round failed: 2 of 3 probes failed (quorum any): ${DB_REASON}; ${SSH_REASON}`],
    ['any: 3 of 3', 'any', [DB_DOWN, API_DOWN, SSH_DOWN], true, `round failed: 3 of 3 probes failed (quorum any): ${DB_REASON}; ${API_REASON}; ${SSH_REASON}`],
    ['majority: 0 of 3', 'majority', [DB, API, SSH], false, 'round passed: all 3 probes answered'],
    ['majority: 1 of 3', 'majority', [DB, API_DOWN, SSH], false, 'round passed: 1 of 3 probes failed (quorum majority)'],
    ['majority: 2 of 3', 'majority', [DB_DOWN, API_DOWN, SSH], true, `round failed: 2 of 3 probes failed (quorum majority): ${DB_REASON}; ${API_REASON}`],
    ['majority: 3 of 3', 'majority', [DB_DOWN, API_DOWN, SSH_DOWN], true, `round failed: 3 of 3 probes failed (quorum majority): ${DB_REASON}; ${API_REASON}; ${SSH_REASON}`],
    ['all: 0 of 3', 'all', [DB, API, SSH], false, 'round passed: all 3 probes answered'],
    ['all: 1 of 3', 'all', [DB_DOWN, API, SSH], false, 'round passed: 1 of 3 probes failed (quorum all)'],
    ['all: 2 of 3', 'all', [DB_DOWN, API_DOWN, SSH], false, 'round passed: 2 of 3 probes failed (quorum all)'],
    ['all: 3 of 3', 'all', [DB_DOWN, API_DOWN, SSH_DOWN], true, `round failed: 3 of 3 probes failed (quorum all): ${DB_REASON}; ${API_REASON}; ${SSH_REASON}`],
  ];

  it.each(cases)('%s', (_, quorum, results, failed, reason) => {
    const verdict = judgeRound(results, quorum);

    expect(verdict).toEqual({ failed, failedProbes: results.filter((r) => !r.ok).length, totalProbes: results.length, reason });
  });

  it('names a failed probe without an error as failed', () => {
    expect(judgeRound([{ ...DB, ok: false }], 'any').reason).toBe('round failed: 1 of 1 probe failed (quorum any): tcp 10.0.1.25:5432: failed');
  });

  describe('a probe that failed for the prober\'s own reason (EMFILE, EAI_AGAIN, ...)', () => {
    const OWN = 'the probe function ran out of file descriptors (EMFILE)';
    const SSH_OWN: ProbeResult = { ...SSH, ok: false, error: 'EMFILE', voidReason: OWN };
    const API_OWN: ProbeResult = { ...API, ok: false, error: 'EMFILE', voidReason: OWN };

    it('voids the round when it could have decided it either way', () => {
      // 1 of 3 failed: a majority if the third failed too, not if it answered.
      expect(judgeRound([DB_DOWN, API, SSH_OWN], 'majority')).toEqual({
        failed: false, failedProbes: 1, totalProbes: 3, void: `round void: the prober's own fault, not the primary's: ssh: ${OWN}`, reason: `round void: ssh: ${OWN}`,
      });
      expect(judgeRound([DB, SSH_OWN], 'any').void).toBeDefined();
    });

    it('does not void a round the other probes decide alone: it fails, or passes, naming the one not counted', () => {
      expect(judgeRound([DB_DOWN, API_DOWN, SSH_OWN], 'majority')).toEqual({
        failed: true, failedProbes: 2, totalProbes: 3, reason: `round failed: 2 of 3 probes failed (quorum majority): ${DB_REASON}; ${API_REASON}; not counted, the prober's own fault: ssh: ${OWN}`,
      });
      expect(judgeRound([DB, API, SSH_OWN], 'majority')).toEqual({
        failed: false, failedProbes: 0, totalProbes: 3, reason: `round passed: 0 of 3 probes failed (quorum majority); not counted, the prober's own fault: ssh: ${OWN}`,
      });
      // all: one answered, so the quorum cannot be reached whatever the others did.
      expect(judgeRound([DB, API_OWN, SSH_OWN], 'all')).toMatchObject({ failed: false, reason: expect.stringMatching(/^round passed: 0 of 3/) });
      expect(judgeRound([DB, API_OWN, SSH_OWN], 'all').void).toBeUndefined();
    });
  });
});

describe('advanceCounters', () => {
  const T0 = Date.parse('2026-01-01T00:00:00.000Z');
  const at = (seconds: number) => T0 + seconds * 1000;
  const FAILED: RoundVerdict = { failed: true, failedProbes: 2, totalProbes: 3, reason: 'round failed: ...' };
  const PASSED: RoundVerdict = { failed: false, failedProbes: 0, totalProbes: 3, reason: 'round passed: all 3 probes answered' };
  const NO_PROBES: RoundVerdict = { failed: false, failedProbes: 0, totalProbes: 0, reason: 'no probes configured' };

  const healthy: ProbeCounters = { consecutiveFailures: 0, outageStartedAt: null, lastSuccessAt: at(0), lastRoundAt: at(0) };
  const failing = (n: number, since: number, last: number): ProbeCounters => ({
    consecutiveFailures: n,
    outageStartedAt: at(since),
    lastSuccessAt: at(0),
    lastRoundAt: at(last),
  });

  const cases: Array<[string, ProbeCounters, RoundVerdict, number, number, ProbeCounters, boolean, string]> = [
    ['first round ever, passed', NO_COUNTERS, PASSED, at(0), 3,
      { consecutiveFailures: 0, outageStartedAt: null, lastSuccessAt: at(0), lastRoundAt: at(0) }, false, 'healthy'],
    ['healthy stays healthy', healthy, PASSED, at(10), 3,
      { consecutiveFailures: 0, outageStartedAt: null, lastSuccessAt: at(10), lastRoundAt: at(10) }, false, 'healthy'],
    ['first failure starts the outage', healthy, FAILED, at(10), 3,
      failing(1, 10, 10), false, '1 of 3 failed rounds toward the threshold'],
    ['first round ever, failed', NO_COUNTERS, FAILED, at(10), 3,
      { consecutiveFailures: 1, outageStartedAt: at(10), lastSuccessAt: null, lastRoundAt: at(10) }, false, '1 of 3 failed rounds toward the threshold'],
    ['second failure keeps the outage start', failing(1, 10, 10), FAILED, at(20), 3,
      failing(2, 10, 20), false, '2 of 3 failed rounds toward the threshold'],
    ['reaching the threshold declares the primary down', failing(2, 10, 20), FAILED, at(30), 3,
      failing(3, 10, 30), true, 'primary down: 3 consecutive failed rounds since 2026-01-01T00:00:10.000Z (threshold 3)'],
    ['past the threshold it stays down', failing(3, 10, 30), FAILED, at(40), 3,
      failing(4, 10, 40), true, 'primary down: 4 consecutive failed rounds since 2026-01-01T00:00:10.000Z (threshold 3)'],
    ['threshold 1: one failed round is enough', healthy, FAILED, at(10), 1,
      failing(1, 10, 10), true, 'primary down: 1 consecutive failed round since 2026-01-01T00:00:10.000Z (threshold 1)'],
    ['recovery resets the count', failing(2, 10, 20), PASSED, at(30), 3,
      { consecutiveFailures: 0, outageStartedAt: null, lastSuccessAt: at(30), lastRoundAt: at(30) }, false, 'recovered after 2 failed rounds'],
    ['recovery after one failed round', failing(1, 10, 10), PASSED, at(20), 3,
      { consecutiveFailures: 0, outageStartedAt: null, lastSuccessAt: at(20), lastRoundAt: at(20) }, false, 'recovered after 1 failed round'],
    ['a round at the same time as the last is stale', failing(2, 10, 20), FAILED, at(20), 3,
      failing(2, 10, 20), false, 'stale round ignored: round at 2026-01-01T00:00:20.000Z is not after the last counted round at 2026-01-01T00:00:20.000Z'],
    ['an older round is stale, even one that would reach the threshold', failing(2, 10, 20), FAILED, at(15), 3,
      failing(2, 10, 20), false, 'stale round ignored: round at 2026-01-01T00:00:15.000Z is not after the last counted round at 2026-01-01T00:00:20.000Z'],
    ['a stale passed round does not reset the count', failing(2, 10, 20), PASSED, at(20), 3,
      failing(2, 10, 20), false, 'stale round ignored: round at 2026-01-01T00:00:20.000Z is not after the last counted round at 2026-01-01T00:00:20.000Z'],
    ['a failure counted more than an interval ago does not add to this one: a new run', failing(1, 10, 10), FAILED, at(3_610), 3,
      failing(1, 3_610, 3_610), false, '1 of 3 failed rounds toward the threshold'],
    ['nor one two rounds back (the round between was not counted): a new run', failing(2, 10, 20), FAILED, at(40), 3,
      failing(1, 40, 40), false, '1 of 3 failed rounds toward the threshold'],
    ['a round between that counted neither way (void) does not break the run', { ...failing(1, 10, 10), bridgedAt: at(20) }, FAILED, at(30), 3,
      failing(2, 10, 30), false, '2 of 3 failed rounds toward the threshold'],
    ['no probes: no evidence either way', failing(2, 10, 20), NO_PROBES, at(30), 3,
      { consecutiveFailures: 0, outageStartedAt: null, lastSuccessAt: at(0), lastRoundAt: at(30) }, false, 'no probes configured'],
  ];

  it.each(cases)('%s', (_, previous, verdict, roundAt, threshold, counters, declaredDown, reason) => {
    expect(advanceCounters(previous, verdict, roundAt, threshold, 10_000)).toEqual({ counters, declaredDown, reason });
  });

  it('does not change the previous counters', () => {
    const previous = failing(1, 10, 10);
    const copy = { ...previous };

    advanceCounters(previous, FAILED, at(20), 3, 10_000);

    expect(previous).toEqual(copy);
  });

  it('counts a run of rounds from NO_COUNTERS to down and back', () => {
    const verdicts = [PASSED, FAILED, FAILED, FAILED, PASSED];
    let counters = NO_COUNTERS;
    const seen = verdicts.map((verdict, i) => {
      const detection = advanceCounters(counters, verdict, at(i * 10), 3, 10_000);
      counters = detection.counters;
      return [detection.declaredDown, detection.reason];
    });

    expect(seen).toEqual([
      [false, 'healthy'],
      [false, '1 of 3 failed rounds toward the threshold'],
      [false, '2 of 3 failed rounds toward the threshold'],
      [true, 'primary down: 3 consecutive failed rounds since 2026-01-01T00:00:10.000Z (threshold 3)'],
      [false, 'recovered after 3 failed rounds'],
    ]);
  });
});

describe('probesKey: which probe settings a pass is evidence for', () => {
  const probe = { type: 'http', name: 'health', url: 'https://orders.example.com/health', method: 'GET', expectStatus: [200], timeoutMs: 2000 };
  const group = (probes: unknown[], quorum: Quorum = 'majority') => ({ probes, detection: { quorum } });

  it('is the same for the same settings in any key order, and differs when anything a pass depends on changes', () => {
    const key = probesKey(group([probe]));
    expect(probesKey(group([{ timeoutMs: 2000, expectStatus: [200], method: 'GET', url: 'https://orders.example.com/health', name: 'health', type: 'http' }]))).toBe(key);
    const changed = [
      group([{ ...probe, url: 'https://orders.example.com/healthz' }]),
      group([{ ...probe, expectStatus: [204] }]),
      group([{ ...probe, timeoutMs: 500 }]),
      group([probe, { type: 'tcp', name: 'port', host: '10.0.1.25', port: 5432, timeoutMs: 2000 }]),
      group([{ ...probe, ca: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----' }]),
      group([probe], 'any'),
    ].map(probesKey);
    expect(changed.filter((k) => k === key)).toEqual([]);
    expect(new Set(changed).size).toBe(changed.length);
  });

  it('a failure past the threshold is unproven until the current settings have passed', () => {
    const T0 = Date.parse('2026-01-01T00:00:00.000Z');
    const FAILED: RoundVerdict = { failed: true, failedProbes: 1, totalProbes: 1, reason: 'round failed' };
    const PASSED: RoundVerdict = { failed: false, failedProbes: 0, totalProbes: 1, reason: 'round passed' };
    const run = (start: ProbeCounters, key: string, verdicts: RoundVerdict[]) => {
      let counters = start;
      let last;
      verdicts.forEach((v, i) => {
        last = advanceCounters(counters, v, (start.lastRoundAt ?? T0) + (i + 1) * 10_000, 3, 10_000, key);
        counters = last.counters;
      });
      return last!;
    };
    expect(run(NO_COUNTERS, 'a', [FAILED, FAILED, FAILED])).toMatchObject({ declaredDown: true, unproven: expect.stringMatching(/^its probes have never passed:/) });
    const armed = run(NO_COUNTERS, 'a', [PASSED, FAILED, FAILED, FAILED]);
    expect([armed.declaredDown, armed.unproven, armed.counters.passedWith]).toEqual([true, undefined, 'a']);
    const passedWithA = run(NO_COUNTERS, 'a', [PASSED]).counters;
    expect(run(passedWithA, 'b', [FAILED, FAILED, FAILED])).toMatchObject({ declaredDown: true, unproven: expect.stringMatching(/^its probes have not passed since they were changed/) });
    const rearmed = run(passedWithA, 'b', [PASSED, FAILED, FAILED, FAILED]);
    expect([rearmed.declaredDown, rearmed.unproven, rearmed.counters.passedWith]).toEqual([true, undefined, 'b']);
  });
});
