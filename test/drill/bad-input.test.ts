/**
 * Bad execution input gets a clear error and changes nothing: each malformed input, run through the
 * real workflow definition in the drill, fails with InvalidInput naming the field and the value, with
 * no AWS call at all and no history item. (The config's own corpus is in test/config.test.ts; a config
 * with problems stops the synth, so nothing is ever deployed from it: test/app.test.ts.)
 */
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../lambdas/core/config';
import { Drill } from '../../lib/drill/drill';

const valid = { group: 'orders', reason: 'primary unreachable', trigger: { type: 'manual' } };
const long = 'x'.repeat(1025);

const CORPUS: Array<[string, unknown, string]> = [
  // Wrong types
  ['input not an object', 'failover orders', '(input): must be an object, got "failover orders"'],
  ['group not a string', { ...valid, group: 42 }, 'group: must be a string, got 42'],
  ['reason not a string', { ...valid, reason: ['down'] }, 'reason: must be a string, got ["down"]'],
  ['trigger not an object', { ...valid, trigger: 'manual' }, 'trigger: must be an object, got "manual"'],
  ['dryRun not a boolean', { ...valid, dryRun: 'true' }, 'dryRun: must be a boolean, got "true"'],
  ['force not a boolean', { ...valid, force: 1 }, 'force: must be a boolean, got 1'],
  // Missing fields
  ['no group', { reason: 'x', trigger: { type: 'manual' } }, 'group: is required'],
  ['no reason', { group: 'orders', trigger: { type: 'manual' } }, 'reason: is required'],
  ['no trigger', { group: 'orders', reason: 'x' }, 'trigger: is required'],
  ['no trigger type', { ...valid, trigger: {} }, 'trigger.type: is required'],
  // Values out of their domain
  ['unknown group', { ...valid, group: 'payments' }, 'group: unknown group "payments"; known groups: orders'],
  ['group from the prototype', { ...valid, group: 'constructor' }, 'group: unknown group "constructor"; known groups: orders'],
  ['unknown trigger type', { ...valid, trigger: { type: 'cron' } }, 'trigger.type: must be one of probe, alarm, manual, got "cron"'],
  ['unknown mode', { ...valid, mode: 'failback' }, 'mode: must be "failover" or "switchover", got "failback"'],
  ['trigger time not ISO 8601', { ...valid, trigger: { type: 'manual', at: 'yesterday' } }, 'trigger.at: must be an ISO 8601 time such as 2026-01-01T00:00:00Z, got "yesterday"'],
  ['trigger time in the future', { ...valid, trigger: { type: 'manual', at: '2030-01-01T00:00:00Z' } }, 'trigger.at: must not be in the future, got "2030-01-01T00:00:00Z"'],
  ['unknown field', { ...valid, dryrun: true }, 'dryrun: is not a known field'],
  // The trigger ends up in the history and the notification: only what our own triggers send.
  ['unknown trigger field', { ...valid, trigger: { type: 'manual', by: 'alice', ticket: 'see https://attacker.example.net' } }, 'trigger.ticket: is not a known field'],
  ['a field of another trigger type', { ...valid, trigger: { type: 'manual', stateReason: 'Threshold Crossed' } }, 'trigger.stateReason: is not a field of a manual trigger, got "Threshold Crossed"'],
  ['control characters in the trigger', { ...valid, trigger: { type: 'manual', by: 'alice\u001b[2J' } }, 'trigger.by: must not contain control characters, got "alice\\u001b[2J"'],
  // Strings that would end up in logs, records and notifications
  ['empty reason', { ...valid, reason: '' }, 'reason: must not be empty, got ""'],
  ['oversized reason', { ...valid, reason: long }, `reason: must be at most 1024 characters, got "${'x'.repeat(76)}...`],
  ['control characters in the reason', { ...valid, reason: 'down\u001b[2J' }, 'reason: must not contain control characters, got "down\\u001b[2J"'],
  ['control characters in the group', { ...valid, group: 'orders\n' }, 'group: must not contain control characters, got "orders\\n"'],
];

let drill: Drill;
beforeAll(async () => {
  drill = await Drill.create(loadConfigFile(resolve(__dirname, '..', '..', 'failover.config.json')));
});
afterAll(async () => {
  await drill.close();
});

describe('malformed execution input', () => {
  it.each(CORPUS)('%s: InvalidInput naming the field and the value, nothing touched', async (_name, input, expected) => {
    const [run] = await drill.run({ input });

    expect(run.status).toBe('FAILED');
    expect(run.error).toBe('InvalidInput');
    expect(run.cause).toBe(expected);
    // Only the Plan step ran: no lock, no AWS call, no record.
    expect(run.tasks.map((t) => t.state)).toEqual(['Plan']);
    expect(drill.account.apiCalls).toEqual([]);
    expect(await drill.store.listHistory()).toEqual([]);
    expect(await drill.store.getLock('orders')).toBeUndefined();
  });

  it('reports every problem of one input at once', async () => {
    const [run] = await drill.run({ input: { group: 7, trigger: { type: 'pager' }, mode: 'x' } });

    expect(run.cause!.split('; ')).toEqual([
      'group: must be a string, got 7',
      'reason: is required',
      'trigger.type: must be one of probe, alarm, manual, got "pager"',
      'mode: must be "failover" or "switchover", got "x"',
    ]);
  });
});
