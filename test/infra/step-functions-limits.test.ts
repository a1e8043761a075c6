/**
 * Step Functions' size limits at synth: what grows with the config (measured on the synthesized stack
 * and on drill runs of a big group), the bounds the check uses against those measurements, the
 * problems it reports with their numbers, and the synth failing with them.
 */
import { readFileSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { App } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { parseConfig, type FailoverConfig } from '../../lambdas/core/config';
import { run as plan } from '../../lambdas/steps/plan';
import { groupDigests, groupsByName } from '../../lambdas/core/deployed-group';
import { withStateEvents } from '../../lib/bench/state-events';
import { Drill } from '../../lib/drill/drill';
import { manual, outage, runStarted } from '../../lib/drill/scenarios/kit';
import { FailoverControllerStack } from '../../lib/infra/stack';
import {
  definitionBytes, EXECUTION_INPUT_MAX_BYTES, MAX_FUNCTION_ARN_BYTES, planInputBytes, stepFunctionsLimitProblems, workflowStateBytes, WorkflowTooLarge,
} from '../../lib/infra/step-functions-limits';
import { synthesizeController } from '../../lib/runner/synth';
import { ordersGroup } from '../support/fixtures';

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

const exampleRaw = JSON.parse(readFileSync(resolvePath(__dirname, '..', '..', 'failover.config.json'), 'utf8')) as Json;
const bytes = (value: unknown) => Buffer.byteLength(typeof value === 'string' ? value : JSON.stringify(value), 'utf8');

/** The example group as group `i` of a config: its own name, instance, replica, source and records. */
function exampleGroup(i: number, change: (g: Json) => void = () => {}): Json {
  const g = structuredClone(exampleRaw.groups[0]);
  const n = String(i).padStart(3, '0');
  g.name = `orders-${n}`;
  g.primary.instanceId = `i-0a1b2c3d4e5f60${n}`;
  g.replica.dbInstanceIdentifier = `orders-${n}-replica`;
  g.replica.source = `arn:aws:rds:us-east-1:123456789012:db:orders-${n}-primary-db`;
  g.dns.records = g.dns.records.map((r: Json) => ({ ...r, name: r.name.replace('orders', `orders-${n}`) }));
  change(g);
  return g;
}

const configOf = (groups: Json[]): FailoverConfig => parseConfig({ ...structuredClone(exampleRaw), groups });

/**
 * A big group: 50 records (a CNAME to the promoted replica, then A records with four values and two per
 * other candidate), 20 additional instances, 4 additional replicas, 20 named probes (HTTP and TCP).
 */
function bigGroupConfig(options: { isolate?: boolean } = {}): FailoverConfig {
  return configOf([
    exampleGroup(0, (g) => {
      g.primary.additionalInstanceIds = Array.from({ length: 20 }, (_, i) => `i-0b${String(i).padStart(15, '0')}`);
      const regions = ['us-east-2', 'eu-west-1', 'eu-central-1', 'ap-southeast-2'];
      g.additionalReplicas = regions.map((region, i) => ({ dbInstanceIdentifier: `orders-replica-candidate-${i + 2}`, region }));
      g.dns.records = [
        { name: 'db.orders.example.com', type: 'CNAME', target: 'replicaEndpoint' },
        ...Array.from({ length: 49 }, (_, r) => ({
          name: `app-${r + 1}.orders.example.com`,
          type: 'A',
          values: [1, 2, 3, 4].map((v) => `198.51.100.${v}`),
          valuesByReplica: Object.fromEntries(g.additionalReplicas.map((c: Json, k: number) => [c.dbInstanceIdentifier, [`203.0.113.${k + 1}`, `203.0.113.${k + 101}`]])),
        })),
      ];
      g.probes = Array.from({ length: 20 }, (_, p) =>
        p % 2 === 0
          ? { type: 'http', name: `api health check number ${p}`, url: `https://api.orders.example.com/health/${p}`, bodyContains: 'ok', timeoutMs: 2000 }
          : { type: 'tcp', name: `postgres port ${p}`, host: '10.0.1.25', port: 5432, timeoutMs: 2000 },
      );
      if (options.isolate) {
        g.primary.vpcId = 'vpc-0a1b2c3d4e5f60718';
        g.fence = { ...g.fence, onUnconfirmed: 'isolate' };
      }
    }),
  ]);
}

/**
 * One group whose 20 probes, unnamed, have URLs of `length` characters (the schema bounds no URL): each
 * is named by its URL in the confirmation's results and reason.
 */
function longProbes(length: number): FailoverConfig {
  return configOf([
    exampleGroup(0, (g) => {
      g.probes = Array.from({ length: 20 }, (_, p) => {
        const url = `https://api.orders.example.com/health/${p}?check=`;
        return { type: 'http', url: url + 'x'.repeat(length - url.length) };
      });
    }),
  ]);
}

describe('definitionBytes', () => {
  it('counts a rendered string as its UTF-8 bytes', () => {
    expect(definitionBytes('{"Comment":"é"}')).toBe(16);
  });

  it('counts each token of an Fn::Join at the longest function ARN, 125 bytes', () => {
    const rendered = { 'Fn::Join': ['', ['{"Resource":"', { 'Fn::GetAtt': ['StepPlan', 'Arn'] }, '"}']] };

    expect(MAX_FUNCTION_ARN_BYTES).toBe(125);
    expect(definitionBytes(rendered)).toBe(13 + 125 + 2);
  });
});

describe('what grows with the config, measured on the synthesized stack', () => {
  const measure = (config: FailoverConfig) => {
    const { template, definition } = synthesizeController(config);
    const resources = template.Resources as Record<string, Json>;
    const machine = Object.values(resources).find((r) => r.Type === 'AWS::StepFunctions::StateMachine');
    const [, parts] = machine.Properties.DefinitionString['Fn::Join'] as [string, unknown[]];
    const tokens = parts.filter((p) => typeof p !== 'string') as Json[];
    const literal = parts.filter((p): p is string => typeof p === 'string').reduce((sum, p) => sum + bytes(p), 0);
    const digests = groupDigests(config.groups);
    return { rendered: machine.Properties.DefinitionString, resources, tokens, literal, deployed: bytes(definition), digests, states: literal - bytes(digests) };
  };

  it("the definition is its states plus every group's name and digest, no config; its only tokens are the step functions' ARNs", () => {
    // Arrange
    const one = measure(configOf([exampleGroup(0)]));
    const three = measure(configOf([0, 1, 2].map((i) => exampleGroup(i))));

    // Assert: three groups add exactly their names and digests to the same states.
    // About 16.5 KB (measured 16,506 bytes with this definition): lib/infra/step-functions-limits.ts says so.
    expect(one.states).toBeGreaterThan(15_000);
    expect(one.states).toBeLessThan(18_000);
    expect(three.states).toBe(one.states);
    expect(three.literal - one.literal).toBe(bytes(three.digests) - bytes(one.digests));
    expect(bytes(three.digests) - bytes(one.digests)).toBe(2 * bytes('"orders-001":"0123456789abcdef",'));
    for (const m of [one, three]) {
      expect(m.tokens).toHaveLength(21);
      for (const token of m.tokens) {
        expect(Object.keys(token)).toEqual(['Fn::GetAtt']);
        expect(token['Fn::GetAtt'][1]).toBe('Arn');
        expect(m.resources[token['Fn::GetAtt'][0]].Type).toBe('AWS::Lambda::Function');
      }
      // The count is an upper bound of the deployed definition (ARNs of the drill account), by at most the tokens' length.
      expect(definitionBytes(m.rendered)).toBeGreaterThanOrEqual(m.deployed);
      expect(definitionBytes(m.rendered) - m.deployed).toBeLessThan(21 * MAX_FUNCTION_ARN_BYTES);
    }
  });

  it("a group's config does not reach the definition: 100 groups of 1.2 MB of probes give the definition of 100 groups like the example", () => {
    // Arrange: 20 named probes of long URLs per group, about 12 KB of config each (before: over the 1 MB limit).
    const long = configOf(Array.from({ length: 100 }, (_, i) => exampleGroup(i, (g) => {
      g.probes = Array.from({ length: 20 }, (_, p) => ({ type: 'http', name: `deep check ${p}`, url: `https://api.orders-${i}.example.com/health/${p}?check=${'deep-'.repeat(90)}` }));
    })));
    const plain = configOf(Array.from({ length: 100 }, (_, i) => exampleGroup(i)));

    // Act
    const [a, b] = [measure(long), measure(plain)];

    // Assert
    expect(bytes(JSON.stringify(long.groups))).toBeGreaterThan(1_048_576);
    expect(a.literal).toBe(b.literal);
    expect(a.deployed).toBeLessThan(25_000);
  });
});

describe("the Plan step's input", () => {
  const euro = (n: number) => '€'.repeat(n); // 3 bytes in UTF-8: the worst a character costs here

  it('fits EXECUTION_INPUT_MAX_BYTES at its largest, and the Plan step accepts such an input', async () => {
    // Arrange: every text field at its longest, in 3-byte characters; an alarm's and a manual trigger's.
    const group = euro(64);
    const alarmName = euro(255);
    const alarm = { group, reason: `CloudWatch alarm ${alarmName} is in ALARM`, trigger: { type: 'alarm', alarmName, at: '2026-01-01T00:00:00Z', stateReason: euro(1023) } };
    const probe = { group, reason: euro(1024), trigger: { type: 'probe', at: '2026-01-01T00:00:00.000Z', outageStartedAt: '2026-01-01T00:00:00.000Z', failedRounds: 100_000 } };
    const operator = { group, reason: euro(1024), trigger: { type: 'manual', by: euro(128), at: '2026-01-01T00:00:00Z', local: true }, mode: 'switchover', dryRun: true, force: true, attestation: { by: euro(128), reason: euro(1024) } };
    // A deployed group of that name (no config allows it; the Plan step only needs to find it).
    const deployed = [{ ...ordersGroup(), name: group }];
    const groupDigestsOf = groupDigests(deployed);
    const deps = { now: () => Date.parse('2026-01-01T00:01:00Z'), groups: () => groupsByName(deployed) };

    // Act
    const planned = await Promise.all([alarm, probe, operator].map((input) =>
      plan({ input, groupDigests: groupDigestsOf, execution: { id: `arn:aws:states:us-east-1:123456789012:execution:${'m'.repeat(80)}:${'x'.repeat(80)}`, name: 'x'.repeat(80) } }, deps),
    ));

    // Assert
    expect(planned.map((p) => p.trigger.type)).toEqual(['alarm', 'probe', 'manual']);
    for (const input of [alarm, probe, operator]) expect(bytes(input)).toBeLessThanOrEqual(EXECUTION_INPUT_MAX_BYTES);
    const event = { input: operator, groupDigests: groupDigestsOf, execution: { id: `arn:aws-us-gov:states:us-gov-west-1:123456789012:execution:${'m'.repeat(80)}:${'x'.repeat(80)}`, name: 'x'.repeat(80) } };
    expect(bytes(event)).toBeLessThanOrEqual(planInputBytes(groupDigestsOf));
  });
});

describe("a group's workflow state, bounded against drill runs of the real definition", () => {
  /** Run `how` on the first group of `config` in a drill; the largest state input or output any execution had. */
  async function largestState(config: FailoverConfig, how: 'probes' | 'manual' | 'stuck') {
    const drill = await Drill.create(config);
    const group = drill.config.groups[0];
    try {
      // The drill seeds the primary; the additional writers run too, each with two network interfaces.
      for (const id of group.primary.additionalInstanceIds) drill.account.addInstance({ instanceId: id, region: group.primary.region, networkInterfaces: 2, vpcId: group.primary.vpcId });
      const { executions } = await withStateEvents(async () => {
        if (how === 'probes') return runStarted(drill, await outage(drill, 'down'));
        if (how === 'stuck') for (const id of [group.primary.instanceId, ...group.primary.additionalInstanceIds]) drill.account.setBehavior(id, { stopNeverCompletes: true });
        await drill.run(manual(group, {}));
      });
      const sizes = executions.flat().flatMap((e) => {
        const state = (e as { state?: { input?: unknown; output?: unknown } }).state;
        return state ? [state.input, state.output].filter((v) => v !== undefined).map(bytes) : [];
      });
      const history = await drill.store.listHistory({ group: group.name, limit: 10 });
      return { group, largest: Math.max(...sizes), outcomes: history.map((h) => h.outcome) };
    } finally {
      await drill.close();
    }
  }

  const cases: Array<[string, () => FailoverConfig, 'probes' | 'manual' | 'stuck', string]> = [
    ['the example group, triggered by its probes', () => configOf([exampleGroup(0)]), 'probes', 'SUCCEEDED'],
    ['a big group, triggered by its 20 probes', () => bigGroupConfig(), 'probes', 'SUCCEEDED'],
    ['a big group whose 21 instances never stop, fenced by isolation', () => bigGroupConfig({ isolate: true }), 'stuck', 'SUCCEEDED'],
    ['a big group whose 21 instances never stop, not isolated', () => bigGroupConfig(), 'stuck', 'FENCE_FAILED'],
  ];

  it.each(cases)('%s: the bound is at least the largest state', async (_, config, how, outcome) => {
    // Act
    const { group, largest, outcomes } = await largestState(config(), how);

    // Assert
    expect(outcomes).toEqual([outcome]);
    expect(workflowStateBytes(group)).toBeGreaterThanOrEqual(largest);
  });
});

describe('stepFunctionsLimitProblems', () => {
  const example = () => configOf([exampleGroup(0)]);
  const rendered = (literal: number, tokens: number) => ({ 'Fn::Join': ['', ['x'.repeat(literal), ...Array.from({ length: tokens }, (_, i) => ({ 'Fn::GetAtt': [`Step${i}`, 'Arn'] }))]] });
  const problemsOf = (config: FailoverConfig, definition = rendered(20_000, 21), limits?: Parameters<typeof stepFunctionsLimitProblems>[1]) =>
    stepFunctionsLimitProblems({ definition, groups: config.groups, groupDigests: groupDigests(config.groups) }, limits);

  it('finds nothing for the example, nor for 100 groups (the most a config may have) with 20 long probes each', () => {
    const many = configOf(Array.from({ length: 100 }, (_, i) => exampleGroup(i, (g) => {
      g.probes = Array.from({ length: 20 }, (_, p) => ({ type: 'http', url: `https://api.orders-${i}.example.com/health/${p}?check=${'deep-'.repeat(90)}` }));
    })));

    expect(problemsOf(example())).toEqual([]);
    expect(problemsOf(many)).toEqual([]);
  });

  it('reports a definition over 1 MB, tokens counted at their longest', () => {
    const problems = problemsOf(example(), rendered(1_048_000, 5));

    expect(problems).toEqual([
      "the state machine definition would be 1,048,625 bytes for 1 group, over Step Functions' 1 MB (1,048,576 bytes) limit: it names every group; deploy fewer groups per stack (another config file with its own stackName)",
    ]);
  });

  it("reports the Plan step's input over 256 KiB, which only thousands of groups' names and digests reach", () => {
    // Arrange: 5,000 groups with names of 40 characters (a config allows 100; the check does not rely on that).
    const [base] = example().groups;
    const groups = Array.from({ length: 5000 }, (_, i) => ({ ...base, name: `orders-${String(i).padStart(33, '0')}` }));
    const digests = groupDigests(groups);

    // Act
    const problems = stepFunctionsLimitProblems({ definition: rendered(20_000, 21), groups: groups.slice(0, 1), groupDigests: digests });

    // Assert
    expect(problems).toHaveLength(1);
    const m = /^the Plan step's input would be up to ([\d,]+) bytes for 1 group \(their names and digests in it are ([\d,]+) bytes\), over Step Functions' 256 KiB \(262,144 bytes\) payload limit: deploy fewer groups per stack \(another config file with its own stackName\)$/.exec(problems[0]);
    expect(m, problems[0]).not.toBeNull();
    const [input, named] = [m![1], m![2]].map((x) => Number(x.replace(/,/g, '')));
    expect(named).toBe(bytes(digests));
    expect(input).toBeGreaterThan(262_144);
    expect(input).toBe(planInputBytes(digests));
  });

  it('reports a group whose workflow state would exceed 256 KiB, with its numbers', () => {
    // Arrange: 20 probes of 6,000-character URLs: each is in the confirmation's results and reason.
    const config = longProbes(6000);
    const [group] = config.groups;

    // Act
    const problems = problemsOf(config);

    // Assert
    const state = workflowStateBytes(group).toLocaleString('en-US');
    expect(problems).toEqual([
      `group "orders-000": a workflow state would reach about ${state} bytes, over Step Functions' 256 KiB (262,144 bytes) payload limit: ` +
        'every state carries what its 2 records, 20 probes, 2 writers and 1 candidate replicas add to the step results; list fewer or shorter records, values or probes',
    ]);
    expect(workflowStateBytes(group)).toBeGreaterThan(262_144);
  });

  it('lists every problem at once (smaller limits, three groups)', () => {
    const config = configOf([0, 1, 2].map((i) => exampleGroup(i)));

    const problems = problemsOf(config, rendered(20_000, 21), { definitionBytes: 10_000, payloadBytes: 11_500 });

    const N = '[\\d,]+';
    expect(problems).toHaveLength(5);
    expect(problems[0]).toMatch(new RegExp(`^the state machine definition would be 22,625 bytes for 3 groups, over Step Functions' 10,000 bytes limit: `));
    expect(problems[1]).toMatch(new RegExp(`^the Plan step's input would be up to ${N} bytes for 3 groups \\(their names and digests in it are ${N} bytes\\), over Step Functions' 11,500 bytes payload limit: `));
    problems.slice(2).forEach((problem, i) =>
      expect(problem).toMatch(new RegExp(`^group "orders-00${i}": a workflow state would reach about ${N} bytes, over Step Functions' 11,500 bytes payload limit: every state carries what its 2 records, 3 probes, 2 writers and 1 candidate replicas add`)),
    );
  });
});

describe('the synth', () => {
  it('fails with every problem listed, for a group whose workflow state would exceed 256 KiB', () => {
    // Arrange: allowed by the schema, over the payload limit (see above).
    const config = longProbes(6000);
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });

    // Act
    let error: unknown;
    try {
      new FailoverControllerStack(app, 'Test', { config, env: { account: '111122223333', region: 'us-west-2' } });
    } catch (err) {
      error = err;
    }

    // Assert
    expect(error).toBeInstanceOf(WorkflowTooLarge);
    const { message, problems, name } = error as WorkflowTooLarge;
    expect(name).toBe('WorkflowTooLarge');
    expect(problems).toHaveLength(1);
    expect(message.split('\n')[0]).toBe("the failover workflow would not fit Step Functions' limits (1 problem):");
    expect(message).toMatch(/\n {2}group "orders-000": a workflow state would reach about [\d,]+ bytes, over Step Functions' 256 KiB \(262,144 bytes\) payload limit: /);
  });
});
