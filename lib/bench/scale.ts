/**
 * The synth at scale: a config of N groups like the example (three probes each, one or two alarms, two
 * records, every fourth group fenced by isolation, primaries and replicas across regions, groups spread
 * over hosted zones), synthesized without bundling, and what CloudFormation and Step Functions would
 * see of it: every template's resources and bytes, the definition's bytes, the largest state the
 * workflow's limit check bounds, the IAM policies' sizes.
 *
 *   const figures = measureScale(1000); // { templates: [...], definitionBytes, ..., synthSeconds }
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { App } from 'aws-cdk-lib';
import { parseConfig, type FailoverConfig } from '../../lambdas/core/config';
import { FailoverControllerStack } from '../infra/stack';
import { definitionBytes, workflowStateBytes } from '../infra/step-functions-limits';

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

const PRIMARY_REGIONS = ['us-east-1', 'us-east-2', 'eu-west-1'];
const REPLICA_REGIONS = ['us-west-2', 'eu-central-1', 'us-west-1'];
/** Groups per hosted zone: 100 zones for 1,000 groups. */
const GROUPS_PER_ZONE = 10;

/** The raw config (as written in a file) of `count` groups; group i is `app-<i>` with 3 probes. */
export function scaleConfigInput(count: number): Json {
  const hex = (i: number, width: number) => i.toString(16).padStart(width, '0');
  const groups = Array.from({ length: count }, (_, i) => {
    const name = `app-${String(i).padStart(4, '0')}`;
    const zone = Math.floor(i / GROUPS_PER_ZONE);
    const zoneName = `zone-${zone}.example.com`;
    const primaryRegion = PRIMARY_REGIONS[i % PRIMARY_REGIONS.length];
    const isolate = i % 4 === 0;
    return {
      name,
      primary: { instanceId: `i-0${hex(i, 16)}`, region: primaryRegion, ...(isolate ? { vpcId: `vpc-0${hex(i, 16)}` } : {}) },
      replica: {
        dbInstanceIdentifier: `${name}-replica`,
        region: REPLICA_REGIONS[i % REPLICA_REGIONS.length],
        source: `arn:aws:rds:${primaryRegion}:123456789012:db:${name}-primary-db`,
        sourceVpcId: `vpc-0${hex(i + 0x100000, 16)}`,
      },
      dns: {
        hostedZoneId: `Z0SCALE${String(zone).padStart(13, '0')}`,
        zoneName,
        records: [
          { name: `db.${name}.${zoneName}`, type: 'CNAME', ttl: 30, target: 'replicaEndpoint' },
          { name: `api.${name}.${zoneName}`, type: 'A', ttl: 30, values: [`198.51.100.${(i % 250) + 1}`] },
        ],
      },
      ...(isolate ? { fence: { onUnconfirmed: 'isolate' } } : {}),
      probes: [
        { type: 'http', name: 'api health', url: `https://api.${name}.${zoneName}/health`, timeoutMs: 2000 },
        { type: 'http', name: 'api database check', url: `https://api.${name}.${zoneName}/health/db`, bodyContains: 'ok', timeoutMs: 2000 },
        { type: 'tcp', name: 'postgres port', host: `10.${(i >> 8) & 255}.${i & 255}.25`, port: 5432, timeoutMs: 2000 },
      ],
      alarms: i % 2 === 0 ? [`${name}-status-check-failed`] : [`${name}-status-check-failed`, `${name}-5xx-rate`],
    };
  });
  return { stackName: 'FailoverScale', groups };
}

export function scaleConfig(count: number): FailoverConfig {
  return parseConfig(scaleConfigInput(count));
}

export interface TemplateFigures {
  /** The template's file name in the cloud assembly, without `.template.json`. */
  template: string;
  resources: number;
  bytes: number;
  /** The largest IAM policy document in it (managed or inline), in characters without whitespace, as IAM counts. */
  largestPolicyChars: number;
  /** Its resources by type, most first. */
  byType: Record<string, { count: number; bytes: number }>;
}

export interface ScaleFigures {
  groups: number;
  endpoints: number;
  templates: TemplateFigures[];
  definitionBytes: number;
  /** The largest bound workflowStateBytes gives any group, and the state machine's resource's own. */
  largestStateBoundBytes: number;
  synthSeconds: number;
}

/** IAM counts a policy's size without whitespace (IAM User Guide, IAM and AWS STS quotas). */
function policyChars(document: unknown): number {
  return JSON.stringify(document).replace(/\s/g, '').length;
}

/** Synthesize `config` (no bundling) and measure every template of the assembly. */
export function measureSynth(config: FailoverConfig, options: { ignoreResourceLimit?: boolean } = {}): ScaleFigures {
  const outdir = mkdtempSync(join(tmpdir(), 'failover-scale-'));
  try {
    const t0 = performance.now();
    const context = { 'aws:cdk:bundling-stacks': [], ...(options.ignoreResourceLimit ? { '@aws-cdk/core:stackResourceLimit': 0 } : {}) };
    const app = new App({ outdir, context });
    new FailoverControllerStack(app, config.stackName, { config, env: { account: '123456789012', region: 'us-east-1' } });
    const assembly = app.synth();
    const synthSeconds = (performance.now() - t0) / 1000;
    let definition = 0;
    // Every template CloudFormation gets: the stacks' and their nested stacks' (written beside them as assets).
    const files = readdirSync(assembly.directory).filter((f) => f.endsWith('.template.json')).sort();
    const templates = files.map((file) => {
      const text = readFileSync(join(assembly.directory, file), 'utf8');
      const template = JSON.parse(text) as Json;
      const resources = Object.values(template.Resources ?? {}) as Json[];
      const byType: TemplateFigures['byType'] = {};
      let largestPolicyChars = 0;
      for (const r of resources) {
        const entry = (byType[r.Type] ??= { count: 0, bytes: 0 });
        entry.count += 1;
        entry.bytes += Buffer.byteLength(JSON.stringify(r), 'utf8');
        if (r.Type === 'AWS::IAM::Policy' || r.Type === 'AWS::IAM::ManagedPolicy') largestPolicyChars = Math.max(largestPolicyChars, policyChars(r.Properties.PolicyDocument));
        if (r.Type === 'AWS::StepFunctions::StateMachine') definition = Math.max(definition, definitionBytes(r.Properties.DefinitionString));
      }
      const sorted = Object.fromEntries(Object.entries(byType).sort(([, a], [, b]) => b.bytes - a.bytes));
      return { template: file.replace(/\.template\.json$/, ''), resources: resources.length, bytes: Buffer.byteLength(text, 'utf8'), largestPolicyChars, byType: sorted };
    });
    return {
      groups: config.groups.length,
      endpoints: config.groups.reduce((sum, g) => sum + g.probes.length, 0),
      templates,
      definitionBytes: definition,
      largestStateBoundBytes: Math.max(...config.groups.map(workflowStateBytes)),
      synthSeconds: Math.round(synthSeconds * 10) / 10,
    };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}
