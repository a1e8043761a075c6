/**
 * Vantages: the config's `vantages[]` (bad input names the field and the value, and parses to nothing),
 * and the quorum across vantages, a pure decision whose reason sentence names every view.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../lambdas/core/config';
import { decideAcrossVantages, vantageFunctionName, type VantageView } from '../../lambdas/core/vantage';

function config(vantages: unknown): unknown {
  return {
    vantages,
    groups: [
      {
        name: 'orders',
        primary: { instanceId: 'i-0a1b2c3d4e5f60718', region: 'us-east-1' },
        replica: { dbInstanceIdentifier: 'orders-replica', region: 'us-west-2', source: 'orders-primary-db', sourceVpcId: 'vpc-0db0000000000000a' },
        dns: { hostedZoneId: 'Z0EXAMPLE1234567890AB', zoneName: 'example.com', records: [{ name: 'db.orders.example.com', type: 'CNAME', target: 'replicaEndpoint' }] },
      },
    ],
  };
}

function problems(input: unknown): string[] {
  try {
    parseConfig(input);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('the config parsed');
}

describe('vantages in the config', () => {
  it('defaults to none, and takes a region with an optional VPC', () => {
    expect(parseConfig(config(undefined)).vantages).toEqual([]);
    expect(parseConfig(config([{ region: 'us-east-2', vpc: { subnetIds: ['subnet-0123456789abcdef0'], securityGroupIds: ['sg-0123456789abcdef0'] } }])).vantages).toEqual([
      { region: 'us-east-2', vpc: { subnetIds: ['subnet-0123456789abcdef0'], securityGroupIds: ['sg-0123456789abcdef0'] } },
    ]);
  });

  it.each([
    [[{ region: 'us-east-1' }], 'vantages[0].region: is the region of groups[0].primary (orders): a vantage there goes dark with the primary it should see; choose a third region, got "us-east-1"'],
    [[{ region: 'us-east-2' }, { region: 'us-east-2' }], 'vantages[1].region: duplicates vantages[0].region (us-east-2): two vantages in one region share their fate and would be counted twice, got "us-east-2"'],
    [[{ region: 'Ohio' }], 'vantages[0].region: must be an AWS region such as us-east-1, got "Ohio"'],
    [[{ region: 'us-east-2', functionName: 'mine' }], 'vantages[0].functionName: is not a known field'],
    [[{ region: 'us-east-2' }, { region: 'eu-west-1' }, { region: 'ap-south-1' }], 'vantages: must list at most 2 vantages'],
  ])('refuses %j, naming the field and the value', (vantages, problem) => {
    expect(problems(config(vantages))).toEqual([expect.stringContaining(problem.split(', got')[0])]);
    expect(problems(config(vantages))[0]).toContain(problem.includes(', got') ? problem.slice(problem.indexOf(', got')) : '');
  });

  it('names the vantage function after the stack, within Lambda\'s 64 characters', () => {
    expect(vantageFunctionName('FailoverController')).toBe('FailoverController-confirm-vantage');
    expect(vantageFunctionName('A'.repeat(128))).toHaveLength(64);
  });
});

const T = Date.parse('2026-01-01T00:00:20Z');
const view = (region: string, saw: VantageView['saw'], source: VantageView['source'] = 'function'): VantageView => ({
  region, source, saw, at: T, reason: saw === 'unreachable' ? 'ServiceException: boom' : saw === 'down' ? 'round failed' : 'round passed',
});
const controller = (saw: 'down' | 'up') => view('us-west-2', saw, 'controller');

describe('the quorum across vantages', () => {
  it.each([
    ['both down', true, false, [controller('down'), view('us-east-2', 'down')]],
    ['the controller down, the vantage up', false, true, [controller('down'), view('us-east-2', 'up')]],
    ['the controller up, the vantage down', false, true, [controller('up'), view('us-east-2', 'down')]],
    ['the controller down, the vantage unreachable', false, false, [controller('down'), view('us-east-2', 'unreachable')]],
    ['two down, one unreachable', true, false, [controller('down'), view('us-east-2', 'down'), view('eu-west-1', 'unreachable')]],
    ['two down, one up', false, true, [controller('down'), view('us-east-2', 'down'), view('eu-west-1', 'up')]],
    ['one down, two unreachable', false, false, [controller('down'), view('us-east-2', 'unreachable'), view('eu-west-1', 'unreachable')]],
    ['the controller up, the others unreachable', false, false, [controller('up'), view('us-east-2', 'unreachable')]],
  ])('%s: confirmed %s, disagree %s', (_case, confirmed, disagree, views) => {
    expect(decideAcrossVantages(views)).toMatchObject({ confirmed, disagree });
  });

  it('says why, naming each vantage, what it saw and when', () => {
    expect(decideAcrossVantages([controller('down'), view('us-east-2', 'up')]).reason).toBe(
      'not fencing: the vantages disagree (1 of 2 saw the primary down, 1 saw it up): a partition, not an outage, until they agree: ' +
        'us-west-2 (controller) saw the primary down at 00:00:20Z: round failed; us-east-2 (vantage) saw the primary up at 00:00:20Z: round passed',
    );
    expect(decideAcrossVantages([controller('down'), view('us-east-2', 'unreachable')]).reason).toBe(
      'not fencing: only 1 of 2 vantages saw the primary down and the others could not be asked or saw nothing; an automatic failover needs a majority (fail over by hand if the primary is down): ' +
        'us-west-2 (controller) saw the primary down at 00:00:20Z: round failed; us-east-2 (vantage) could not be asked at 00:00:20Z: ServiceException: boom',
    );
  });
});
