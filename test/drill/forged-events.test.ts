/**
 * Forged step events (issue 13, item 2). Anyone allowed to invoke a step's function can send it any
 * state; IAM limits the DNS change to the configured names, types and UPSERT, not to values, and the
 * fence and promotion to the configured ARNs of every group. Each step is invoked here as such a caller
 * would, with a state that names other records, values, instances, regions and replicas, against the
 * simulated account holding the drill's deployed config (the real step code, the drill's StepDeps).
 * Asserted is what a user would see: a record's value, an instance's state, what was promoted.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { GroupConfig } from '../../lambdas/core/config';
import { groupDigest } from '../../lambdas/core/deployed-group';
import type { Plan, WorkflowState } from '../../lambdas/core/workflow-state';
import { runStep } from '../../lambdas/steps';
import { Drill } from '../../lib/drill/drill';
import { manual } from '../../lib/drill/scenarios/kit';
import { exampleConfig } from '../support/drill';

const ATTACKER = 'attacker.example.net';
/** Resources of the same account the deployed group does not name. */
const OTHER_INSTANCE = 'i-0ffffffffffffffff';
const OTHER_REPLICA = 'reports-replica';

let drill: Drill;
afterEach(async () => {
  await drill?.close();
});

/** The drill, with an instance and a replica of the same source that the group does not name. */
async function drillWithBystanders(): Promise<{ drill: Drill; group: GroupConfig }> {
  drill = await Drill.create(exampleConfig());
  const group = drill.config.groups[0];
  drill.account.addInstance({ instanceId: OTHER_INSTANCE, region: group.primary.region, state: 'running' });
  drill.account.addInstance({ instanceId: OTHER_INSTANCE.replace('f', 'e'), region: 'eu-west-1', state: 'running' });
  const source = drill.topology.get(group.name)!;
  drill.account.addDbInstance({ id: OTHER_REPLICA, region: group.replica.region, replicaOf: `arn:aws:rds:${source.sourceRegion}:123456789012:db:${source.sourceDbId}` });
  return { drill, group };
}

/**
 * A plan as a forger writes it: the group as older versions carried it (its whole config, no digest),
 * with `change` applied; a manual failover that started a minute ago.
 */
function forgedPlan(group: GroupConfig, change: (g: GroupConfig) => GroupConfig = (g) => g): Plan {
  const now = drill.account.clock.now();
  return {
    executionArn: 'arn:aws:states:us-west-2:123456789012:execution:drill-StateMachine:forged',
    executionName: 'forged',
    group: change(structuredClone(group)) as unknown as Plan['group'],
    reason: 'forged',
    trigger: { type: 'manual' },
    mode: 'failover',
    dryRun: false,
    force: true,
    startedAt: now - 60_000,
    triggeredAt: now - 60_000,
  };
}

const dnsResult = (name: string, type: string, after: string[]) => ({
  startedAt: 0,
  confirmed: false,
  dryRun: false,
  polls: 0,
  reason: 'forged',
  changes: [{ name, type, ttl: 5, before: null, after }],
});

const failure = (p: Promise<unknown>) => p.then(() => { throw new Error('expected the step to fail'); }, (err: Error) => err);

describe('a forged event against the DNS step', () => {
  it("before any failover, the issue's reproduction changes nothing: the chosen replica is not promoted, and no value comes from the event", async () => {
    // Arrange: the state: its own changes, promoted address and record.
    const { group } = await drillWithBystanders();
    const record = group.dns.records[0];
    const before = drill.account.record(group.dns.hostedZoneId, record.name, record.type);
    const state: WorkflowState = {
      plan: forgedPlan(group, (g) => ({ ...g, dns: { ...g.dns, records: [{ ...g.dns.records[0], target: undefined, values: [ATTACKER] }] } })),
      promote: { dbInstanceIdentifier: group.replica.dbInstanceIdentifier, endpointAddress: ATTACKER, confirmed: true, status: 'available', alreadyPromoted: false, dryRun: false, reason: 'forged', polls: 1, startedAt: 0 },
      dns: dnsResult(record.name, record.type, [ATTACKER]),
    };

    // Act
    const error = await failure(runStep('flip-dns', { action: 'apply', state }, drill.deps));

    // Assert
    expect(error.name).toBe('DnsChangeFailed');
    expect(error.message).toBe(`${group.replica.dbInstanceIdentifier} (${group.replica.region}) is still a read replica of ${group.replica.source}: not pointing DNS at a database that has not been promoted`);
    expect(drill.account.record(group.dns.hostedZoneId, record.name, record.type)).toEqual(before);
    expect(drill.account.apiCalls.filter((c) => c.operation === 'ChangeResourceRecordSets')).toEqual([]);
  });

  it('after a real failover, a forged change writes only the deployed value: the promoted replica as RDS reports it, with the configured TTL', async () => {
    // Arrange: the failover went through; the record points at the promoted replica.
    const { group } = await drillWithBystanders();
    const [run] = await drill.run(manual(group, {}));
    expect(run.output.outcome).toBe('SUCCEEDED');
    const record = group.dns.records[0];
    const promoted = drill.account.dbInstance(group.replica.dbInstanceIdentifier)!.endpointAddress;
    const state: WorkflowState = {
      plan: forgedPlan(group, (g) => ({ ...g, dns: { ...g.dns, records: [{ name: 'www.example.com', type: 'CNAME', ttl: 5, values: [ATTACKER] }] } })),
      assess: { startedAt: 0, decision: 'proceed', reason: 'forged', lagSeconds: 0, chosen: { id: group.replica.dbInstanceIdentifier, region: group.replica.region } },
      promote: { dbInstanceIdentifier: group.replica.dbInstanceIdentifier, endpointAddress: ATTACKER, confirmed: true, status: 'available', alreadyPromoted: false, dryRun: false, reason: 'forged', polls: 1, startedAt: 0 },
      dns: dnsResult(record.name, record.type, [ATTACKER]),
    };

    // Act
    const result = (await runStep('flip-dns', { action: 'apply', state }, drill.deps)) as { changes: Array<{ after: string[] }> };

    // Assert
    expect(drill.account.record(group.dns.hostedZoneId, record.name, record.type)).toMatchObject({ ttl: record.ttl, values: [promoted] });
    expect(drill.account.record(group.dns.hostedZoneId, 'www.example.com', 'CNAME')).toBeUndefined();
    expect(drill.account.records(group.dns.hostedZoneId).flatMap((r) => r.values)).not.toContain(ATTACKER);
    expect(result.changes.map((c) => c.after)).toEqual([[promoted], ...group.dns.records.slice(1).map((r) => r.values)]);
  });
});

describe('a forged event against the fence', () => {
  it("stops the deployed writers only, in the deployed region: instances the event names instead keep running", async () => {
    // Arrange: the event names another instance of the account, and one in another region.
    const { group } = await drillWithBystanders();
    const state: WorkflowState = {
      plan: forgedPlan(group, (g) => ({ ...g, primary: { ...g.primary, instanceId: OTHER_INSTANCE, additionalInstanceIds: [OTHER_INSTANCE.replace('f', 'e')], region: 'eu-west-1' } })),
    };

    // Act
    await runStep('fence-primary', { action: 'start', state }, drill.deps);

    // Assert: what a direct invocation can do is what the deployed config says a failover does.
    expect(drill.account.instance(OTHER_INSTANCE)!.state).toBe('running');
    expect(drill.account.instance(OTHER_INSTANCE.replace('f', 'e'))!.state).toBe('running');
    expect(['stopping', 'stopped']).toContain(drill.account.instance(group.primary.instanceId)!.state);
    const stopped = drill.account.apiCalls.filter((c) => c.operation === 'StopInstances').map((c) => `${c.region} ${JSON.stringify(c.input)}`);
    expect(stopped.every((c) => c.startsWith(`${group.primary.region} `) && c.includes(group.primary.instanceId)), stopped.join('\n')).toBe(true);
  });

  it('refuses a poll whose fence result names an instance the group does not: InvalidInput, that instance keeps running', async () => {
    const { group } = await drillWithBystanders();
    const state: WorkflowState = {
      plan: forgedPlan(group),
      fence: {
        instanceId: group.primary.instanceId, confirmed: false, state: 'stopping', method: 'force-stop', dryRun: false, reason: 'forged', polls: 0, startedAt: drill.account.clock.now(),
        instances: [
          { id: group.primary.instanceId, state: 'stopped', fenced: true, method: 'force-stop', seen: true, stops: 1, reason: 'forged' },
          { id: OTHER_INSTANCE, state: 'stopping', fenced: false, method: 'force-stop', seen: true, stops: 1, reason: 'forged' },
        ],
      },
    };

    const error = await failure(runStep('fence-primary', { action: 'check', state }, drill.deps));

    expect(error.name).toBe('InvalidInput');
    expect(error.message).toContain(`"${OTHER_INSTANCE}" is no writer of ${group.name}`);
    expect(drill.account.instance(OTHER_INSTANCE)!.state).toBe('running');
    expect(drill.account.apiCalls.filter((c) => c.service === 'ec2')).toEqual([]);
  });
});

describe('a forged event against the promotion', () => {
  it.each([
    ['a replica of the same source that the group does not name', OTHER_REPLICA, 'us-west-2'],
    ["the group's replica, said to be in another region", 'orders-replica', 'eu-west-1'],
  ])('a chosen replica that is no candidate (%s) is refused with InvalidInput: nothing is promoted', async (_, id, region) => {
    const { group } = await drillWithBystanders();
    const state: WorkflowState = {
      plan: forgedPlan(group, (g) => ({ ...g, replica: { ...g.replica, dbInstanceIdentifier: id, region } })),
      assess: { startedAt: 0, decision: 'proceed', reason: 'forged', lagSeconds: 0, chosen: { id, region } },
    };

    const error = await failure(runStep('promote-replica', { action: 'start', state }, drill.deps));

    expect(error.name).toBe('InvalidInput');
    expect(error.message).toBe(`assess.chosen: "${id}" in "${region}" is not a candidate replica of ${group.name} (${group.replica.dbInstanceIdentifier} in ${group.replica.region}); not acting on it`);
    expect(drill.account.dbInstance(OTHER_REPLICA)!.promotionStartedAt).toBeUndefined();
    expect(drill.account.dbInstance(group.replica.dbInstanceIdentifier)!.promotionStartedAt).toBeUndefined();
    expect(drill.account.apiCalls.filter((c) => c.operation === 'PromoteReadReplica')).toEqual([]);
  });
});

describe('a deployment that does not agree with itself', () => {
  it("a definition of another config than the functions': the Plan fails with ConfigMismatch, nothing is touched", async () => {
    // Arrange: the definition names another version of the group (a deployment half done).
    const { group } = await drillWithBystanders();
    const definition = structuredClone(drill.synth.definition);
    definition.States.Plan.Parameters.groupDigests = { [group.name]: groupDigest({ ...group, fence: { ...group.fence, timeoutSeconds: 300 } }) };
    Object.assign(drill, { synth: { ...drill.synth, definition } });

    // Act
    const [run] = await drill.run(manual(group, {}));

    // Assert
    expect(run).toMatchObject({ status: 'FAILED', error: 'ConfigMismatch' });
    expect(run.cause).toMatch(new RegExp(`^the state machine's definition was deployed with config [0-9a-f]{16} of group ${group.name}, but the Plan function has config ${groupDigest(group)}: `));
    expect(run.tasks.map((t) => t.state)).toEqual(['Plan']);
    expect(drill.account.apiCalls).toEqual([]);
    expect(await drill.store.getLock(group.name)).toBeUndefined();
  });
});
