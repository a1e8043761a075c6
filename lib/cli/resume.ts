/**
 * `failoverctl resume <group>`: end maintenance mode (PAUSED → ARMED). It never re-arms a FAILED_OVER
 * group: that takes `rearm`, which checks that the config describes the new topology first.
 */
import type { GroupState } from '../../lambdas/core/store';
import { DEPLOYMENT_OPTIONS_HELP, EXIT, GLOBAL_OPTIONS_HELP, RefusedError, parseCommandArgs, reasonOption } from './args';
import { findDeployment, findGroup, loadCliConfig } from './deployment';
import { colourStatus } from './format';
import { readGroup, refuseWhileInProgress } from './group-state';
import type { Command } from './io';
import { MAINTENANCE_OPTIONS, reportChange } from './pause';

const help = `Usage: failoverctl resume <group> [--reason TEXT] [--force] [--json]

End maintenance mode: a PAUSED group becomes ARMED again, and probes and alarms fail it over again.
On a FAILED_OVER group resume refuses (exit 4) and changes nothing: after a failover the config still
describes the old topology, so re-arming takes failoverctl rearm, which checks the config first.
On an ARMED group it does nothing.

Options:
  --reason TEXT             why (optional): stored with the state
  --force                   even while an execution holds the group's lock
  --json                    print { group, previous, status, changed, reason, updatedAt }
${GLOBAL_OPTIONS_HELP}

${DEPLOYMENT_OPTIONS_HELP}

Example:
  failoverctl resume orders --reason "upgrade done"`;

export const resumeCommand: Command = {
  name: 'resume',
  summary: 'end maintenance mode (PAUSED -> ARMED); never re-arms a FAILED_OVER group',
  help,
  async run(ctx, args) {
    const { values, positionals } = parseCommandArgs('resume', args, MAINTENANCE_OPTIONS, { names: ['group'], required: 1 });
    if (values.help) {
      ctx.out.line(help);
      return EXIT.OK;
    }
    const reason = values.reason !== undefined ? reasonOption('resume', values.reason) : undefined;
    const loaded = loadCliConfig(values.config, ctx.cwd);
    const group = findGroup(loaded, positionals[0]).name;
    const deployment = await findDeployment(ctx, values, loaded);
    const view = await readGroup(ctx, deployment, group);
    if (view.stored === 'FAILED_OVER') {
      throw new RefusedError(
        `${group} is FAILED_OVER, not PAUSED: resume does not re-arm a group after a failover; ` +
          `describe the new topology in the config, deploy it, then run failoverctl rearm ${group}`,
      );
    }
    if (view.stored === 'ARMED') {
      return reportChange(ctx, values.json === true, group, 'ARMED', null, () => [`${group} is already ARMED; nothing changed.`]);
    }
    refuseWhileInProgress(view, group, 'resuming', values.force === true);
    const next: GroupState = {
      ...view.state!,
      status: 'ARMED',
      reason: `resumed by ${ctx.deps.user()}${reason ? `: ${reason}` : ''}`,
      updatedAt: new Date(ctx.deps.now()).toISOString(),
    };
    await deployment.store.putGroupState(next);
    return reportChange(ctx, values.json === true, group, view.stored, next, () => [
      `${group} is ${colourStatus('ARMED', ctx.out.style)} again: probes and alarms start a failover when the primary fails.`,
      `  was: ${view.state?.reason ?? 'PAUSED'}`,
    ]);
  },
};
