/**
 * A second vantage point for the confirmation (issue 16, item 2): a confirm function in a third region
 * that does not share the controller's network. The drill's controller runs in us-west-2, the example's
 * primary in us-east-1; the vantage is in us-east-2.
 *
 * In `controller-cut-off` the controller's region loses its network path to the primary's endpoints while
 * every AWS API stays up: the dangerous case, where the controller could still fence what it can no
 * longer see. So if the controller decided to fence, the stop would succeed and the scenario would fail
 * on the instance's state, not on what the controller reports.
 */
import type { FailoverConfig } from '../../../lambdas/core/config';
import type { HistoryItem } from '../../../lambdas/core/history';
import { DRILL_REGION } from '../../runner/synth';
import { failedOver, outage, runStarted, untouched, type Scenario } from './kit';

export const VANTAGE_REGION = 'us-east-2';
export const SECOND_VANTAGE_REGION = 'eu-west-1';

const withVantages = (...regions: string[]) => (config: FailoverConfig): FailoverConfig => ({ ...config, vantages: regions.map((region) => ({ region })) });

/** What the history item says each vantage saw, as `region:saw`. */
function views(history: HistoryItem[]): string[] {
  return history[0]?.confirmation?.vantages.map((v) => `${v.region}:${v.saw}`) ?? [];
}

function sawAs(history: HistoryItem[], expected: string[]): string[] {
  const seen = views(history);
  return seen.join() === expected.join() ? [] : [`the record's vantages are [${seen.join(', ')}], expected [${expected.join(', ')}]`];
}

function neverFenced(drill: Parameters<Scenario['run']>[0]): string[] {
  const changing = drill.account.apiCalls.filter((c) => c.mutating && !['sns', 'sfn', 'sqs'].includes(c.service));
  return changing.length === 0 ? [] : [`changing calls were made: ${changing.map((c) => `${c.service}:${c.operation}`).join(', ')}`];
}

export const VANTAGE_SCENARIOS: Scenario[] = [
  {
    name: 'controller-cut-off',
    summary: `The controller's region (${DRILL_REGION}) loses its network to the primary; a vantage in ${VANTAGE_REGION} still reaches it: no fencing, ABORTED, the record shows the vantages disagree.`,
    config: withVantages(VANTAGE_REGION),
    run: async (drill, group) => {
      // After the controller has seen the primary healthy (before that, no failure of its probes fails it
      // over); the primary itself stays up throughout.
      drill.scheduleAt(drill.account.clock.now() + 23_000, () => drill.account.network.cut(DRILL_REGION, group.primary.region));
      await runStarted(drill, await drill.watch(5));
    },
    expect: () => ({
      outcomes: ['ABORTED'],
      ...untouched,
      check: (drill, history) => [
        ...(drill.account.startedExecutions.length === 1 ? [] : [`${drill.account.startedExecutions.length} executions started: the probes in ${DRILL_REGION} did not see the primary go`]),
        ...(drill.primaryEndpoints.mode === 'up' ? [] : ['the primary itself went down']),
        ...sawAs(history, [`${DRILL_REGION}:down`, `${VANTAGE_REGION}:up`]),
        ...(history[0]?.confirmation?.disagree === true ? [] : ['the record does not say the vantages disagree']),
        ...neverFenced(drill),
      ],
    }),
  },
  {
    name: 'primary-down-vantage',
    summary: `The primary stops answering; the controller and a vantage in ${VANTAGE_REGION} both see it down: the failover proceeds.`,
    config: withVantages(VANTAGE_REGION),
    run: async (drill) => runStarted(drill, await outage(drill, 'down')),
    expect: () => ({
      outcomes: ['SUCCEEDED'],
      ...failedOver,
      check: (_drill, history) => [...sawAs(history, [`${DRILL_REGION}:down`, `${VANTAGE_REGION}:down`])],
    }),
  },
  {
    name: 'vantage-unreachable',
    summary: `The primary stops answering, and the Lambda API of the only vantage's region (${VANTAGE_REGION}) fails every call: one of two views is no majority, so ABORTED, nothing fenced.`,
    config: withVantages(VANTAGE_REGION),
    run: async (drill) => {
      drill.account.inject({ service: 'lambda', operation: 'Invoke', error: 'ServiceException', message: 'Internal error (drill)', times: Infinity });
      await runStarted(drill, await outage(drill, 'down'));
    },
    expect: () => ({
      outcomes: ['ABORTED'],
      ...untouched,
      check: (drill, history) => [...sawAs(history, [`${DRILL_REGION}:down`, `${VANTAGE_REGION}:unreachable`]), ...neverFenced(drill)],
    }),
  },
  {
    name: 'one-of-two-vantages-unreachable',
    summary: `The primary stops answering; of two vantages, ${SECOND_VANTAGE_REGION}'s Lambda API does not answer and ${VANTAGE_REGION} sees the primary down: two of three views, the failover proceeds.`,
    config: withVantages(VANTAGE_REGION, SECOND_VANTAGE_REGION),
    run: async (drill) => {
      drill.account.setRegionReachable(SECOND_VANTAGE_REGION, false, ['lambda']);
      await runStarted(drill, await outage(drill, 'down'));
    },
    expect: () => ({
      outcomes: ['SUCCEEDED'],
      ...failedOver,
      check: (_drill, history) => [...sawAs(history, [`${DRILL_REGION}:down`, `${VANTAGE_REGION}:down`, `${SECOND_VANTAGE_REGION}:unreachable`])],
    }),
  },
];
