/**
 * `failoverctl pause <group> --reason TEXT`: maintenance mode. The group's state becomes PAUSED, so
 * probes and alarms no longer start a failover (an outage is reported once instead); a manual failover
 * still runs. `resume` arms it again.
 */
import type { GroupState } from '../../lambdas/core/store';
import { DEPLOYMENT_OPTIONS, DEPLOYMENT_OPTIONS_HELP, EXIT, GLOBAL_OPTIONS_HELP, RefusedError, parseCommandArgs, reasonOption } from './args';
import { findDeployment, findGroup, loadCliConfig } from './deployment';
import { colourStatus } from './format';
import { readGroup, refuseWhileInProgress } from './group-state';
import type { Command, Context } from './io';

export const MAINTENANCE_OPTIONS = {
  ...DEPLOYMENT_OPTIONS,
  reason: { type: 'string' },
  force: { type: 'boolean' },
  json: { type: 'boolean' },
} as const;

/** What pause, resume and rearm print with --json. */
export interface StateChangeJson {
  group: string;
  /** The stored status before the command. */
  previous: string;
  /** The stored status after it. */
  status: string;
  changed: boolean;
  reason: string | null;
  updatedAt: string | null;
}

const help = `Usage: failoverctl pause <group> --reason TEXT [--force] [--json]

Maintenance mode: the group becomes PAUSED. Probes and CloudWatch alarms no longer start a failover
(a detected outage is reported once on the SNS topic instead); a manual failover still runs. Undo with
failoverctl resume. A FAILED_OVER group cannot be paused: it already ignores automatic triggers, and
pausing would hide that it failed over (re-arm it with failoverctl rearm instead).

Options:
  --reason TEXT             why (required): stored with the state, shown by status and in skip reasons
  --force                   even while an execution holds the group's lock
  --json                    print { group, previous, status, changed, reason, updatedAt }
${GLOBAL_OPTIONS_HELP}

${DEPLOYMENT_OPTIONS_HELP}

Example:
  failoverctl pause orders --reason "database upgrade, CHG-1234, until 11:00"`;

export const pauseCommand: Command = {
  name: 'pause',
  summary: 'maintenance mode: automatic triggers are ignored (manual failovers still run)',
  help,
  async run(ctx, args) {
    const { values, positionals } = parseCommandArgs('pause', args, MAINTENANCE_OPTIONS, { names: ['group'], required: 1 });
    if (values.help) {
      ctx.out.line(help);
      return EXIT.OK;
    }
    const reason = reasonOption('pause', values.reason);
    const loaded = loadCliConfig(values.config, ctx.cwd);
    const group = findGroup(loaded, positionals[0]).name;
    const deployment = await findDeployment(ctx, values, loaded);
    const view = await readGroup(ctx, deployment, group);
    refuseWhileInProgress(view, group, 'pausing', values.force === true);
    if (view.stored === 'FAILED_OVER') {
      throw new RefusedError(
        `${group} is FAILED_OVER: it already ignores automatic triggers, and pausing would hide that it failed over; ` +
          `describe the new topology in the config, deploy it, then run failoverctl rearm ${group}`,
      );
    }
    const next: GroupState = {
      ...(view.state ?? { group }),
      group,
      status: 'PAUSED',
      reason: `paused by ${ctx.deps.user()}: ${reason}`,
      updatedAt: new Date(ctx.deps.now()).toISOString(),
    };
    await deployment.store.putGroupState(next);
    return reportChange(ctx, values.json === true, group, view.stored, next, () => [
      view.stored === 'PAUSED' ? `${group} was already PAUSED (${view.state?.reason ?? 'no reason'}); the reason is updated.` : `${group} is now ${colourStatus('PAUSED', ctx.out.style)}: probes and alarms no longer start a failover; a manual failover still runs.`,
      `  reason: ${next.reason}`,
      `  resume with: failoverctl resume ${group}`,
    ]);
  },
};

/** Print the change (text or --json); exit 0. */
export function reportChange(ctx: Context, json: boolean, group: string, previous: string, next: GroupState | null, text: () => string[]): number {
  if (json) {
    const out: StateChangeJson = {
      group,
      previous,
      status: next?.status ?? previous,
      changed: next !== null,
      reason: next?.reason ?? null,
      updatedAt: next?.updatedAt ?? null,
    };
    ctx.out.json(out);
  } else {
    for (const line of text()) ctx.out.line(line);
  }
  return EXIT.OK;
}
