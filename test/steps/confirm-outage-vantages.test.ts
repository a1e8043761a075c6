/**
 * The confirmation step with vantages: its own probes and each vantage function's view, asked through
 * the simulated account's Lambda (Invoke in the vantage's region) while it probes. The primary is a
 * pair of real local servers; what each side reaches is decided by where its probes point, and every
 * fault of a vantage comes from where Lambda would produce it (the Lambda API of its region, the
 * function's own failure, a function that is not there).
 */
import { LambdaClient } from '@aws-sdk/client-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig, type GroupConfig, type ProbeConfig } from '../../lambdas/core/config';
import { vantageFunctionName } from '../../lambdas/core/vantage';
import { checkAll, type ProbeResult } from '../../lambdas/probe/check-endpoint';
import { run as runVantage } from '../../lambdas/probe/confirm-from-vantage';
import { run } from '../../lambdas/steps/confirm-outage';
import { perRegion } from '../../lambdas/runtime/deps';
import { LocalPrimary } from '../../lib/drill/endpoints';
import { SimulatedAccount, SimClock } from '../../lib/drill/sim/account';
import { probesOutOfDescriptors } from '../support/emfile';
import { at, deployed, ordersInput, probePlanFor } from '../support/fixtures';

const CONTROLLER = 'us-west-2';
const VANTAGE = 'us-east-2';
const SECOND = 'eu-west-1';
const NAME = vantageFunctionName('FailoverController');

let up: LocalPrimary;
let down: LocalPrimary;
beforeAll(async () => {
  up = await LocalPrimary.start();
  down = await LocalPrimary.start();
  await down.setMode('down');
});
afterAll(async () => {
  await up.stop();
  await down.stop();
});

/** The group's two probes, at the primary's real addresses (never reached: see `reaching`). */
const group: GroupConfig = parseConfig({
  groups: [{
    ...ordersInput(),
    probes: [
      { type: 'http', name: 'api health', url: 'http://api.orders.example.com/health', timeoutMs: 500 },
      { type: 'tcp', name: 'postgres port', host: 'db.orders.example.com', port: 5432, timeoutMs: 500 },
    ],
  }],
}).groups[0];
/** Probe as code whose network leads to `server` in place of the primary would; the labels stay the configured ones. */
const reaching = (server: LocalPrimary) => (probes: ProbeConfig[]) =>
  checkAll(
    probes.map((p) =>
      p.type === 'http' ? { ...p, url: `http://127.0.0.1:${server.httpPort}${new URL(p.url).pathname}` } : { ...p, host: '127.0.0.1', port: server.tcpPort },
    ),
  );

type Prober = (probes: ProbeConfig[]) => Promise<ProbeResult[]>;
const proberOf = (sees: LocalPrimary | Prober): Prober => (sees instanceof LocalPrimary ? reaching(sees) : sees);

/**
 * Probe as code that has run out of file descriptors: each probe gets what the real checkAll made of
 * the kernel's EMFILE in a process allowed 30 of them (test/support/emfile.ts).
 */
let outOfDescriptors: Prober;
beforeAll(async () => {
  const refused = (await probesOutOfDescriptors(up.tcpPort)).filter((r) => r.voidReason !== undefined);
  outOfDescriptors = async (probes) => probes.map((p, i) => ({ ...refused[i], probe: p.name! }));
});

/** An account with a vantage function in each region of `sees`, reaching the server given (or probing as given). */
function setup(controllerSees: LocalPrimary | Prober, sees: Record<string, LocalPrimary | Prober>, regions = Object.keys(sees)) {
  const account = new SimulatedAccount({ clock: new SimClock(at(0)) });
  for (const [region, server] of Object.entries(sees)) {
    account.lambda.addFunction({ region, name: NAME, handler: (event) => runVantage(event, { ...deployed(group), now: () => account.clock.now(), region, probe: proberOf(server) }) });
  }
  const deps = {
    ...deployed(group),
    now: () => account.clock.now(),
    confirmation: {
      region: CONTROLLER,
      probe: proberOf(controllerSees),
      vantages: () => regions.map((region) => ({ region, functionName: NAME })),
      lambda: perRegion((region) => account.client(LambdaClient, region)),
    },
  };
  return { account, deps, state: { plan: probePlanFor(group) } as never };
}

const sights = (r: Awaited<ReturnType<typeof run>>) => r.vantages?.map((v) => `${v.region} ${v.source} ${v.saw}`);

describe('confirm-outage with vantages', () => {
  it('confirms when the controller and the vantage both see the primary down, and records both views', async () => {
    const { deps, state, account } = setup(down, { [VANTAGE]: down });

    const result = await run(state, deps);

    expect(result.confirmed).toBe(true);
    expect(sights(result)).toEqual([`${CONTROLLER} controller down`, `${VANTAGE} function down`]);
    expect(result.vantages![1].results).toEqual([
      { probe: 'api health', ok: false, error: 'connection refused' },
      { probe: 'postgres port', ok: false, error: 'connection refused' },
    ]);
    // The vantage function was invoked once, in its own region.
    expect(account.apiCalls.map((c) => [c.service, c.operation, c.region])).toEqual([['lambda', 'Invoke', VANTAGE]]);
    expect(result.reason).toMatch(/^outage confirmed by 2 of 2 vantages: us-west-2 \(controller\) saw the primary down at 12:00:00Z: round failed/);
  });

  it('does not confirm when the vantage still reaches the primary: the vantages disagree, and the reason names each view', async () => {
    const { deps, state } = setup(down, { [VANTAGE]: up });

    const result = await run(state, deps);

    expect(result).toMatchObject({ confirmed: false, disagree: true });
    expect(sights(result)).toEqual([`${CONTROLLER} controller down`, `${VANTAGE} function up`]);
    expect(result.reason).toBe(
      'not fencing: the vantages disagree (1 of 2 saw the primary down, 1 saw it up): a partition, not an outage, until they agree: ' +
        'us-west-2 (controller) saw the primary down at 12:00:00Z: round failed: 2 of 2 probes failed (quorum majority): api health: connection refused; postgres port: connection refused; ' +
        'us-east-2 (vantage) saw the primary up at 12:00:00Z: round passed: all 2 probes answered',
    );
  });

  it.each([
    ['its region\'s Lambda API fails (ServiceException)', (a: SimulatedAccount) => a.inject({ service: 'lambda', operation: 'Invoke', error: 'ServiceException', times: Infinity }),
      /the Lambda API of us-east-2 did not run FailoverController-confirm-vantage: ServiceException/],
    ['Lambda throttles the invocation', (a: SimulatedAccount) => a.inject({ service: 'lambda', operation: 'Invoke', error: 'TooManyRequestsException', times: Infinity }),
      /TooManyRequestsException: Rate Exceeded/],
    ['its region\'s Lambda API does not answer', (a: SimulatedAccount) => a.setRegionReachable(VANTAGE, false, ['lambda']), /TimeoutError/],
  ])('counts a vantage as unreachable when %s, and an unreachable vantage never confirms an outage alone', async (_what, fault, why) => {
    const { deps, state, account } = setup(down, { [VANTAGE]: up });
    fault(account);

    const result = await run(state, deps);

    expect(result).toMatchObject({ confirmed: false, disagree: false });
    expect(sights(result)).toEqual([`${CONTROLLER} controller down`, `${VANTAGE} function unreachable`]);
    expect(result.vantages![1].reason).toMatch(why);
    expect(result.reason).toMatch(/^not fencing: only 1 of 2 vantages saw the primary down and the others could not be asked or saw nothing/);
  });

  it('counts a vantage whose function is not deployed in its region as unreachable (Lambda: ResourceNotFoundException)', async () => {
    const { deps, state } = setup(down, { [VANTAGE]: down }, [SECOND]);

    const result = await run(state, deps);

    expect(result.confirmed).toBe(false);
    expect(result.vantages![1]).toMatchObject({ region: SECOND, saw: 'unreachable' });
    expect(result.vantages![1].reason).toMatch(/ResourceNotFoundException: Function not found: arn:aws:lambda:eu-west-1:\d{12}:function:FailoverController-confirm-vantage/);
  });

  it('counts a vantage whose function fails as unreachable: Invoke answers 200 with FunctionError, the payload says why', async () => {
    const { deps, state, account } = setup(down, {});
    account.lambda.addFunction({ region: VANTAGE, name: NAME, handler: (event) => runVantage(event, { groups: () => ({}), now: () => 0, region: VANTAGE, probe: checkAll }) });
    deps.confirmation.vantages = () => [{ region: VANTAGE, functionName: NAME }];

    const result = await run(state, deps);

    expect(result.confirmed).toBe(false);
    expect(result.vantages![1].saw).toBe('unreachable');
    expect(result.vantages![1].reason).toBe('FailoverController-confirm-vantage in us-east-2 failed (Unhandled): InvalidInput: group: "orders" is not a deployed group (deployed: )');
  });

  it('does not take an answer from another region for the vantage\'s view', async () => {
    const { deps, state, account } = setup(down, {});
    // A function in us-east-2 whose bundle says it runs elsewhere (deployed from the wrong stack).
    account.lambda.addFunction({ region: VANTAGE, name: NAME, handler: (event) => runVantage(event, { ...deployed(group), now: () => 0, region: SECOND, probe: reaching(down) }) });
    deps.confirmation.vantages = () => [{ region: VANTAGE, functionName: NAME }];

    const result = await run(state, deps);

    expect(result.confirmed).toBe(false);
    expect(result.vantages![1]).toMatchObject({ region: VANTAGE, saw: 'unreachable' });
  });

  it('with two vantages, one unreachable: the two that saw the primary down are a majority of three', async () => {
    const { deps, state, account } = setup(down, { [VANTAGE]: down, [SECOND]: up });
    account.setRegionReachable(SECOND, false, ['lambda']);

    const result = await run(state, deps);

    expect(result.confirmed).toBe(true);
    expect(sights(result)).toEqual([`${CONTROLLER} controller down`, `${VANTAGE} function down`, `${SECOND} function unreachable`]);
  });

  it('is a false alarm when the controller sees the primary up, whatever an unreachable vantage would say', async () => {
    const { deps, state, account } = setup(up, { [VANTAGE]: down });
    account.setRegionReachable(VANTAGE, false, ['lambda']);

    const result = await run(state, deps);

    expect(result).toMatchObject({ confirmed: false, disagree: false });
    expect(result.reason).toMatch(/^false alarm: the primary answered the confirmation probes from every vantage that could be asked/);
  });

  it('a vantage whose own sockets ran out (EMFILE) saw nothing: neither up nor down, and the record says why', async () => {
    const { deps, state } = setup(down, { [VANTAGE]: outOfDescriptors });

    const result = await run(state, deps);

    expect(result).toMatchObject({ confirmed: false, disagree: false });
    expect(sights(result)).toEqual([`${CONTROLLER} controller down`, `${VANTAGE} function unreachable`]);
    expect(result.vantages![1].void).toMatch(/^round void: the prober's own fault, not the primary's: api health: .*EMFILE/);
    expect(result.reason).toMatch(/us-east-2 \(vantage\) saw nothing of the primary at 12:00:00Z: round void/);
  });

  it('with two vantages, one blind (EMFILE): the two that saw the primary down are a majority of three', async () => {
    const { deps, state } = setup(down, { [VANTAGE]: down, [SECOND]: outOfDescriptors });

    const result = await run(state, deps);

    expect(result.confirmed).toBe(true);
    expect(sights(result)).toEqual([`${CONTROLLER} controller down`, `${VANTAGE} function down`, `${SECOND} function unreachable`]);
  });

  it('the controller\'s own blind round (EMFILE) is no view either: without vantages, not confirmed and not a false alarm', async () => {
    const { deps, state } = setup(outOfDescriptors, {});

    const result = await run(state, deps);

    expect(result.confirmed).toBe(false);
    expect(result.reason).toMatch(/^not confirmed: the confirmation probes could not run properly, so they saw nothing of the primary \(round void: .*EMFILE/);
  });

  it('without vantages it confirms on its own probes, as before', async () => {
    const { deps, state, account } = setup(down, {});

    const result = await run(state, deps);

    expect(result.confirmed).toBe(true);
    expect(result.vantages).toBeUndefined();
    expect(result.reason).toMatch(/^outage confirmed: round failed: 2 of 2 probes failed/);
    expect(account.apiCalls).toEqual([]);
  });
});
