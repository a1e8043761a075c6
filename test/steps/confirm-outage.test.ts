/**
 * The confirmation step's answer for a group without probes: it confirms only when the group's config
 * opts out in writing (`confirmation: "none"`); otherwise an automatic trigger is not confirmed and the
 * execution ends ABORTED with nothing changed.
 */
import { describe, expect, it } from 'vitest';
import { parseConfig, type GroupConfig } from '../../lambdas/core/config';
import { run } from '../../lambdas/steps/confirm-outage';
import { at, deployed, ordersInput, planFor } from '../support/fixtures';

const ALARM = 'orders-primary-status-check-failed';

/** The group `orders` with alarms and no probes, as the config gives it. */
function alarmOnly(extra: Record<string, unknown>): GroupConfig {
  return parseConfig({ groups: [{ ...ordersInput(), alarms: [ALARM], ...extra }] }).groups[0];
}

const stateFor = (group: GroupConfig) => ({ plan: planFor(group, { trigger: { type: 'alarm', alarmName: ALARM } as never }) });
const depsFor = (group: GroupConfig) => ({ now: () => at(1), ...deployed(group) });

describe('confirm-outage for a group without probes', () => {
  it('confirms an alarm trigger when the config opts out with confirmation "none", and says nothing confirmed it', async () => {
    // Arrange
    const group = alarmOnly({ confirmation: 'none' });

    // Act
    const result = await run(stateFor(group) as never, depsFor(group));

    // Assert
    expect(result).toEqual({
      startedAt: at(1),
      endedAt: at(1),
      confirmed: true,
      reason: 'not confirmed by any probe: orders has no probes and its config says confirmation "none", so the trigger alone starts the failover',
    });
  });

  it('does not confirm when the group did not opt out (an embedded group from before the field existed)', async () => {
    // Arrange: the schema requires the opt-out now; a definition deployed earlier embeds groups without it.
    const { confirmation: _dropped, ...embedded } = alarmOnly({ confirmation: 'none' });
    const group = embedded as unknown as GroupConfig;

    // Act
    const result = await run(stateFor(group) as never, depsFor(group));

    // Assert
    expect(result.confirmed).toBe(false);
    expect(result.reason).toBe('not failing over: orders has no probes to confirm the outage against, and its config does not opt out with confirmation "none"');
  });
});
