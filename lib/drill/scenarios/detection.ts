/**
 * Detection as the probe fleet sees it: the controller protecting the groups from its own failures.
 * `controller-partitioned`: three groups, and every group's probes fail in the same rounds, as they do
 * when the probe function's own network path is cut. No automatic failover may start; the topic is
 * told once that the controller itself may be the one cut off. `controller-partitioned-alarm`: the
 * same, and an alarm of one of them goes to ALARM meanwhile: held too (SKIPPED, told), since its
 * confirmation would probe from the same network.
 * `probes-never-passed`: a group deployed with probes that cannot pass against a healthy primary (its
 * HTTP probes expect a status the service never answers). Their failures declare the primary down, but
 * this controller has never seen it healthy: the outage is told to the topic once, nothing is fenced.
 * Then the group's alarm goes to ALARM: an alarm is confirmed by the same probes, so it is SKIPPED, and told.
 */
import type { FailoverConfig, GroupConfig } from '../../../lambdas/core/config';
import { MASS_FAILURE } from '../../../lambdas/probe/detect';
import { checkAll } from '../../../lambdas/probe/check-endpoint';
import type { HistoryItem } from '../../../lambdas/core/history';
import type { Drill } from '../drill';
import { nothingChanged, outage, untouched, type Scenario } from './kit';

export const HOLD_SUBJECT = 'failover-controller: automatic failovers held, the controller may be cut off';

/** The config with the first group's HTTP probes expecting 204, which the primary never answers (it answers 200). */
export function wrongExpectedStatus(config: FailoverConfig): FailoverConfig {
  const [first, ...rest] = config.groups;
  return { ...config, groups: [{ ...first, probes: first.probes.map((p) => (p.type === 'http' ? { ...p, expectStatus: [204] } : p)) }, ...rest] };
}

/** The example group and three copies of it on resources of their own. */
export function fleetOf(config: FailoverConfig, size: number): FailoverConfig {
  const base = config.groups[0];
  const copy = (k: number): GroupConfig => {
    const hex = (n: number) => n.toString(16).padStart(2, '0');
    const name = `${base.name}-${k}`;
    const rename = (dns: string) => dns.replace(`.${base.name}.`, `.${name}.`);
    return {
      ...base,
      name,
      primary: { ...base.primary, instanceId: `${base.primary.instanceId.slice(0, -2)}${hex(k)}` },
      replica: { ...base.replica, dbInstanceIdentifier: `${base.replica.dbInstanceIdentifier}-${k}`, source: `${base.replica.source}-${k}` },
      dns: {
        ...base.dns,
        hostedZoneId: `${base.dns.hostedZoneId.slice(0, -2)}${String(k).padStart(2, '0')}`,
        records: base.dns.records.map((r) => ({ ...r, name: rename(r.name) })),
      },
      alarms: base.alarms.map((a) => `${a}-${k}`),
    };
  };
  return { ...config, groups: [base, ...Array.from({ length: size - 1 }, (_, i) => copy(i + 1))] };
}

/** Every group's endpoints stop answering at once, for three minutes: as if the controller's network were cut. */
async function partition(drill: Drill): Promise<void> {
  // The local endpoints' first connections (not counted): a cold first round is not the scenario.
  await Promise.all(drill.config.groups.map((g) => checkAll(g.probes)));
  // Three minutes of the outage: every group past its threshold many times over.
  await outage(drill, 'down', 3);
}

/** What a partition must leave: nothing started by the probes, every group held, nothing changed. */
function partitionHeld(drill: Drill): string[] {
  const held = drill.logs.filter((l) => l.message === 'probe round' && String(l.action ?? '').startsWith('held'));
  const groups = new Set(held.map((l) => l.group)).size;
  return [
    ...(drill.account.startedExecutions.length === 0 ? [] : [`the probes started ${drill.account.startedExecutions.length} executions`]),
    ...(groups === drill.config.groups.length ? [] : [`${groups} groups reached their threshold and were held, expected ${drill.config.groups.length}`]),
    ...nothingChanged(drill),
  ];
}

/** The first group's alarm goes to ALARM, and the workflow runs the execution its rule starts. */
async function firstAlarm(drill: Drill): Promise<void> {
  const group = drill.config.groups[0];
  await drill.run({ input: drill.alarmExecutionInput(group.name, group.alarms[0]) });
}

/** The alarm's execution ended SKIPPED for `why`, and was told after the one notification `first`. */
function alarmSkipped(drill: Drill, history: HistoryItem[], first: string, why: RegExp): string[] {
  const subjects = drill.account.published.map((m) => m.subject ?? '');
  return [
    ...(subjects.length === 2 && subjects[0] === first && /^failover \S+: SKIPPED/.test(subjects[1]) ? [] : [`notifications ${JSON.stringify(subjects)}, expected ${first} and the alarm's SKIPPED`]),
    ...(why.test(history[0]?.summary ?? '') ? [] : [`the alarm's record says ${JSON.stringify(history[0]?.summary)}, expected ${why}`]),
  ];
}

export const DETECTION_SCENARIOS: Scenario[] = [
  {
    name: 'controller-partitioned',
    summary: `Three groups, and every group's probes fail in the same rounds (the controller's own network is cut): at least ${MASS_FAILURE.minGroups} groups and ${MASS_FAILURE.share * 100} % failing together hold the automatic failovers; no execution, one notification.`,
    config: (config) => fleetOf(config, MASS_FAILURE.minGroups),
    run: partition,
    expect: () => ({
      outcomes: [],
      ...untouched,
      check: (drill) => {
        const subjects = drill.account.published.map((m) => m.subject ?? '');
        return [
          ...(JSON.stringify(subjects) === JSON.stringify([HOLD_SUBJECT]) ? [] : [`notifications ${JSON.stringify(subjects)}, expected one: ${HOLD_SUBJECT}`]),
          ...partitionHeld(drill),
        ];
      },
    }),
  },
  {
    name: 'controller-partitioned-alarm',
    summary: 'controller-partitioned, and meanwhile one group\'s alarm goes to ALARM: its confirmation would probe from the same cut-off network, so it is held too: SKIPPED, told; nothing fenced.',
    config: (config) => fleetOf(config, MASS_FAILURE.minGroups),
    run: async (drill) => {
      await partition(drill);
      await firstAlarm(drill);
    },
    expect: () => ({
      outcomes: ['SKIPPED'],
      ...untouched,
      check: (drill, history) => [...alarmSkipped(drill, history, HOLD_SUBJECT, /^skipping: automatic failovers held since /), ...partitionHeld(drill)],
    }),
  },
  {
    name: 'probes-never-passed',
    summary: 'A group is deployed with probes that cannot pass against its healthy primary (they expect HTTP 204; it answers 200): their failures declare it down, but the controller has never seen it healthy: told once, no execution; then its alarm goes to ALARM: SKIPPED (the same probes would confirm it), told; nothing fenced.',
    config: wrongExpectedStatus,
    run: async (drill) => {
      await drill.watch(3);
      await firstAlarm(drill);
    },
    expect: () => ({
      outcomes: ['SKIPPED'],
      ...untouched,
      check: (drill, history) => [
        ...(drill.primaryEndpoints.mode === 'up' ? [] : ['the primary itself went down']),
        ...(drill.account.startedExecutions.length === 0 ? [] : [`the probes started ${drill.account.startedExecutions.length} executions`]),
        ...alarmSkipped(drill, history, `failover ${drill.config.groups[0].name}: primary down, not failing over`, /which confirm its alarms, have never passed/),
        ...(drill.account.published[0]?.message.includes('its probes have never passed') ? [] : ['the notification does not say the probes have never passed']),
        ...nothingChanged(drill),
      ],
    }),
  },
];
