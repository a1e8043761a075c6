/**
 * Step 1: validate the execution input against the deployed config and plan the run. Malformed input
 * or an unknown group fails the execution with InvalidInput, naming the field; nothing is changed.
 *
 * The groups are the ones deployed with this function (baked into its bundle), never taken from the
 * event. The definition carries only each group's digest (groupDigests), so the Plan can tell a
 * definition from another deployment than its own function's (ConfigMismatch), and the plan records
 * the digest it planned with, which every later step holds its own config against.
 */
import * as z from 'zod';
import { formatIssues } from '../core/config';
import { deployedGroupNamed, groupDigest } from '../core/deployed-group';
import type { StepDeps } from '../runtime/deps';
import { bakedGroups } from '../runtime/baked-groups';
import { ConfigMismatch, InvalidInput } from '../core/errors';
import { stepHandler } from '../runtime/powertools';
import type { ExecutionInput, Plan, TriggerType } from '../core/workflow-state';

/**
 * What the state machine passes: the execution input, the digest of each group's config as deployed
 * with the definition (by name), and the execution's identity.
 */
export interface PlanEvent {
  input: unknown;
  groupDigests: Record<string, string>;
  execution: { id: string; name: string };
}

const printable = (max: number) =>
  z
    .string()
    .min(1, { error: 'must not be empty' })
    .max(max, { error: `must be at most ${max} characters` })
    // eslint-disable-next-line no-control-regex
    .refine((s) => !/[\u0000-\u001f\u007f]/.test(s), { error: 'must not contain control characters' });

const isoTime = z.iso.datetime({ offset: true, error: 'must be an ISO 8601 time such as 2026-01-01T00:00:00Z' });

/**
 * The trigger fields our own triggers send, and of which type each is: the probe function
 * (lambdas/probe/run-probes.ts), the alarm rule (lib/infra/detection.ts), failoverctl and the drill. They
 * end up in the history and the notification, so each is bounded and printable, and nothing else is
 * accepted.
 */
const TRIGGER_FIELDS: Record<TriggerType, readonly string[]> = {
  probe: ['type', 'at', 'outageStartedAt', 'failedRounds'],
  alarm: ['type', 'at', 'alarmName', 'stateReason'],
  manual: ['type', 'at', 'by', 'local'],
};

const TriggerSchema = z
  .strictObject({
    type: z.enum(['probe', 'alarm', 'manual'], { error: 'must be one of probe, alarm, manual' }),
    at: isoTime.optional(),
    outageStartedAt: isoTime.optional(),
    failedRounds: z
      .number({ error: 'must be a number' })
      .int({ error: 'must be a whole number of rounds' })
      .min(1, { error: 'must be between 1 and 100000' })
      .max(100_000, { error: 'must be between 1 and 100000' })
      .optional(),
    // CloudWatch: an alarm name has at most 255 characters.
    alarmName: printable(255).optional(),
    // CloudWatch writes the state reason (at most 1,023 characters). A control character in it becomes
    // a space: refusing it would refuse the failover the alarm started.
    stateReason: z
      .string({ error: 'must be a string' })
      .max(1023, { error: 'must be at most 1023 characters' })
      // eslint-disable-next-line no-control-regex
      .transform((s) => s.replace(/[\u0000-\u001f\u007f]/g, ' '))
      .optional(),
    by: printable(128).optional(),
    local: z.boolean().optional(),
  })
  .superRefine((trigger, ctx) => {
    for (const key of Object.keys(trigger)) {
      if (!TRIGGER_FIELDS[trigger.type].includes(key)) {
        ctx.addIssue({ code: 'custom', path: [key], message: `is not a field of ${trigger.type === 'alarm' ? 'an' : 'a'} ${trigger.type} trigger` });
      }
    }
  });

const InputSchema = z.strictObject({
  group: printable(64),
  reason: printable(1024),
  trigger: TriggerSchema,
  dryRun: z.boolean().optional(),
  force: z.boolean().optional(),
  mode: z.enum(['failover', 'switchover'], { error: 'must be "failover" or "switchover"' }).optional(),
  /** A manual execution's statement that the writers are fenced by other means (see Attestation). */
  attestation: z
    .strictObject({
      by: printable(128).optional(),
      reason: printable(1024),
    })
    .optional(),
});

export async function run(event: PlanEvent, deps: Pick<StepDeps, 'now' | 'groups'>): Promise<Plan> {
  const parsed = InputSchema.safeParse(event.input);
  if (!parsed.success) {
    throw new InvalidInput(formatIssues(parsed.error.issues, event.input, '(input)').join('; '));
  }
  const input: ExecutionInput = parsed.data;
  const group = deployedGroupNamed(deps.groups(), input.group);
  const digest = groupDigest(group);
  const defined = Object.hasOwn(event.groupDigests ?? {}, group.name) ? event.groupDigests[group.name] : undefined;
  if (defined !== digest) {
    throw new ConfigMismatch(
      `the state machine's definition was deployed with ${defined === undefined ? 'no group' : `config ${defined} of group`} ${group.name}, ` +
        `but the Plan function has config ${digest}: a deployment is in progress or did not finish; nothing was done. Start the execution again once the stack is deployed`,
    );
  }
  const now = deps.now();
  let triggeredAt = now;
  if (input.trigger.at !== undefined) {
    triggeredAt = Date.parse(input.trigger.at);
    if (triggeredAt > now + 60_000) {
      throw new InvalidInput(`trigger.at: must not be in the future, got ${JSON.stringify(input.trigger.at)}`);
    }
  }
  const mode = input.mode ?? 'failover';
  // Only a person can know that the writers are fenced by means the controller cannot see.
  if (input.attestation && input.trigger.type !== 'manual') {
    throw new InvalidInput(`attestation: only a manual execution may attest that the writers are fenced; this one's trigger.type is ${JSON.stringify(input.trigger.type)}`);
  }
  const by = input.attestation?.by ?? input.trigger.by ?? 'an unnamed operator';
  return {
    executionArn: event.execution.id,
    executionName: event.execution.name,
    group: { name: group.name, digest },
    reason: input.reason,
    trigger: input.trigger,
    mode,
    dryRun: input.dryRun ?? false,
    force: input.force ?? false,
    startedAt: now,
    triggeredAt: Math.min(triggeredAt, now),
    ...(input.attestation ? { attestation: { by, reason: input.attestation.reason, at: new Date(now).toISOString() } } : {}),
  };
}

export const handler = stepHandler('plan', (event: PlanEvent) => run(event, { now: Date.now, groups: bakedGroups }));
