/**
 * `failoverctl unlock <group>`: release a lock whose execution is over. An execution stopped from the
 * console (or one that timed out) never reaches its record step, so its lock stays until it expires and
 * every failover of the group meanwhile is SKIPPED. Unlock asks Step Functions first and refuses while
 * the holder may still be running (unless --force): releasing a live execution's lock would let a
 * second failover run beside it.
 */
import { DEPLOYMENT_OPTIONS, DEPLOYMENT_OPTIONS_HELP, EXIT, GLOBAL_OPTIONS_HELP, RefusedError, parseCommandArgs } from './args';
import { findDeployment, findGroup, loadCliConfig } from './deployment';
import { formatTime } from './format';
import { readGroup } from './group-state';
import type { Command } from './io';

const OPTIONS = { ...DEPLOYMENT_OPTIONS, force: { type: 'boolean' }, json: { type: 'boolean' } } as const;

const help = `Usage: failoverctl unlock <group> [--force] [--json]

Release the group's failover lock when the execution holding it is over (stopped, timed out, failed):
until it expires (the state machine's timeout plus five minutes), every failover of the group is
SKIPPED. Step Functions is asked first; while the holder is RUNNING, or cannot be asked, unlock refuses
(exit 4) and changes nothing, unless --force.

Options:
  --force                   release it even though the holder may still be running
  --json                    print { group, holder, holderStatus, released }
${GLOBAL_OPTIONS_HELP}

${DEPLOYMENT_OPTIONS_HELP}

Example:
  failoverctl unlock orders`;

export const unlockCommand: Command = {
  name: 'unlock',
  summary: 'release a failover lock left by an execution that is over',
  help,
  async run(ctx, args) {
    const { values, positionals } = parseCommandArgs('unlock', args, OPTIONS, { names: ['group'], required: 1 });
    if (values.help) {
      ctx.out.line(help);
      return EXIT.OK;
    }
    const loaded = loadCliConfig(values.config, ctx.cwd);
    const group = findGroup(loaded, positionals[0]).name;
    const deployment = await findDeployment(ctx, values, loaded);
    const view = await readGroup(ctx, deployment, group);
    const report = (released: boolean, lines: string[]) => {
      if (values.json) ctx.out.json({ group, holder: view.lock?.holder ?? null, holderStatus: view.holder?.status ?? null, released });
      else for (const line of lines) ctx.out.line(line);
      return EXIT.OK;
    };
    if (!view.lock) return report(false, [`${group} has no lock; nothing changed.`]);
    if (view.lockLive && !values.force) {
      const known = view.holder ? `Step Functions says it is ${view.holder.status}` : 'Step Functions could not be asked about it';
      throw new RefusedError(`the lock of ${group} is held by ${view.lock.holder}, and ${known}; wait for it to end, or pass --force`);
    }
    // Conditional on the holder: if another execution took the lock meanwhile, it keeps it.
    const released = await deployment.store.releaseLock(group, view.lock.holder);
    const about = view.holder ? `${view.holder.status.toLowerCase()}` : view.lock.expiresAt < ctx.deps.now() ? 'expired' : 'forced';
    return report(released, [
      released
        ? `released the lock of ${group} held by ${view.lock.holder} (${about}; it would have expired ${formatTime(view.lock.expiresAt, ctx.out.timeZone)}).`
        : `the lock of ${group} changed hands meanwhile; nothing released.`,
    ]);
  },
};
