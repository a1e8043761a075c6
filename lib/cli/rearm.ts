/**
 * `failoverctl rearm <group>`: after a failover (FAILED_OVER → ARMED), once the config describes the new
 * topology. Refuses while the config file still names the instance the last failover fenced, or the
 * replica it promoted, and while the deployed stack's config of the group is not the file's (when the
 * deployed definition can be read: it names each group's config by digest).
 */
import { DescribeStateMachineCommand } from '@aws-sdk/client-sfn';
import type { HistoryItem } from '../../lambdas/core/history';
import type { GroupState } from '../../lambdas/core/store';
import type { GroupConfig } from '../../lambdas/core/config';
import { groupDigest } from '../../lambdas/core/deployed-group';
import { DEPLOYMENT_OPTIONS_HELP, EXIT, GLOBAL_OPTIONS_HELP, RefusedError, parseCommandArgs, reasonOption } from './args';
import { findDeployment, findGroup, loadCliConfig, type Deployment } from './deployment';
import { colourStatus, formatIso } from './format';
import { readGroup, refuseWhileInProgress } from './group-state';
import type { Command, Context } from './io';
import { MAINTENANCE_OPTIONS, reportChange } from './pause';

const help = `Usage: failoverctl rearm <group> [--reason TEXT] [--force] [--json]

Re-arm a group after a failover (FAILED_OVER -> ARMED), once the config describes the new topology.
Refuses (exit 4, nothing changed) while the config file (--config) still names, as the group's primary,
the instance the last failover fenced, or, as its replica, the replica it promoted; and while the
deployed stack's config of the group differs from the file's (when the stack's state machine can be
read: its definition names each group's config by digest). Update the config, deploy it
(npx cdk deploy), then re-arm. The cooldown after the last failover still applies.

Options:
  --reason TEXT             why (optional): stored with the state
  --force                   re-arm even if the config looks unchanged, or while the lock is held
  --json                    print { group, previous, status, changed, reason, updatedAt }
${GLOBAL_OPTIONS_HELP}

${DEPLOYMENT_OPTIONS_HELP}

Example:
  failoverctl rearm orders --reason "new primary i-0fedcba9876543210 in us-west-2, config deployed"`;

export const rearmCommand: Command = {
  name: 'rearm',
  summary: 'after a failover (FAILED_OVER -> ARMED), once the config describes the new topology',
  help,
  async run(ctx, args) {
    const { values, positionals } = parseCommandArgs('rearm', args, MAINTENANCE_OPTIONS, { names: ['group'], required: 1 });
    if (values.help) {
      ctx.out.line(help);
      return EXIT.OK;
    }
    const reason = values.reason !== undefined ? reasonOption('rearm', values.reason) : undefined;
    const force = values.force === true;
    const loaded = loadCliConfig(values.config, ctx.cwd);
    const group = findGroup(loaded, positionals[0]);
    const deployment = await findDeployment(ctx, values, loaded);
    const view = await readGroup(ctx, deployment, group.name);
    if (view.stored === 'ARMED') {
      return reportChange(ctx, values.json === true, group.name, 'ARMED', null, () => [`${group.name} is already ARMED; nothing changed.`]);
    }
    if (view.stored === 'PAUSED') {
      throw new RefusedError(`${group.name} is PAUSED, not FAILED_OVER: use failoverctl resume ${group.name}`);
    }
    refuseWhileInProgress(view, group.name, 're-arming', force);

    const state = view.state!;
    const last = await lastFailoverItem(deployment, group.name, state);
    const problems: string[] = [];
    if (!last) problems.push('no history item of the last failover was found to check the config against');
    const local = staleNames(ctx, group, state, last);
    if (local.length > 0) problems.push(`the config (${loaded.shown}) still names ${local.join(' and ')}`);
    const deployed = await deployedDifference(ctx, deployment, group);
    if (deployed === 'same') {
      if (local.length > 0) problems[problems.length - 1] += ', and so does the deployed stack';
    } else if (deployed !== undefined) problems.push(deployed);
    if (problems.length > 0 && !force) {
      throw new RefusedError(
        `refusing to re-arm ${group.name}: ${problems.join('; ')}. Describe the new topology in the config, deploy it (npx cdk deploy), then run rearm again, or pass --force`,
      );
    }
    for (const problem of problems) ctx.out.warn(`re-arming anyway (--force): ${problem}`);

    const next: GroupState = {
      group: group.name,
      status: 'ARMED',
      reason: `re-armed by ${ctx.deps.user()}${reason ? `: ${reason}` : ''}`,
      // Kept, so the cooldown after the last failover still applies.
      ...(state.lastFailover ? { lastFailover: state.lastFailover } : {}),
      updatedAt: new Date(ctx.deps.now()).toISOString(),
    };
    await deployment.store.putGroupState(next);
    return reportChange(ctx, values.json === true, group.name, 'FAILED_OVER', next, () => [
      `${group.name} is ${colourStatus('ARMED', ctx.out.style)} again: probes and alarms fail it over when its primary, ${group.primary.instanceId}, fails.`,
      ...(state.lastFailover
        ? [`  the cooldown after the last failover (${formatIso(state.lastFailover.at, ctx.out.timeZone)}) is ${group.detection.cooldownMinutes} min`]
        : []),
    ]);
  },
};

/** The history item of the failover that left the group FAILED_OVER. */
async function lastFailoverItem(deployment: Deployment, group: string, state: GroupState): Promise<HistoryItem | undefined> {
  const items = await deployment.store.listHistory({ group, limit: 100 });
  const arn = state.lastFailover?.executionArn;
  return items.find((h) => h.executionArn === arn) ?? items.find((h) => !h.dryRun && h.promotion?.confirmed === true);
}

/**
 * What `group` (as a config describes it) still names from before the failover: the instance the last
 * failover fenced, as the primary; the replica it promoted, as the replica. One phrase each.
 */
function staleNames(ctx: Context, group: GroupConfig, state: GroupState, last: HistoryItem | undefined): string[] {
  const names: string[] = [];
  const fenced = last?.fence?.instanceId;
  if (fenced !== undefined && group.primary.instanceId === fenced) {
    names.push(`${fenced} as the primary (fenced by ${last!.executionName} at ${formatIso(last!.endedAt, ctx.out.timeZone)})`);
  }
  const promoted = state.primary?.id ?? last?.promotion?.dbInstanceIdentifier;
  if (promoted !== undefined && group.replica.dbInstanceIdentifier === promoted) {
    names.push(`${promoted} as the replica (promoted: no longer a read replica)`);
  }
  return names;
}

/**
 * Is the group deployed as the config file describes it? The state machine's Plan state names each
 * deployed group's config by digest (lambdas/core/deployed-group.ts): 'same' when the group's equals the
 * file's, else the problem in a sentence; undefined (with a note) when the state machine is not known
 * or cannot be read.
 */
async function deployedDifference(ctx: Context, deployment: Deployment, group: GroupConfig): Promise<'same' | string | undefined> {
  if (!deployment.stateMachineArn) return undefined;
  let digests: Record<string, unknown>;
  try {
    const out = await deployment.sfn(deployment.stateMachineArn).send(new DescribeStateMachineCommand({ stateMachineArn: deployment.stateMachineArn }));
    const definition = JSON.parse(out.definition ?? '{}');
    digests = definition?.States?.Plan?.Parameters?.groupDigests ?? {};
  } catch (err) {
    ctx.out.warn(`could not read the deployed definition (${(err as Error).name}: ${(err as Error).message}); checked the config file only`);
    return undefined;
  }
  const deployed = Object.hasOwn(digests, group.name) ? digests[group.name] : undefined;
  if (deployed === undefined) return `the deployed state machine has no group ${group.name} (deploy the config: npx cdk deploy)`;
  const local = groupDigest(group);
  if (deployed === local) return 'same';
  return `the deployed stack's config of ${group.name} (digest ${String(deployed)}) is not the config file's (${local}): deploy it (npx cdk deploy)`;
}
