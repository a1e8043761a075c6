/**
 * Security: what someone who can write to the table (or invoke a step) might forge, and what the
 * controller does about it. Each scenario forges at the place an attacker would (an item in the real
 * DynamoDB table), then runs the real workflow.
 */
import { failedOver, manual, untouched, type Scenario } from './kit';

/** A lock item written by hand: ten years long, held by nothing that is an execution. */
export const FORGED_HOLDER = 'maintenance-window';

export const SECURITY_SCENARIOS: Scenario[] = [
  {
    name: 'forged-lock',
    summary: 'Someone wrote a lock item by hand (ten years long, held by no execution): a forced manual failover takes it over and fails over, and the notification says so.',
    run: async (drill, group) => {
      const now = drill.account.clock.now();
      await drill.store.acquireLock(group.name, FORGED_HOLDER, now, 10 * 365 * 86_400);
      await drill.run(manual(group, { force: true }));
    },
    expect: () => ({
      outcomes: ['SUCCEEDED'],
      ...failedOver,
      check: async (drill, history) => {
        const lockStep = history[0]?.steps.find((s) => s.step === 'lock')?.result ?? '';
        const message = drill.account.published[0]?.message ?? '';
        return [
          ...(/taking over a lock no execution of this controller can hold \(holder "maintenance-window"/.test(lockStep) ? [] : [`the lock step says ${JSON.stringify(lockStep)}`]),
          ...(message.includes('taking over a lock no execution of this controller can hold') ? [] : ['the notification does not report the forged lock']),
          // The run released it: no forged lock is left behind either.
          ...((await drill.store.getLock(drill.config.groups[0].name)) === undefined ? [] : ['a lock is still held after the run']),
        ];
      },
    }),
  },
  {
    name: 'alarm-while-paused',
    summary: 'The group is PAUSED and one of its alarms goes to ALARM: the execution ends SKIPPED without touching anything, and since nothing handles that outage, the topic is told.',
    run: async (drill, group) => {
      const now = drill.account.clock.now();
      await drill.store.putGroupState({ group: group.name, status: 'PAUSED', reason: 'database upgrade, CHG-1234', updatedAt: new Date(now).toISOString() });
      await drill.run({ input: drill.alarmExecutionInput(group.name, group.alarms[0]) });
    },
    expect: () => ({
      outcomes: ['SKIPPED'],
      ...untouched,
      check: (drill) => {
        const changes = drill.account.apiCalls.filter((c) => c.mutating && !['sns', 'sqs'].includes(c.service));
        const subjects = drill.account.published.map((m) => m.subject);
        return [
          ...(changes.length === 0 ? [] : [`a SKIPPED run changed something: ${changes.map((c) => c.operation).join(', ')}`]),
          ...(subjects.length === 1 && /^failover orders: SKIPPED/.test(subjects[0] ?? '') ? [] : [`notifications ${JSON.stringify(subjects)}, expected one SKIPPED`]),
          ...(drill.account.published[0]?.message?.includes('PAUSED') ? [] : ['the notification does not say the group is PAUSED']),
        ];
      },
    }),
  },
];
