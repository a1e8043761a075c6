/**
 * Step 1: validate the execution input against the deployed config and plan the run. Malformed input
 * or an unknown group fails the execution with InvalidInput, naming the field; nothing is changed.
 */
import { z } from 'zod';
import { formatIssues, type GroupConfig } from '../core/config';
import type { StepDeps } from '../runtime/deps';
import { InvalidInput } from '../core/errors';
import { stepHandler } from '../runtime/powertools';
import { lockTtlSeconds } from '../core/budgets';
import type { ExecutionInput, Plan } from '../core/workflow-state';

/**
 * What the state machine passes: the execution input, the deployed groups (the validated config,
 * embedded in the definition as a JSON string so no value can be mistaken for a JSONPath), and the
 * execution's identity.
 */
export interface PlanEvent {
  input: unknown;
  groupsJson: string;
  execution: { id: string; name: string };
}

const printable = (max: number) =>
  z
    .string()
    .min(1, { error: 'must not be empty' })
    .max(max, { error: `must be at most ${max} characters` })
    // eslint-disable-next-line no-control-regex
    .refine((s) => !/[\u0000-\u001f\u007f]/.test(s), { error: 'must not contain control characters' });

const InputSchema = z.strictObject({
  group: printable(64),
  reason: printable(1024),
  trigger: z.looseObject({
    type: z.enum(['probe', 'alarm', 'manual'], { error: 'must be one of probe, alarm, manual' }),
    at: z.iso.datetime({ offset: true, error: 'must be an ISO 8601 time such as 2026-01-01T00:00:00Z' }).optional(),
  }),
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

export async function run(event: PlanEvent, deps: Pick<StepDeps, 'now'>): Promise<Plan> {
  const parsed = InputSchema.safeParse(event.input);
  if (!parsed.success) {
    throw new InvalidInput(formatIssues(parsed.error.issues, event.input, '(input)').join('; '));
  }
  const input: ExecutionInput = parsed.data;
  const groups = JSON.parse(event.groupsJson) as Record<string, GroupConfig>;
  const group = Object.hasOwn(groups, input.group) ? groups[input.group] : undefined;
  if (!group) {
    const known = Object.keys(groups).sort().join(', ');
    throw new InvalidInput(`group: unknown group ${JSON.stringify(input.group)}; known groups: ${known}`);
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
  const by = input.attestation?.by ?? (typeof input.trigger.by === 'string' ? input.trigger.by : 'an unnamed operator');
  return {
    executionArn: event.execution.id,
    executionName: event.execution.name,
    group,
    reason: input.reason,
    trigger: input.trigger,
    mode,
    dryRun: input.dryRun ?? false,
    force: input.force ?? false,
    startedAt: now,
    triggeredAt: Math.min(triggeredAt, now),
    lockTtlSeconds: lockTtlSeconds(Object.values(groups)),
    ...(input.attestation ? { attestation: { by, reason: input.attestation.reason, at: new Date(now).toISOString() } } : {}),
  };
}

export const handler = stepHandler('plan', (event: PlanEvent) => run(event, { now: Date.now }));
