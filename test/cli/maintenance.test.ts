/**
 * `pause`, `resume` and `rearm` against the store on dynalite: what each writes, what each refuses
 * (and then leaves untouched), and rearm's check that the config describes the new topology.
 */
import 'aws-sdk-client-mock-vitest/extend';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeStateMachineCommand } from '@aws-sdk/client-sfn';
import { describe, expect, it } from 'vitest';
import type { GroupState, Store } from '../../lambdas/core/store';
import type { CliDeps } from '../../lib/cli/deployment';
import { loadConfigFile } from '../../lambdas/core/config';
import { groupDigest, groupDigests } from '../../lambdas/core/deployed-group';
import {
  CONFIG,
  INSTANCE,
  REPLICA,
  REPLICA_ENDPOINT,
  STATE_MACHINE,
  T0,
  USER,
  executionArn,
  historyItem,
  runCli,
  useDeployment,
} from './support';

let store: Store;
let deps: Partial<CliDeps>;
const { sfn } = useDeployment((d) => ({ store, deps } = d));

const NOW = T0 + 3_600_000;
const LAST = historyItem(T0);
const FAILED_OVER: GroupState = {
  group: 'orders',
  status: 'FAILED_OVER',
  primary: { kind: 'rds', id: REPLICA, endpointAddress: REPLICA_ENDPOINT },
  reason: `failed over by ${LAST.executionName}: ${LAST.reason}`,
  lastFailover: { executionArn: LAST.executionArn, at: LAST.endedAt, outcome: 'SUCCEEDED', rtoSeconds: 245.5 },
  updatedAt: LAST.endedAt,
};

async function seedFailedOver(): Promise<void> {
  await store.putHistory(LAST);
  await store.putGroupState(FAILED_OVER);
}

/** The example config after the operator described the new topology: a new primary and a new replica. */
function updatedConfig(): string {
  const raw = JSON.parse(readFileSync(CONFIG, 'utf8'));
  raw.groups[0].primary = { instanceId: 'i-0fedcba9876543210', region: 'us-west-2' };
  raw.groups[0].replica = { ...raw.groups[0].replica, dbInstanceIdentifier: 'orders-replica-2', region: 'us-east-1' };
  const dir = mkdtempSync(join(tmpdir(), 'failoverctl-'));
  const path = join(dir, 'failover.config.json');
  writeFileSync(path, JSON.stringify(raw));
  return path;
}

/** The deployed state machine's definition, naming the groups of `configPath` by digest. */
function deployedDefinition(configPath: string): void {
  const definition = { StartAt: 'Plan', States: { Plan: { Type: 'Task', Parameters: { groupDigests: groupDigests(loadConfigFile(configPath).groups) } } } };
  sfn.on(DescribeStateMachineCommand, { stateMachineArn: STATE_MACHINE }).resolves({ definition: JSON.stringify(definition) } as never);
}

describe('pause', () => {
  it('ARMED -> PAUSED, with who and why; the text says what it means', async () => {
    const r = await runCli(['pause', 'orders', '--reason', 'database upgrade, CHG-1234'], { deps, now: NOW });
    expect(r).toMatchObject({
      code: 0,
      stderr: '',
      stdout: [
        'orders is now PAUSED: probes and alarms no longer start a failover; a manual failover still runs.',
        `  reason: paused by ${USER}: database upgrade, CHG-1234`,
        '  resume with: failoverctl resume orders',
        '',
      ].join('\n'),
    });
    expect(await store.getGroupState('orders')).toEqual({ group: 'orders', status: 'PAUSED', reason: `paused by ${USER}: database upgrade, CHG-1234`, updatedAt: new Date(NOW).toISOString() });
  });

  it('--json; pausing again updates the reason and keeps the last failover', async () => {
    await store.putGroupState({ group: 'orders', status: 'ARMED', lastFailover: FAILED_OVER.lastFailover, updatedAt: LAST.endedAt });
    await runCli(['pause', 'orders', '--reason', 'first'], { deps, now: NOW });
    const r = await runCli(['pause', 'orders', '--reason', 'second', '--json'], { deps, now: NOW + 1000 });
    expect(JSON.parse(r.stdout)).toEqual({
      group: 'orders',
      previous: 'PAUSED',
      status: 'PAUSED',
      changed: true,
      reason: `paused by ${USER}: second`,
      updatedAt: new Date(NOW + 1000).toISOString(),
    });
    expect((await store.getGroupState('orders'))?.lastFailover).toEqual(FAILED_OVER.lastFailover);
  });

  it('refuses a FAILED_OVER group (exit 4, unchanged): pausing would hide the failover', async () => {
    await seedFailedOver();
    const r = await runCli(['pause', 'orders', '--reason', 'x'], { deps, now: NOW });
    expect(r.code).toBe(4);
    expect(r.stderr).toBe(
      'failoverctl: orders is FAILED_OVER: it already ignores automatic triggers, and pausing would hide that it failed over; describe the new topology in the config, deploy it, then run failoverctl rearm orders\n',
    );
    expect(await store.getGroupState('orders')).toEqual(FAILED_OVER);
  });

  it('refuses while an execution holds the lock, unless --force', async () => {
    await store.acquireLock('orders', 'local:local-orders-20260101T005900Z', NOW - 60_000, 3900);
    const r = await runCli(['pause', 'orders', '--reason', 'x'], { deps, now: NOW });
    expect(r.code).toBe(4);
    expect(r.stderr).toBe(
      'failoverctl: a failover of orders is in progress (local:local-orders-20260101T005900Z); pausing would race with its record: wait until it ends (failoverctl status orders), or pass --force\n',
    );
    expect(await store.getGroupState('orders')).toBeUndefined();
    expect((await runCli(['pause', 'orders', '--reason', 'x', '--force'], { deps, now: NOW })).code).toBe(0);
    expect((await store.getGroupState('orders'))?.status).toBe('PAUSED');
  });
});

describe('resume', () => {
  it('PAUSED -> ARMED', async () => {
    await store.putGroupState({ group: 'orders', status: 'PAUSED', reason: `paused by ${USER}: upgrade`, updatedAt: new Date(T0).toISOString() });
    const r = await runCli(['resume', 'orders', '--reason', 'upgrade done'], { deps, now: NOW });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`orders is ARMED again: probes and alarms start a failover when the primary fails.\n  was: paused by ${USER}: upgrade\n`);
    expect(await store.getGroupState('orders')).toMatchObject({ status: 'ARMED', reason: `resumed by ${USER}: upgrade done` });
  });

  it('an ARMED group: nothing to do, exit 0', async () => {
    const r = await runCli(['resume', 'orders', '--json'], { deps, now: NOW });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ group: 'orders', previous: 'ARMED', status: 'ARMED', changed: false, reason: null, updatedAt: null });
    expect(await store.getGroupState('orders')).toBeUndefined();
  });

  it('never re-arms a FAILED_OVER group: exit 4, points at rearm, unchanged', async () => {
    await seedFailedOver();
    const r = await runCli(['resume', 'orders'], { deps, now: NOW });
    expect(r.code).toBe(4);
    expect(r.stderr).toBe(
      'failoverctl: orders is FAILED_OVER, not PAUSED: resume does not re-arm a group after a failover; describe the new topology in the config, deploy it, then run failoverctl rearm orders\n',
    );
    expect(await store.getGroupState('orders')).toEqual(FAILED_OVER);
  });
});

describe('rearm', () => {
  it('refuses while the config still names the fenced primary and the promoted replica (exit 4, unchanged)', async () => {
    await seedFailedOver();
    deployedDefinition(CONFIG);
    const r = await runCli(['rearm', 'orders'], { deps, now: NOW });
    expect(r.code).toBe(4);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      `failoverctl: refusing to re-arm orders: the config (failover.config.json) still names ${INSTANCE} as the primary (fenced by ${LAST.executionName} at 2026-01-01 09:04:05 +09:00) ` +
        `and ${REPLICA} as the replica (promoted: no longer a read replica), and so does the deployed stack. ` +
        'Describe the new topology in the config, deploy it (npx cdk deploy), then run rearm again, or pass --force\n',
    );
    expect(await store.getGroupState('orders')).toEqual(FAILED_OVER);
  });

  it('refuses when only the config file was updated, not deployed', async () => {
    await seedFailedOver();
    const updated = updatedConfig();
    deployedDefinition(CONFIG);
    const r = await runCli(['rearm', 'orders', '--config', updated], { deps, now: NOW });
    expect(r.code).toBe(4);
    expect(r.stderr).toBe(
      `failoverctl: refusing to re-arm orders: the deployed stack's config of orders (digest ${groupDigest(loadConfigFile(CONFIG).groups[0])}) ` +
        `is not the config file's (${groupDigest(loadConfigFile(updated).groups[0])}): deploy it (npx cdk deploy). ` +
        'Describe the new topology in the config, deploy it (npx cdk deploy), then run rearm again, or pass --force\n',
    );
    expect(r.stderr).not.toContain('the config (');
  });

  it('refuses when the deployed stack has no such group', async () => {
    await seedFailedOver();
    const updated = updatedConfig();
    sfn.on(DescribeStateMachineCommand, { stateMachineArn: STATE_MACHINE }).resolves({
      definition: JSON.stringify({ StartAt: 'Plan', States: { Plan: { Type: 'Task', Parameters: { groupDigests: { billing: '0123456789abcdef' } } } } }),
    } as never);
    const r = await runCli(['rearm', 'orders', '--config', updated], { deps, now: NOW });
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/^failoverctl: refusing to re-arm orders: the deployed state machine has no group orders \(deploy the config: npx cdk deploy\)\. /);
  });

  it('re-arms once the config and the deployment describe the new topology; the last failover is kept for the cooldown', async () => {
    await seedFailedOver();
    const updated = updatedConfig();
    deployedDefinition(updated);
    const r = await runCli(['rearm', 'orders', '--config', updated, '--reason', 'new primary in us-west-2'], { deps, now: NOW });
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(
      'orders is ARMED again: probes and alarms fail it over when its primary, i-0fedcba9876543210, fails.\n' +
        '  the cooldown after the last failover (2026-01-01 09:04:05 +09:00) is 30 min\n',
    );
    expect(await store.getGroupState('orders')).toEqual({
      group: 'orders',
      status: 'ARMED',
      reason: `re-armed by ${USER}: new primary in us-west-2`,
      lastFailover: FAILED_OVER.lastFailover,
      updatedAt: new Date(NOW).toISOString(),
    });
  });

  it('--force re-arms anyway, with a warning per problem', async () => {
    await seedFailedOver();
    const r = await runCli(['rearm', 'orders', '--force', '--table', store.tableName], { deps, now: NOW });
    expect(r.code).toBe(0);
    expect(r.stderr).toBe(
      `warning: re-arming anyway (--force): the config (failover.config.json) still names ${INSTANCE} as the primary (fenced by ${LAST.executionName} at 2026-01-01 09:04:05 +09:00) ` +
        `and ${REPLICA} as the replica (promoted: no longer a read replica)\n`,
    );
    expect((await store.getGroupState('orders'))?.status).toBe('ARMED');
    // Only the table was given: the deployed definition was not read.
    expect(sfn).not.toHaveReceivedCommand(DescribeStateMachineCommand);
  });

  it('a PAUSED group is for resume; an ARMED one needs nothing', async () => {
    await store.putGroupState({ group: 'orders', status: 'PAUSED', updatedAt: new Date(T0).toISOString() });
    const paused = await runCli(['rearm', 'orders'], { deps, now: NOW });
    expect(paused.code).toBe(4);
    expect(paused.stderr).toBe('failoverctl: orders is PAUSED, not FAILED_OVER: use failoverctl resume orders\n');
    await store.putGroupState({ group: 'orders', status: 'ARMED', updatedAt: new Date(T0).toISOString() });
    const armed = await runCli(['rearm', 'orders'], { deps, now: NOW });
    expect(armed).toMatchObject({ code: 0, stdout: 'orders is already ARMED; nothing changed.\n' });
  });

  it('without the failover history item it cannot check the config: refuses without --force', async () => {
    await store.putGroupState({ ...FAILED_OVER, primary: undefined, lastFailover: { ...FAILED_OVER.lastFailover!, executionArn: executionArn('gone') } });
    const r = await runCli(['rearm', 'orders', '--config', updatedConfig(), '--table', store.tableName], { deps, now: NOW });
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('no history item of the last failover was found to check the config against');
  });
});
