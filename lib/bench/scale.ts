/**
 * The synth at scale: a config of N groups like the example (three probes each, one or two alarms, two
 * records, every fourth group fenced by isolation, primaries and replicas across regions, ten groups
 * per hosted zone), synthesized without bundling, and what CloudFormation, Step Functions and IAM would
 * be handed: every template's resources and bytes, the definition's bytes, the Plan task's input at its
 * largest, each role's policy sizes.
 *
 *   const figures = measureScale(1000); // { templates: [...], definitionBytes, ..., synthSeconds }
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { App } from 'aws-cdk-lib';
import { parseConfig, type FailoverConfig } from '../../lambdas/core/config';
import { checkWithCdkNag } from '../infra/nag';
import { FailoverControllerStack } from '../infra/stack';
import { definitionBytes, EXECUTION_INPUT_MAX_BYTES, workflowStateBytes } from '../infra/step-functions-limits';
import { resolveIntrinsics } from '../infra/template-tokens';

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

export const SCALE_ACCOUNT = '123456789012';
export const SCALE_REGION = 'us-east-1';
const PRIMARY_REGIONS = ['us-east-1', 'us-east-2', 'eu-west-1'];
const REPLICA_REGIONS = ['us-west-2', 'eu-central-1', 'us-west-1'];
const GROUPS_PER_ZONE = 10;

export interface ScaleOptions {
  /** The primaries' regions, taken in turn. @default - us-east-1, us-east-2, eu-west-1 */
  readonly primaryRegions?: string[];
  /** Every how many groups one is fenced by isolation. @default 4 */
  readonly isolateEvery?: number;
}

/**
 * The raw config (as written in a file) of `count` groups: group i is `app-<i>`, three probes, one or two
 * alarms, a CNAME to the replica and an A record; every fourth (`isolateEvery`) fenced by isolation.
 * Primaries take turns in `primaryRegions`.
 */
export function scaleConfigInput(count: number, options: ScaleOptions = {}): Json {
  const primaryRegions = options.primaryRegions ?? PRIMARY_REGIONS;
  const isolateEvery = options.isolateEvery ?? 4;
  const hex = (i: number) => i.toString(16).padStart(16, '0');
  const groups = Array.from({ length: count }, (_, i) => {
    const name = `app-${String(i).padStart(4, '0')}`;
    const zone = Math.floor(i / GROUPS_PER_ZONE);
    const zoneName = `zone-${zone}.example.com`;
    const region = primaryRegions[i % primaryRegions.length];
    const isolate = i % isolateEvery === 0;
    return {
      name,
      primary: { instanceId: `i-0${hex(i)}`, region, ...(isolate ? { vpcId: `vpc-0${hex(i)}` } : {}) },
      replica: {
        dbInstanceIdentifier: `${name}-replica`,
        region: REPLICA_REGIONS[i % REPLICA_REGIONS.length],
        source: `arn:aws:rds:${region}:${SCALE_ACCOUNT}:db:${name}-primary-db`,
        sourceVpcId: `vpc-1${hex(i)}`,
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

export function scaleConfig(count: number, options: ScaleOptions = {}): FailoverConfig {
  return parseConfig(scaleConfigInput(count, options));
}

/** One synthesized template as CloudFormation gets it (a stack's or a nested stack's). */
export interface TemplateFile {
  /** The file name in the cloud assembly, without `.template.json`. */
  name: string;
  bytes: number;
  template: Json;
}

export interface SynthesizedScale {
  /** Every template of the assembly: the stacks' and, beside them, their nested stacks'. */
  templates: TemplateFile[];
  /** The values baked into the functions' bundles (controllerFunction's inject files), by global name. */
  baked: Record<string, Json>;
  /** The stack's annotations that are warnings (messages). */
  warnings: string[];
  synthSeconds: number;
}

/**
 * Synthesize the controller for `config` as `cdk synth` does (cdk-nag included, CDK's own checks of
 * resource counts on), without bundling; throws what the synth throws.
 */
export function synthesizeScale(config: FailoverConfig): SynthesizedScale {
  const outdir = mkdtempSync(join(tmpdir(), 'failover-scale-'));
  try {
    const t0 = performance.now();
    // As the CLI runs the app: each resource's construct path in its metadata, and the CDK version resource.
    const app = new App({ outdir, context: { 'aws:cdk:bundling-stacks': [], 'aws:cdk:enable-path-metadata': true, 'aws:cdk:version-reporting': true } });
    checkWithCdkNag(app);
    const stack = new FailoverControllerStack(app, config.stackName, { config, env: { account: SCALE_ACCOUNT, region: SCALE_REGION } });
    const assembly = app.synth();
    const synthSeconds = (performance.now() - t0) / 1000;
    const templates = readdirSync(outdir)
      .filter((f) => f.endsWith('.template.json'))
      .sort()
      .map((file) => {
        const text = readFileSync(join(outdir, file), 'utf8');
        return { name: file.replace(/\.template\.json$/, ''), bytes: Buffer.byteLength(text, 'utf8'), template: JSON.parse(text) };
      });
    // The inject files export each value as `export const NAME = JSON.parse("...")`.
    const baked: Record<string, Json> = {};
    for (const file of readdirSync(join(outdir, 'baked'))) {
      for (const m of readFileSync(join(outdir, 'baked', file), 'utf8').matchAll(/^export const (\w+) = JSON\.parse\((".*")\);$/gm)) {
        baked[m[1]] = JSON.parse(JSON.parse(m[2]));
      }
    }
    const warnings = assembly.getStackByName(stack.stackName).messages.filter((m) => m.level === 'warning').map((m) => String(m.entry.data));
    return { templates, baked, warnings, synthSeconds };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

/** A policy document's size as IAM counts it: characters, whitespace not counted (IAM User Guide, "IAM and AWS STS quotas"). */
export function policyChars(document: unknown): number {
  return JSON.stringify(document).replace(/\s/g, '').length;
}

export interface RolePolicies {
  role: string;
  /** Characters of all its inline policies together (IAM: at most 10,240 a role). */
  inlineChars: number;
  /** Characters of each customer managed policy attached to it (IAM: at most 6,144 each, 10 a role by default). */
  managedChars: number[];
}

/** Every role of a template with its policies' sizes, the policies resolved as AWS would (account SCALE_ACCOUNT). */
export function rolePolicies(template: Json): RolePolicies[] {
  const resources = template.Resources as Record<string, Json>;
  const resolve = (value: unknown) => resolveIntrinsics(value, resources, { account: SCALE_ACCOUNT, region: SCALE_REGION });
  const roles = new Map<string, RolePolicies>();
  for (const [id, r] of Object.entries(resources)) {
    if (r.Type !== 'AWS::IAM::Role') continue;
    const own = (r.Properties.Policies ?? []).reduce((sum: number, p: Json) => sum + policyChars(resolve(p.PolicyDocument)), 0);
    roles.set(id, { role: id, inlineChars: own, managedChars: [] });
  }
  for (const r of Object.values(resources)) {
    if (r.Type !== 'AWS::IAM::Policy' && r.Type !== 'AWS::IAM::ManagedPolicy') continue;
    const chars = policyChars(resolve(r.Properties.PolicyDocument));
    for (const ref of r.Properties.Roles ?? []) {
      const role = roles.get(ref.Ref);
      if (!role) continue;
      if (r.Type === 'AWS::IAM::Policy') role.inlineChars += chars;
      else role.managedChars.push(chars);
    }
  }
  return [...roles.values()];
}

export interface ScaleFigures {
  groups: number;
  endpoints: number;
  synthSeconds: number;
  templates: Array<{ name: string; resources: number; bytes: number }>;
  /** The state machine's definition, its ARNs counted at their longest (definitionBytes). */
  definitionBytes: number;
  /** The Plan task's input at its largest: its Parameters as synthesized, with the largest execution input. */
  planInputBytes: number;
  /** The largest bound of a workflow state (workflowStateBytes) over the groups baked into the step functions. */
  largestStateBytes: number;
  /** The role with the most inline policy characters, and the most managed policy characters of one policy. */
  largestInlinePolicyChars: number;
  largestManagedPolicyChars: number;
  mostManagedPoliciesPerRole: number;
  /** What the synth said it widened (IAM statements naming regions instead of the configured resources). */
  warnings: string[];
}

/** The figures of a synthesized assembly, each read from its templates and baked values. */
export function scaleFigures(config: FailoverConfig, synth: SynthesizedScale): ScaleFigures {
  const resourcesOf = (t: TemplateFile) => Object.values(t.template.Resources ?? {}) as Json[];
  const machines = synth.templates.flatMap((t) => resourcesOf(t).filter((r) => r.Type === 'AWS::StepFunctions::StateMachine'));
  if (machines.length !== 1) throw new Error(`expected one state machine, found ${machines.length}`);
  const rendered = machines[0].Properties.DefinitionString;
  // The Plan's Parameters are literal but for `$`-paths: their bytes as written, plus what the paths bring in.
  const literal = JSON.parse(typeof rendered === 'string' ? rendered : rendered['Fn::Join'][1].map((p: unknown) => (typeof p === 'string' ? p : 'arn')).join(''));
  const planParameters = literal.States.Plan.Parameters;
  const planInputBytes = Buffer.byteLength(JSON.stringify(planParameters), 'utf8') + EXECUTION_INPUT_MAX_BYTES + 256 + 80;
  const bakedGroups = Object.values(synth.baked.FAILOVER_GROUPS ?? {}) as FailoverConfig['groups'];
  const roles = synth.templates.flatMap((t) => rolePolicies(t.template));
  return {
    groups: config.groups.length,
    endpoints: config.groups.reduce((sum, g) => sum + g.probes.length, 0),
    synthSeconds: Math.round(synth.synthSeconds * 10) / 10,
    templates: synth.templates.map((t) => ({ name: t.name, resources: resourcesOf(t).length, bytes: t.bytes })),
    definitionBytes: definitionBytes(rendered),
    planInputBytes,
    largestStateBytes: Math.max(...bakedGroups.map(workflowStateBytes)),
    largestInlinePolicyChars: Math.max(...roles.map((r) => r.inlineChars)),
    largestManagedPolicyChars: Math.max(0, ...roles.flatMap((r) => r.managedChars)),
    mostManagedPoliciesPerRole: Math.max(...roles.map((r) => r.managedChars.length)),
    warnings: synth.warnings,
  };
}

/** Synthesize `count` groups and measure the assembly. */
export function measureScale(count: number): ScaleFigures {
  const config = scaleConfig(count);
  return scaleFigures(config, synthesizeScale(config));
}

/** The bench's `scale` section: the synth of `groups` groups, or why it failed. */
export interface ScaleReport {
  method: string;
  groups: number;
  /** The synth's error when it refused the config (a stack over 500 resources, a cdk-nag finding, ...). */
  error?: string;
  figures?: ScaleFigures;
  /** Every template under 500 resources and 1,000,000 bytes, the definition under 1 MB, the payload bounds under 256 KiB, IAM within its quotas. */
  pass: boolean;
}

export function scaleReport(groups: number): ScaleReport {
  const method =
    `cdk synth in-process (cdk-nag on, bundling skipped) of ${groups} groups like the example (lib/bench/scale.ts: 3 probes, 1 or 2 alarms, 2 records each, every 4th fenced by isolation, ` +
    `primaries in 3 regions, 10 groups per hosted zone); per template its resources and bytes as written; the definition's bytes (ARNs at their longest); the Plan input's bound from its synthesized Parameters; ` +
    `the largest workflow state's bound over the baked groups; each role's inline and managed policy characters, resolved, whitespace not counted. Targets: CloudFormation 500 resources and 1 MB (read as 1,000,000 bytes) ` +
    `per template, Step Functions 1 MB definition and 256 KiB payload, IAM 10,240 inline characters a role and 6,144 a managed policy, 10 a role. Synth seconds are wall time on this machine.`;
  const config = scaleConfig(groups);
  try {
    const figures = scaleFigures(config, synthesizeScale(config));
    const pass =
      figures.templates.every((t) => t.resources < 500 && t.bytes <= 1_000_000) &&
      figures.definitionBytes < 1_048_576 &&
      Math.max(figures.planInputBytes, figures.largestStateBytes) < 262_144 &&
      figures.largestInlinePolicyChars <= 10_240 &&
      figures.largestManagedPolicyChars <= 6_144 &&
      figures.mostManagedPoliciesPerRole <= 10;
    return { method, groups, figures, pass };
  } catch (err) {
    return { method, groups, error: (err as Error).message.split('\n')[0].slice(0, 600), pass: false };
  }
}

/** The bench table's row: figure, measured, target, verdict. */
export function scaleRow(sc: ScaleReport, verdict: (pass: boolean) => string): [string, string, string, string] {
  const f = sc.figures;
  const largest = f?.templates.reduce((a, b) => (b.bytes > a.bytes ? b : a));
  return [
    `synth of ${sc.groups} groups`,
    f && largest
      ? `${f.templates.length} templates, at most ${Math.max(...f.templates.map((t) => t.resources))} resources, largest ${largest.bytes.toLocaleString('en-US')} bytes (${largest.name}); ` +
        `definition ${f.definitionBytes.toLocaleString('en-US')} bytes; ${f.synthSeconds} s`
      : `fails: ${sc.error}`,
    '< 500 resources, <= 1 MB each',
    verdict(sc.pass),
  ];
}
