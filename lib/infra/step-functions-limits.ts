/**
 * Step Functions' size limits, checked at synth for the configured groups, so that a config whose
 * workflow could never run fails `cdk synth` instead of the first real failover.
 *
 * What grows with the config (measured: see test/infra/step-functions-limits.test.ts):
 * - the definition names every group with the digest of its config, the Plan state's `groupDigests`
 *   (the configs themselves are baked into the step functions: lambdas/core/deployed-group.ts): it is
 *   about 16.5 KB of states, plus the group's name and 21 bytes per group (`"orders":"<16 hex digits>",`),
 *   plus the step functions' 21 ARNs (measured: 18,499 bytes deployed for one group like the example,
 *   21,667 for 100; before, with the configs in it, 20,139 and 185,667);
 * - the Plan task's input carries the same digests, with the execution input and the execution's id
 *   (measured for a manual failover: 371 bytes for one group, 3,539 for 100; before 2,011 and 167,539);
 * - every later state carries the group's name and digest, and the steps' results for it, which grow
 *   with its writers, candidate replicas, probes and records (their values are in the DNS change).
 * Neither the definition nor the Plan's input grows with the groups' configs any more: those limits meet
 * thousands of groups only (a config allows 1,000: measured 49,471 bytes of definition, and a Plan input
 * of at most 41,851 bytes, for the bench's 1,000 groups, lib/bench/scale.ts). A state still grows with its group's records, probes
 * and writers: that is the check that can fail a valid config (probes with very long URLs).
 *
 * Limits: a definition of at most 1,048,576 characters (Step Functions API Reference, CreateStateMachine;
 * counted here in UTF-8 bytes, never fewer, and the whole request is limited to 1 MB too); 262,144 bytes
 * "as a UTF-8 encoded string" for the input or output of a task, a state or an execution, "input data
 * when scheduling a task" included, that is a Task's input after Parameters (Step Functions Developer
 * Guide, service quotas).
 *
 *   stepFunctionsLimitProblems({ definition, groups, groupDigests })
 *   // ['group "orders": a workflow state would reach about 301,234 bytes, over ...']
 */
import type { GroupConfig } from '../../lambdas/core/config';
import { probeLabel } from '../../lambdas/probe/check-endpoint';

export interface StepFunctionsLimits {
  readonly definitionBytes: number;
  readonly payloadBytes: number;
}

export const STEP_FUNCTIONS_LIMITS: StepFunctionsLimits = { definitionBytes: 1_048_576, payloadBytes: 262_144 };

/**
 * The definition's only tokens are the step functions' ARNs (a test holds this), counted at the longest
 * one can be: arn:aws-us-gov:lambda:<region, at most 16 characters>:<account>:function:<name, at most 64>.
 */
export const MAX_FUNCTION_ARN_BYTES = 'arn:aws-us-gov:lambda:'.length + 16 + ':123456789012:function:'.length + 64;

/**
 * The largest execution input the Plan step accepts: its text fields at their longest (group 64, reason
 * 1,024, attestation.by 128 and attestation.reason 1,024 characters), an alarm trigger's (alarm name
 * 255, state reason 1,023) and a manual one's operator name (by, 128), at 3 bytes a character (UTF-8, or
 * a JSON escape), plus 512 bytes of keys, times, counts and flags (the trigger takes no other field).
 */
export const EXECUTION_INPUT_MAX_BYTES = 3 * (64 + 1024 + 128 + 1024 + 255 + 1023 + 128) + 512;

/** An execution's ARN (arn:<partition>:states:<region>:<account>:execution:<machine, 80>:<name, 80>) and its name. */
const EXECUTION_IDS_MAX_BYTES = 256 + 80;

// The parts of a workflow state that do not come from the config, measured with the drill (the real
// definition and step code): the test runs a big group through failovers and holds the bound against the
// largest state the drill saw. Numbers are bytes of JSON. The bound errs high (3.1 to 9.9 times what the
// drill saw): a state over the limit fails the execution where it happens, possibly after the fences.
/** The plan's own fields: execution ARN and name, the group's name and digest, mode, flags, times; its text is in EXECUTION_INPUT_MAX_BYTES. */
const PLAN_FIELDS_BYTES = 1024;
/**
 * One EC2 or database writer: measured 965 per instance fenced by isolation with two network interfaces
 * (790 in the fence result, its reason written twice; 175 in the re-checks), plus 13 more interfaces
 * (24 bytes each, an instance has at most 15 on most types), plus its reason once more in a failed
 * step's error (message and stack trace).
 */
const WRITER_BYTES = 2048;
/** One candidate replica: measured about 600 with 26-character identifiers, each written 4 times; 63-character ones add about 150. */
const CANDIDATE_BYTES = 1024;
/** A probe's error phrase: describeNetworkError caps it at 120 characters. */
const PROBE_ERROR_BYTES = 3 * 120;
/** A record's keys and TTLs in the DNS change, and a Route 53 error naming it. Measured about 75 without names and values. */
const RECORD_BYTES = 128;
/** A replicaEndpoint value: <identifier, 63>.<12>.<region, 16>.rds.amazonaws.com.cn, quoted. */
const ENDPOINT_BYTES = 128;
/** A CNAME's current value, when the record's current values are unknown: one name of 255 characters, quoted. */
const ONE_NAME_BYTES = 260;
/**
 * Everything else of one execution: the lock, the database fence, the promotion, the re-checks' and the
 * assessment's own fields, the notification and the record (measured 2,600 for the example), up to
 * three caught errors with a Lambda error's Cause (errorType, errorMessage and stack trace: about 1.5 KB
 * each, an estimate, since the drill's errors carry only the message), and a Task's {action, state} envelope.
 */
const FIXED_BYTES = 8192;

/**
 * The definition's size in bytes, from its rendered form: a string, or the template's
 * `{ "Fn::Join": [separator, parts] }` whose tokens (the step functions' ARNs) count MAX_FUNCTION_ARN_BYTES each.
 */
export function definitionBytes(rendered: unknown): number {
  if (typeof rendered === 'string') return Buffer.byteLength(rendered, 'utf8');
  const join = (rendered as { 'Fn::Join'?: [string, unknown[]] } | null)?.['Fn::Join'];
  if (!join) throw new Error(`cannot measure a definition rendered as ${JSON.stringify(rendered)?.slice(0, 80)}`);
  const [separator, parts] = join;
  const literal = parts.reduce<number>((sum, part) => sum + (typeof part === 'string' ? Buffer.byteLength(part, 'utf8') : MAX_FUNCTION_ARN_BYTES), 0);
  return literal + Buffer.byteLength(separator, 'utf8') * Math.max(0, parts.length - 1);
}

/** The Plan task's input at its largest: { input, groupDigests, execution: { id, name } }. */
export function planInputBytes(groupDigests: Record<string, string>): number {
  return EXECUTION_INPUT_MAX_BYTES + Buffer.byteLength(JSON.stringify(groupDigests), 'utf8') + EXECUTION_IDS_MAX_BYTES + 64;
}

/**
 * An upper bound on the largest state of one execution of `group`: the plan, what its records, probes,
 * writers and candidates add to the step results, and FIXED_BYTES. It assumes a record's current
 * values (the DNS change's `before`) are no larger than its largest configured list, or one
 * 255-character name.
 */
export function workflowStateBytes(group: GroupConfig): number {
  const bytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value), 'utf8');
  const plan = EXECUTION_INPUT_MAX_BYTES + PLAN_FIELDS_BYTES;
  // The DNS change: name, the values after (the largest list any candidate gets), the values before.
  const records = group.dns.records.reduce((sum, record) => {
    const lists = [record.values, ...Object.values(record.valuesByReplica ?? {})].filter((l): l is string[] => l !== undefined);
    const after = Math.max(record.target === 'replicaEndpoint' ? ENDPOINT_BYTES : 0, ...lists.map(bytes));
    return sum + bytes(record.name) + after + Math.max(after, ONE_NAME_BYTES) + RECORD_BYTES;
  }, 0);
  // The confirmation: each probe's label and error, in its result and again in the round's reason.
  const probes = group.probes.reduce((sum, probe) => {
    const error = Math.max(PROBE_ERROR_BYTES, probe.type === 'http' ? 32 + bytes(probe.expectStatus.join(', ')) : 0);
    return sum + 2 * (bytes(probeLabel(probe)) + error) + 32;
  }, 0);
  // The EC2 instances and the old database.
  const writers = (2 + group.primary.additionalInstanceIds.length) * WRITER_BYTES;
  const candidates = (1 + group.additionalReplicas.length) * CANDIDATE_BYTES;
  return plan + records + probes + writers + candidates + FIXED_BYTES;
}

/**
 * Every way the workflow for these groups would exceed a Step Functions limit, one sentence each with
 * the numbers; none when it fits. `definition` is the rendered definition (see definitionBytes).
 */
export function stepFunctionsLimitProblems(
  args: { definition: unknown; groups: GroupConfig[]; groupDigests: Record<string, string> },
  limits: StepFunctionsLimits = STEP_FUNCTIONS_LIMITS,
): string[] {
  const { groups, groupDigests } = args;
  const problems: string[] = [];
  const count = `${groups.length} group${groups.length === 1 ? '' : 's'}`;
  const definition = definitionBytes(args.definition);
  if (definition > limits.definitionBytes) {
    problems.push(
      `the state machine definition would be ${n(definition)} bytes for ${count}, over Step Functions' ${size(limits.definitionBytes)} limit: ` +
        'it names every group; deploy fewer groups per stack (another config file with its own stackName)',
    );
  }
  const plan = planInputBytes(groupDigests);
  if (plan > limits.payloadBytes) {
    problems.push(
      `the Plan step's input would be up to ${n(plan)} bytes for ${count} (their names and digests in it are ${n(Buffer.byteLength(JSON.stringify(groupDigests), 'utf8'))} bytes), ` +
        `over Step Functions' ${size(limits.payloadBytes)} payload limit: deploy fewer groups per stack (another config file with its own stackName)`,
    );
  }
  for (const group of groups) {
    const state = workflowStateBytes(group);
    if (state <= limits.payloadBytes) continue;
    const writers = 2 + group.primary.additionalInstanceIds.length;
    problems.push(
      `group ${JSON.stringify(group.name)}: a workflow state would reach about ${n(state)} bytes, over Step Functions' ${size(limits.payloadBytes)} payload limit: ` +
        `every state carries what its ${group.dns.records.length} records, ` +
        `${group.probes.length} probes, ${writers} writers and ${1 + group.additionalReplicas.length} candidate replicas add to the step results; list fewer or shorter records, values or probes`,
    );
  }
  return problems;
}

/** The workflow would exceed Step Functions' limits; `problems` holds one sentence each. */
export class WorkflowTooLarge extends Error {
  constructor(readonly problems: string[]) {
    super(`the failover workflow would not fit Step Functions' limits (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n  ${problems.join('\n  ')}`);
    this.name = 'WorkflowTooLarge';
  }
}

/** 1234567 → "1,234,567" */
function n(value: number): string {
  return value.toLocaleString('en-US');
}

/** 1048576 → "1 MB (1,048,576 bytes)", 262144 → "256 KiB (262,144 bytes)" */
function size(bytes: number): string {
  const short = bytes % 1_048_576 === 0 ? `${bytes / 1_048_576} MB` : bytes % 1024 === 0 ? `${bytes / 1024} KiB` : `${n(bytes)} bytes`;
  return short.endsWith(' bytes') ? short : `${short} (${n(bytes)} bytes)`;
}
