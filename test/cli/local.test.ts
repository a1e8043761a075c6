/**
 * Break-glass: `failover <group> --local` runs the synthesized workflow with the real step code from
 * the operator's machine. Here "the account" is the drill's simulated AWS account and the deployment's
 * table is dynalite (the Drill sets up exactly that); the assertions are on what the account and the
 * store hold afterwards.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Store } from '../../lambdas/core/store';
import { loadConfigFile, type FailoverConfig } from '../../lambdas/core/config';
import { Drill } from '../../lib/drill/drill';
import { accountDeps } from '../support/drill';
import { CONFIG, INSTANCE, REPLICA, REPLICA_ENDPOINT, USER, runCli } from './support';

let config: FailoverConfig;
beforeAll(() => {
  config = loadConfigFile(CONFIG);
});

let drill: Drill | undefined;
afterEach(async () => {
  await drill?.close();
  drill = undefined;
});

/** The CLI's clients and store are the simulated account's and the drill's; its clock is the account's. */
const depsFor = accountDeps;

const argv = (d: Drill, ...more: string[]) => ['failover', 'orders', '--local', '--reason', 'Step Functions unavailable in us-west-2', '--table', d.tableName, '--topic-arn', d.topicArn, ...more];

describe('failover --local (break-glass)', () => {
  it('prints what it would do and needs --yes: without it nothing runs', async () => {
    drill = await Drill.create(config);
    const r = await runCli(argv(drill), { deps: depsFor(drill), answer: 'y' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('BREAK-GLASS: A failover of orders, run from this machine, not in Step Functions\n');
    expect(r.stderr).toContain(`  records to: table ${drill.tableName}; notifies ${drill.topicArn}\n`);
    expect(r.stderr).toContain('failoverctl: failover --local runs the workflow from this machine with your credentials: review the plan above, then run it again with --yes\n');
    expect(drill.account.instance(INSTANCE)?.state).toBe('running');
    expect(drill.account.apiCalls).toEqual([]);
    expect(await drill.store.listHistory({ group: 'orders' })).toEqual([]);
  });

  it('with --yes: fences, promotes, flips DNS, and records the run as local in the same store', async () => {
    drill = await Drill.create(config);
    const start = drill.account.clock.now();
    const r = await runCli(argv(drill, '--yes'), { deps: depsFor(drill) });
    expect(r.stderr).not.toContain('failoverctl:');
    expect(r.code).toBe(0);

    const { account, store } = drill;
    expect(account.instance(INSTANCE)?.state).toBe('stopped');
    expect(account.dbInstance(REPLICA)).toMatchObject({ status: 'available', replicaOf: undefined, endpointAddress: REPLICA_ENDPOINT });
    expect(account.record('Z0EXAMPLE1234567890AB', 'db.orders.example.com', 'CNAME')?.values).toEqual([REPLICA_ENDPOINT]);
    // Fence before promote: the instance stopped and the old database fenced before PromoteReadReplica was called.
    const stop = account.apiCalls.find((c) => c.operation === 'StopInstances')!;
    const reboot = account.apiCalls.find((c) => c.operation === 'RebootDBInstance')!;
    const promote = account.apiCalls.find((c) => c.operation === 'PromoteReadReplica')!;
    expect(stop.at).toBeLessThan(promote.at);
    expect(reboot.at).toBeLessThan(promote.at);

    const name = `local-orders-${new Date(start).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '')}`;
    const [item] = await store.listHistory({ group: 'orders' });
    expect(item).toMatchObject({
      executionName: name,
      executionArn: `local:${name}`,
      trigger: { type: 'manual', by: USER, local: true },
      reason: 'Step Functions unavailable in us-west-2',
      outcome: 'SUCCEEDED',
      fence: { instanceId: INSTANCE, finalState: 'stopped', confirmed: true },
      promotion: { dbInstanceIdentifier: REPLICA, confirmed: true },
      notification: { notified: true, error: null },
    });
    expect(await store.getLock('orders')).toBeUndefined();
    expect(await store.getGroupState('orders')).toMatchObject({ status: 'FAILED_OVER', primary: { id: REPLICA }, lastFailover: { executionArn: `local:${name}` } });
    expect(account.published).toHaveLength(1);

    // The changing calls as they returned, the steps from the history item, the outcome.
    expect(r.stdout).toMatch(/^Running local:local-orders-\d{8}T\d{6}Z locally/);
    expect(r.stdout).toMatch(/\n +\+[\d.]+ s {2}ec2:StopInstances i-0a1b2c3d4e5f60718 \(force\)\n/);
    expect(r.stdout).toMatch(/\n +\+[\d.]+ s {2}rds:ModifyDBInstance orders-primary-db security groups -> sg-\w+\n/);
    expect(r.stdout).toMatch(/\n +\+\dm \d\ds {2}route53:ChangeResourceRecordSets UPSERT CNAME db\.orders\.example\.com, UPSERT A api\.orders\.example\.com\n/);
    expect(r.stdout).toContain('Steps (from the history item):\n');
    expect(r.stdout).toMatch(/\n +\+[\d.]+ s {2}fence +[\d.]+ s {2}i-0a1b2c3d4e5f60718 confirmed stopped\n/);
    expect(r.stdout).toContain(
      `\nSUCCEEDED: failed over orders: ${INSTANCE} fenced (stopped), old database orders-primary-db fenced (deny-all security group, rebooted), ${REPLICA} promoted, 2 DNS record(s) INSYNC\n`,
    );
    expect(r.stdout).toContain(`  local:${name}\n`);
  });

  it('a local dry run changes nothing and records DRY_RUN; --json gives the result object', async () => {
    drill = await Drill.create(config);
    const r = await runCli(argv(drill, '--yes', '--dry-run', '--json'), { deps: depsFor(drill) });
    expect(r.code).toBe(0);
    const json = JSON.parse(r.stdout);
    expect(json).toMatchObject({ local: true, consoleUrl: null, status: 'SUCCEEDED', outcome: 'DRY_RUN', error: null, history: { outcome: 'DRY_RUN', dryRun: true } });
    expect(json.executionArn).toMatch(/^local:local-orders-/);
    expect(drill.account.instance(INSTANCE)?.state).toBe('running');
    expect(drill.account.apiCalls.filter((c) => c.mutating && !c.dryRun).map((c) => c.operation)).toEqual(['Publish']);
  });
});

describe('what break-glass still needs of the controller: its table and its topic', () => {
  it('the table cannot be reached: the run stops before any change, exit 3, and says which call failed', async () => {
    drill = await Drill.create(config);
    // A DynamoDB endpoint that refuses connections at once, as a region whose DynamoDB is gone would after its timeout.
    const refused = new DynamoDBClient({ region: 'us-west-2', endpoint: 'http://127.0.0.1:9', maxAttempts: 1, credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'example' } });
    const r = await runCli(argv(drill, '--yes'), { deps: { ...depsFor(drill), store: (table) => new Store(refused, table) } });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/failoverctl: .*DynamoDB.*GetItem/);
    expect(drill.account.instance(INSTANCE)?.state).toBe('running');
    expect(drill.account.dbInstance(REPLICA)?.replicaOf).toBeDefined();
    expect(drill.account.apiCalls.filter((c) => c.mutating)).toEqual([]);
  });

  it('the topic cannot be reached: the failover completes, and the record and the output say nobody was notified', async () => {
    drill = await Drill.create(config);
    drill.account.setRegionReachable('us-west-2', false, ['sns']);
    const r = await runCli(argv(drill, '--yes'), { deps: depsFor(drill) });
    expect(drill.account.instance(INSTANCE)?.state).toBe('stopped');
    expect(drill.account.dbInstance(REPLICA)?.replicaOf).toBeUndefined();
    expect(drill.account.published).toEqual([]);
    const [item] = await drill.store.listHistory({ group: 'orders' });
    expect(item).toMatchObject({ outcome: 'SUCCEEDED', notification: { notified: false, error: expect.stringMatching(/Timeout/) } });
    expect(r.stdout).toMatch(/sns:Publish .* -> TimeoutError/);
    expect(r.code).toBe(0);
  });
});
