/**
 * `failoverctl check [group] [--json]`: would a failover of each group work now? The readiness
 * evaluation the scheduled readiness function runs (lambdas/readiness/evaluate.ts), from the operator's
 * machine. It only reads; the fence's permission is asked with a StopInstances DryRun made with the
 * operator's credentials, the ones a break-glass run (`failover --local`) would fence with.
 */
import type { GroupConfig } from '../../lambdas/core/config';
import { evaluateReadiness, type GroupReadiness, type ReadinessReport } from '../../lambdas/readiness/evaluate';
import { answerDryRun } from '../../lambdas/steps/fence-primary';
import { groupsByName } from '../../lambdas/core/deployed-group';
import { vantageTargets } from '../../lambdas/core/vantage';
import { DEPLOYMENT_OPTIONS, DEPLOYMENT_OPTIONS_HELP, DeploymentError, EXIT, GLOBAL_OPTIONS_HELP, parseCommandArgs } from './args';
import { findDeployment, findGroup, loadCliConfig } from './deployment';
import { formatTime } from './format';
import type { Command, Context, Output } from './io';

const OPTIONS = { ...DEPLOYMENT_OPTIONS, json: { type: 'boolean' } } as const;

const help = `Usage: failoverctl check [group] [--json]

Would a failover of each group work now? Checks, per group: the primary (exists in its region, its
state, an Auto Scaling group that owns it, and that it may be stopped: StopInstances with DryRun, with
your credentials), the old database and every candidate replica (exist, supported engine, replicating
from the expected source, fresh lag datapoints that pass the gate), the DNS records (the zone, each
record simple, pointing at the primary, its live TTL), the alarms the group listens to, the probes'
last rounds, and the group's state and lock. Nothing is changed.

The deployed readiness function runs the same checks on a schedule (readiness.intervalMinutes) and
notifies the topic when a group changes between ready and not ready; failoverctl status shows its last
result.

Options:
  --json                    { checkedAt, groups: [{ group, ready, problems: [{ check, resource, reason }], notes }] }
${GLOBAL_OPTIONS_HELP}

${DEPLOYMENT_OPTIONS_HELP}

Exits 0 when every checked group is ready, 1 when one is not, 3 when AWS could not answer a check.

Examples:
  failoverctl check
  failoverctl check orders --json`;

export const checkCommand: Command = {
  name: 'check',
  summary: 'readiness: would a failover of each group work now (reads only)',
  help,
  async run(ctx, args) {
    const { values, positionals } = parseCommandArgs('check', args, OPTIONS, { names: ['group'] });
    if (values.help) {
      ctx.out.line(help);
      return EXIT.OK;
    }
    const loaded = loadCliConfig(values.config, ctx.cwd);
    const groups: GroupConfig[] = positionals[0] !== undefined ? [findGroup(loaded, positionals[0])] : loaded.config.groups;
    const deployment = await findDeployment(ctx, values, loaded);
    const { clients } = ctx.deps;
    const report = await evaluateReadiness(groups, {
      now: ctx.deps.now,
      ec2: clients.ec2,
      rds: clients.rds,
      autoscaling: clients.autoscaling,
      cloudwatch: clients.cloudwatch,
      route53: clients.route53,
      store: () => deployment.store,
      controllerRegion: deployment.region ?? (await defaultRegion(ctx)),
      allGroups: loaded.config.groups,
      // Every shard's, matched by group name: the local config may deal the groups otherwise than the deployed one.
      probeHeartbeats: () => deployment.store.listProbeHeartbeats(),
      vantages: { targets: vantageTargets(loaded.config), lambda: clients.lambda },
      // As the fence function answers it, with the operator's credentials and the local config.
      fenceAskedAs: 'caller',
      fenceDryRun: (g) => answerDryRun({ dryRun: { group: g.name } }, { ec2: clients.ec2, groups: () => groupsByName(loaded.config.groups) }),
    });
    if (values.json) ctx.out.json(report);
    else {
      ctx.out.line(ctx.out.style.dim(`Readiness of ${deployment.describe()}, config ${loaded.shown}, at ${formatTime(Date.parse(report.checkedAt), ctx.out.timeZone)}`));
      for (const line of formatReadiness(report, ctx.out)) ctx.out.line(line);
    }
    return readinessExitCode(report);
  },
};

/** The SDK's default region (AWS_REGION, the profile): where the controller's alarms are looked for. */
async function defaultRegion(ctx: Context): Promise<string> {
  try {
    const region = await ctx.deps.clients.cloudwatch('').config.region();
    if (region) return region;
  } catch {
    // no region configured: say so below
  }
  throw new DeploymentError('no region is known for the controller (its alarms are looked for there): pass --region REGION or set AWS_REGION');
}

/** 3 when AWS could not answer a check, else 1 when a group is not ready, else 0. */
export function readinessExitCode(report: ReadinessReport): number {
  if (report.groups.some((g) => g.problems.some((p) => p.awsError))) return EXIT.AWS;
  return report.groups.every((g) => g.ready) ? EXIT.OK : EXIT.NOT_SUCCEEDED;
}

/** The report as a person reads it: per group, READY or NOT READY, each problem, then the notes. */
export function formatReadiness(report: ReadinessReport, out: Pick<Output, 'style'>): string[] {
  return report.groups.flatMap((g) => ['', ...formatGroup(g, out)]);
}

function formatGroup(g: GroupReadiness, { style: s }: Pick<Output, 'style'>): string[] {
  const n = g.problems.length;
  const lines = [`${s.bold(g.group)}  ${g.ready ? s.green('READY') : `${s.red('NOT READY')}: ${n} problem${n === 1 ? '' : 's'}`}`];
  for (const p of g.problems) lines.push(`  ${p.check.padEnd(9)}${p.resource}`, `           ${p.reason}`);
  for (const note of g.notes) lines.push(s.dim(`  ${note.check.padEnd(9)}${note.resource}: ${note.note}`));
  return lines;
}
