/**
 * `failoverctl failover` and `switchover`: say what will happen, get a confirmation, start the
 * workflow (in Step Functions, or with --local from this machine), follow it step by step, and exit
 * by its outcome.
 */
import { StartExecutionCommand } from '@aws-sdk/client-sfn';
import type { HistoryItem } from '../../lambdas/core/history';
import type { GroupState, LockItem, Store } from '../../lambdas/core/store';
import type { ExecutionInput, Mode, Outcome } from '../../lambdas/core/workflow-state';
import { sourceDatabase, type GroupConfig } from '../../lambdas/core/config';
import {
  DEPLOYMENT_OPTIONS,
  DEPLOYMENT_OPTIONS_HELP,
  DeploymentError,
  EXIT,
  GLOBAL_OPTIONS_HELP,
  RefusedError,
  UsageError,
  parseCommandArgs,
  reasonOption,
} from './args';
import { findDeployment, findGroup, loadCliConfig, type Deployment } from './deployment';
import { followExecution, stepLine } from './follow';
import { colourOutcome, executionConsoleUrl, formatDuration, formatIso, formatTime } from './format';
import { askYesNo, type Command, type Context } from './io';
import { localExecutionArn, runLocally, workflowFor, type LocalCall, type WorkflowSource } from './local';

const OPTIONS = {
  ...DEPLOYMENT_OPTIONS,
  reason: { type: 'string' },
  'dry-run': { type: 'boolean' },
  force: { type: 'boolean' },
  'attest-fenced': { type: 'string' },
  yes: { type: 'boolean', short: 'y' },
  'no-wait': { type: 'boolean' },
  local: { type: 'boolean' },
  json: { type: 'boolean' },
} as const;

// A switchover waits for lag 0 and never overrides the RPO gate: --force means nothing there; nor does
// an attestation (a switchover needs the old region up to stop its writers gracefully).
const { force: _force, 'attest-fenced': _attest, ...SWITCHOVER_OPTIONS } = OPTIONS;

/** Outcomes after which failoverctl exits 0. */
const GOOD_OUTCOMES: ReadonlySet<string> = new Set<Outcome>(['SUCCEEDED', 'DRY_RUN']);

/** What `failover --json` prints: one object, the same shape for every way a run can end. */
export interface RunResult {
  group: string;
  executionArn: string;
  executionName: string;
  /** The Step Functions console page; null for a --local run. */
  consoleUrl: string | null;
  local: boolean;
  /** The execution's status: RUNNING (with --no-wait), SUCCEEDED, FAILED, TIMED_OUT or ABORTED. */
  status: string;
  /** The workflow's outcome (SUCCEEDED, DRY_RUN, SKIPPED, ABORTED, FENCE_FAILED, ...); null if it never got one. */
  outcome: Outcome | null;
  /** The execution's error, when it failed. */
  error: { name: string; cause: string } | null;
  startedAt: string;
  endedAt: string | null;
  /** The execution's history item, as the store holds it. */
  history: HistoryItem | null;
  /** A --local run only: where its workflow came from (prepared, or synthesized now and how long that took). */
  workflow?: WorkflowSource;
}

const failoverHelp = `Usage: failoverctl failover <group> --reason TEXT [--dry-run] [--force] [--attest-fenced TEXT] [--yes] [--no-wait] [--json] [--local]

Fail a group over now: fence every writer (force-stop the EC2 primary and its additional instances;
put the old database behind a deny-all security group and reboot it), re-check every fence, promote
the RDS read replica, re-check the fences, flip the DNS records. Prints the plan and asks for confirmation, starts the deployed Step Functions workflow with a
manual trigger, and follows it step by step until it ends.

Options:
  --reason TEXT             why (required): goes into the history and the notification
  --dry-run                 check every step without changing anything (no confirmation needed); the
                            run still writes its DRY_RUN history item and sends its notification
  --force                   promote even if the replica lags more than maxLagSeconds (data loss!)
  --attest-fenced TEXT      you state that the writers are fenced by other means (how: TEXT), e.g. the
                            region is dark or you terminated them: the workflow then proceeds past a
                            fence it cannot complete (region unreachable, instance not found, stop not
                            confirmed). Your name, the time and TEXT go into the record and the
                            notification. Wrong, this gives TWO WRITERS.
  -y, --yes                 do not ask; required when stdin is not a terminal
  --no-wait                 start the execution, print its ARN and console link, and exit 0
  --json                    no live progress; print one JSON result at the end
  --local                   BREAK-GLASS: run the same workflow from this machine with your credentials,
                            when Step Functions cannot (see below). Needs --yes.
${GLOBAL_OPTIONS_HELP}

${DEPLOYMENT_OPTIONS_HELP}

Break-glass (--local): the state machine definition the stack deploys, its steps run in this process with
real AWS clients per region, against the stack's DynamoDB table (--table) and SNS topic (--topic-arn): the
same lock, history and notification. The definition is the one \`cdk synth\` (or an earlier --local run)
prepared for this config and this version of the controller, kept in FAILOVER_CACHE_DIR (default
~/.cache/failover-controller); without one it is synthesized first, which takes seconds: a run without
--yes prepares it. The execution is named local-<group>-<time>, its ARN is local:<name>, and the trigger
says local: true. Keep the terminal open until it ends.

Exits 0 when the outcome is SUCCEEDED or DRY_RUN, 1 for any other outcome, 2 on usage errors (nothing
started), 3 on AWS errors, 4 when the confirmation is declined, 130 when interrupted (the execution
goes on).

Examples:
  failoverctl failover orders --reason "primary unreachable since 09:02, INC-4711"
  failoverctl failover orders --reason "game day" --dry-run
  failoverctl failover orders --reason "us-east-1 down" --attest-fenced "region dark since 09:02; i-0a1b... terminated by hand"
  failoverctl failover orders --reason "Step Functions down in us-west-2" --local --yes`;

const switchoverHelp = `Usage: failoverctl switchover <group> --reason TEXT [--dry-run] [--yes] [--no-wait] [--json] [--local]

Planned failover without data loss: wait (up to switchover.lagTimeoutSeconds) until the replica lag is
0, stop the EC2 primary gracefully, promote the replica, flip the DNS records. Aborts (nothing changed)
if the lag never reaches 0. Confirmation, following and exit codes as for failover.

Options:
  --reason TEXT             why (required)
  --dry-run                 check every step without changing anything
  -y, --yes                 do not ask; required when stdin is not a terminal
  --no-wait                 start it and exit
  --json                    one JSON result at the end
  --local                   break-glass: run it from this machine (see failoverctl failover --help)
${GLOBAL_OPTIONS_HELP}

${DEPLOYMENT_OPTIONS_HELP}

Example:
  failoverctl switchover orders --reason "move the database to us-west-2 for the region migration"`;

export const failoverCommand: Command = {
  handlesInterrupt: true,
  name: 'failover',
  summary: 'fail a group over now: fence the primary, promote the replica, flip DNS (--local: break-glass)',
  help: failoverHelp,
  run: (ctx, args) => runFailover(ctx, args, 'failover'),
};

export const switchoverCommand: Command = {
  handlesInterrupt: true,
  name: 'switchover',
  summary: 'planned failover: wait for replica lag 0, stop the primary gracefully, promote, flip DNS',
  help: switchoverHelp,
  run: (ctx, args) => runFailover(ctx, args, 'switchover'),
};

async function runFailover(ctx: Context, args: string[], mode: Mode): Promise<number> {
  const command = mode;
  const { values, positionals } = parseCommandArgs(command, args, mode === 'failover' ? OPTIONS : SWITCHOVER_OPTIONS, { names: ['group'], required: 1 });
  if (values.help) {
    ctx.out.line(mode === 'failover' ? failoverHelp : switchoverHelp);
    return EXIT.OK;
  }
  const flags = values as typeof values & { force?: boolean };
  const local = values.local === true;
  if (local && values['no-wait']) throw new UsageError(`${command}: --no-wait cannot be used with --local: a local run happens in this process`);
  const reason = reasonOption(command, values.reason);
  const loaded = loadCliConfig(values.config, ctx.cwd);
  const group = findGroup(loaded, positionals[0]);
  const deployment = await findDeployment(ctx, values, loaded, local ? ['topicArn'] : ['stateMachineArn']);
  const dryRun = values['dry-run'] === true;
  const force = flags.force === true;
  const attest = attestOption(command, (values as { 'attest-fenced'?: string })['attest-fenced']);

  const now = ctx.deps.now();
  const executionName = `${local ? 'local' : 'manual'}-${mode === 'switchover' ? 'switchover-' : ''}${group.name}-${compactTime(now)}`;
  const input: ExecutionInput = {
    group: group.name,
    reason,
    trigger: { type: 'manual', by: ctx.deps.user(), at: new Date(now).toISOString(), ...(local ? { local: true } : {}) },
    mode,
    ...(dryRun ? { dryRun: true } : {}),
    ...(force ? { force: true } : {}),
    ...(attest ? { attestation: { by: ctx.deps.user(), reason: attest } } : {}),
  };

  const [state, lock] = await Promise.all([deployment.store.getGroupState(group.name), deployment.store.getLock(group.name)]);
  printPlan(ctx, { group, mode, dryRun, force, local, reason, executionName, deployment, configPath: loaded.shown, attest });
  for (const warning of warningsFor(ctx, group, mode, state, lock, now)) ctx.out.warn(warning);

  // Before the confirmation, so that a run without --yes leaves the workflow prepared for the one with it.
  const workflow = local ? workflowFor(ctx, loaded.config) : undefined;
  if (workflow) printWorkflowSource(ctx, workflow.source);

  if (local) {
    if (!values.yes) {
      throw new UsageError(`${command} --local runs the workflow from this machine with your credentials: review the plan above, then run it again with --yes`);
    }
  } else if (!values.yes && !dryRun) {
    if (!ctx.out.interactive.stdin) {
      throw new UsageError(`refusing to start a ${mode} of ${group.name} without confirmation: stdin is not a terminal, so pass --yes`);
    }
    const question = attest ? `Start the ${mode} of ${group.name}, attesting that its writers are fenced by other means?` : `Start the ${mode} of ${group.name}?`;
    if (!(await askYesNo(ctx, question))) {
      throw new RefusedError(`not confirmed: no ${mode} of ${group.name} was started`);
    }
  }

  const result = workflow
    ? await startLocal(ctx, { deployment, loaded, workflow, input, executionName, json: values.json === true })
    : await startRemote(ctx, { deployment, input, executionName, wait: !values['no-wait'], json: values.json === true });
  if (result === 'interrupted') return EXIT.INTERRUPTED;
  if (values.json) ctx.out.json(result);
  else printResult(ctx, result);
  if (result.status === 'RUNNING') return EXIT.OK;
  return result.status === 'SUCCEEDED' && result.outcome !== null && GOOD_OUTCOMES.has(result.outcome) ? EXIT.OK : EXIT.NOT_SUCCEEDED;
}

/** The --attest-fenced text: what the operator did to fence the writers; printable, at most 512 characters. */
function attestOption(command: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (value.trim() === '') throw new UsageError(`${command}: --attest-fenced TEXT must say how the writers are fenced`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(value)) throw new UsageError(`${command}: --attest-fenced must not contain control characters`);
  if (value.length > 512) throw new UsageError(`${command}: --attest-fenced must be at most 512 characters, got ${value.length}`);
  return value.trim();
}

/** 20260101T090012Z: execution names allow letters, digits, - and _. */
function compactTime(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

function printPlan(
  ctx: Context,
  p: { group: GroupConfig; mode: Mode; dryRun: boolean; force: boolean; local: boolean; reason: string; executionName: string; deployment: Deployment; configPath: string; attest?: string },
): void {
  const { out } = ctx;
  const { group, mode } = p;
  const s = out.style;
  const title = `${p.dryRun ? 'Dry run of a' : 'A'} ${mode} of ${group.name}${p.dryRun ? ': every step is checked, nothing is changed' : ''}`;
  out.note(s.bold(p.local ? `BREAK-GLASS: ${title}, run from this machine, not in Step Functions` : title));
  const steps: string[] = [];
  const instances = [group.primary.instanceId, ...group.primary.additionalInstanceIds].join(', ');
  const source = sourceDatabase(group.replica);
  const database = `fence-db put the old database ${source.id} (${source.region}) behind only a deny-all security group, then reboot it to close every connection (up to ${formatDuration(group.fence.databaseTimeoutSeconds)})`;
  if (mode === 'switchover') {
    steps.push(`assess   check replica ${group.replica.dbInstanceIdentifier}: available, a read replica of ${group.replica.source}, else abort`);
    steps.push(`fence    stop EC2 ${instances} in ${group.primary.region} gracefully, wait until stopped (up to ${formatDuration(group.switchover.stopTimeoutSeconds)})`);
    steps.push(database);
    steps.push(`catch-up wait until the replica has every write (up to ${formatDuration(group.switchover.lagTimeoutSeconds)}), else abort with the writers still fenced`);
  } else {
    const gate = p.force
      ? 'whatever its lag before the outage (--force: the data-loss estimate is recorded, or "unknown" when nothing bounds it)'
      : `if its lag before the outage is at most ${group.replica.maxLagSeconds} s`;
    const candidates = [group.replica, ...group.additionalReplicas].map((r) => r.dbInstanceIdentifier);
    steps.push(candidates.length > 1
      ? `assess   check replicas ${candidates.join(', ')}: available, read replicas, each ${gate}; choose the one that loses the least`
      : `assess   check replica ${group.replica.dbInstanceIdentifier}: available, a read replica, ${gate}`);
    steps.push(`fence    force-stop EC2 ${instances} in ${group.primary.region}, wait until stopped (up to ${formatDuration(group.fence.timeoutSeconds)})`);
    steps.push(database);
  }
  steps.push('verify   re-read every fence from AWS; stop again any instance found running');
  const promoteWhat = group.additionalReplicas.length > 0 ? 'the chosen RDS read replica' : `RDS read replica ${group.replica.dbInstanceIdentifier} in ${group.replica.region}`;
  steps.push(`promote  ${promoteWhat}, wait until standalone (up to ${formatDuration(group.promotion.timeoutSeconds)})`);
  const records = group.dns.records.map((r) => `${r.type} ${r.name} -> ${r.target === 'replicaEndpoint' ? "the replica's endpoint" : (r.values ?? []).join(',')} (TTL ${r.ttl})`);
  steps.push(`dns      re-check every fence, then UPSERT in ${group.dns.zoneName}: ${records.join('; ')}`);
  steps.forEach((step, i) => out.note(`  ${i + 1}. ${step}`));
  out.note(`  reason:     ${p.reason}`);
  if (p.attest) {
    out.note(s.bold(`  ATTESTED:   you (${ctx.deps.user()}) state that the writers are fenced by other means: ${p.attest}`));
    out.note('              the workflow proceeds past any fence it cannot complete; if the statement is wrong, two databases accept writes');
  }
  out.note(`  execution:  ${p.local ? localExecutionArn(p.executionName) : p.executionName}`);
  if (p.local) {
    out.note(`  AWS calls:  from this machine with your credentials${ctx.env.AWS_PROFILE ? ` (profile ${ctx.env.AWS_PROFILE})` : ''}`);
    out.note(`  records to: table ${p.deployment.tableName}; notifies ${p.deployment.topicArn}`);
  } else {
    out.note(`  on:         ${p.deployment.stateMachineArn}`);
  }
  out.note(`  config:     ${p.configPath}`);
}

/** What the operator should know before confirming, from the group's state and lock. */
function warningsFor(ctx: Context, group: GroupConfig, mode: Mode, state: GroupState | undefined, lock: LockItem | undefined, now: number): string[] {
  const tz = ctx.out.timeZone;
  const warnings: string[] = [];
  if (lock && lock.expiresAt >= now) {
    warnings.push(`another execution holds the lock of ${group.name} (${lock.holder}, until ${formatTime(lock.expiresAt, tz)}): this ${mode} will be SKIPPED`);
  }
  if (state?.status === 'PAUSED') warnings.push(`${group.name} is PAUSED${state.reason ? ` (${state.reason})` : ''}: a manual ${mode} runs anyway`);
  if (state?.status === 'FAILED_OVER') {
    warnings.push(
      `${group.name} already FAILED_OVER to ${state.primary?.id ?? 'its replica'}${state.lastFailover ? ` at ${formatIso(state.lastFailover.at, tz)}` : ''}: ` +
        `its replica is no longer a replica, so this run will most likely be ABORTED (update the config, deploy, then failoverctl rearm)`,
    );
  }
  return warnings;
}

async function startRemote(
  ctx: Context,
  o: { deployment: Deployment; input: ExecutionInput; executionName: string; wait: boolean; json: boolean },
): Promise<RunResult | 'interrupted'> {
  const { deployment, input, executionName } = o;
  const sfn = deployment.sfn(deployment.stateMachineArn);
  let start;
  try {
    start = await sfn.send(new StartExecutionCommand({ stateMachineArn: deployment.stateMachineArn!, name: executionName, input: JSON.stringify(input) }));
  } catch (err) {
    if ((err as Error).name === 'ExecutionAlreadyExists') {
      throw new UsageError(`an execution named ${executionName} already exists (started within the same second): wait a second and run the command again`);
    }
    throw err;
  }
  const executionArn = start.executionArn!;
  const startedAt = start.startDate ? start.startDate.getTime() : ctx.deps.now();
  const base = { group: input.group, executionArn, executionName, consoleUrl: executionConsoleUrl(executionArn), local: false };
  const started = { startedAt: new Date(startedAt).toISOString() };
  if (!o.wait) return { ...base, status: 'RUNNING', outcome: null, error: null, ...started, endedAt: null, history: null };

  if (!o.json) {
    ctx.out.line(`Started ${executionArn}`);
    if (base.consoleUrl) ctx.out.line(`  ${ctx.out.style.dim(base.consoleUrl)}`);
  }
  let followed;
  try {
    followed = await followExecution(ctx, sfn, executionArn, startedAt, { print: !o.json });
  } catch (err) {
    // Losing sight of the execution does not stop it: say where to look.
    const e = err as Error;
    throw new DeploymentError(
      `lost track of ${executionArn} (${e.name}: ${e.message}); the execution goes on: failoverctl status ${input.group}${base.consoleUrl ? ` or ${base.consoleUrl}` : ''}`,
      { cause: err },
    );
  }
  if (followed.interrupted) {
    ctx.out.note(`Stopped following. The execution goes on: failoverctl status ${input.group}${base.consoleUrl ? `, or ${base.consoleUrl}` : ''}`);
    return 'interrupted';
  }
  // InvalidInput ends an execution before anything is taken: it writes no history item.
  const recorded = followed.error?.name !== 'InvalidInput';
  const history = recorded ? await findHistoryItem(ctx, deployment.store, input.group, executionArn) : null;
  const outcome = (typeof followed.output?.outcome === 'string' ? followed.output.outcome : history?.outcome ?? null) as Outcome | null;
  return {
    ...base,
    status: followed.status,
    outcome,
    error: followed.error ?? history?.error ?? null,
    ...started,
    endedAt: followed.stoppedAt !== null ? new Date(followed.stoppedAt).toISOString() : null,
    history,
  };
}

async function startLocal(
  ctx: Context,
  o: { deployment: Deployment; loaded: ReturnType<typeof loadCliConfig>; workflow: ReturnType<typeof workflowFor>; input: ExecutionInput; executionName: string; json: boolean },
): Promise<RunResult> {
  const { out } = ctx;
  if (!o.json) out.line(`Running ${localExecutionArn(o.executionName)} locally (AWS calls that change something are shown as they return):`);
  ctx.signal?.addEventListener('abort', () => {
    out.note(out.style.yellow('a break-glass run is in progress: press Ctrl-C again to kill it (its lock stays held until it expires)'));
  }, { once: true });
  const run = await runLocally(ctx, {
    config: o.loaded.config,
    workflow: o.workflow.workflow,
    input: o.input,
    executionName: o.executionName,
    deployment: o.deployment,
    onCall: (call: LocalCall) => {
      if (o.json) return;
      const text = `${call.service}:${call.operation} ${call.detail}${call.error ? ` -> ${call.error}` : ''}`;
      out.line(`  ${`+${formatDuration(call.elapsedSeconds)}`.padStart(9)}  ${call.error ? out.style.red(text) : text}`);
    },
    onActivity: (text) => {
      if (!o.json) out.live(`  ${text}…`);
    },
  });
  out.clearLive();
  const history = await findHistoryItem(ctx, o.deployment.store, o.input.group, run.executionArn);
  const output = run.result.output as Record<string, any> | undefined;
  const outcome = (typeof output?.outcome === 'string' ? output.outcome : history?.outcome ?? null) as Outcome | null;
  const error = run.result.error ? { name: run.result.error, cause: run.result.cause ?? '' } : null;
  if (!o.json && history) {
    out.line('Steps (from the history item):');
    const start = Date.parse(history.startedAt);
    for (const step of history.steps) {
      out.line(stepLine((Date.parse(step.startedAt) - start) / 1000, step.step, step.durationSeconds, step.result));
    }
  }
  return {
    group: o.input.group,
    executionArn: run.executionArn,
    executionName: o.executionName,
    consoleUrl: null,
    local: true,
    status: run.result.status,
    outcome,
    error: error ?? history?.error ?? null,
    startedAt: new Date(run.startedAt).toISOString(),
    endedAt: new Date(run.endedAt).toISOString(),
    history,
    workflow: o.workflow.source,
  };
}

/** Which workflow a break-glass run executes, as a line of the plan. */
function printWorkflowSource(ctx: Context, w: WorkflowSource): void {
  const { out } = ctx;
  if (w.source === 'prepared') {
    out.note(`  workflow:   prepared by ${w.preparedBy} at ${formatIso(w.preparedAt, out.timeZone)}, for this config and this version of the controller`);
  } else {
    out.note(`  workflow:   synthesized now, in ${w.seconds} s: ${w.why}`);
    if (w.savedTo) out.note('              saved: the next break-glass run with this config starts without synthesizing');
  }
  if (ctx.debug && w.source === 'prepared') out.note(`  (${w.file})`);
}

/** The execution's history item. The record is written before the execution ends; a Query can lag a moment behind. */
async function findHistoryItem(ctx: Context, store: Store, group: string, executionArn: string): Promise<HistoryItem | null> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const items = await store.listHistory({ group, limit: 20 });
    const item = items.find((h) => h.executionArn === executionArn);
    if (item) return item;
    await ctx.deps.sleep(1000, ctx.signal);
  }
  return null;
}

function printResult(ctx: Context, r: RunResult): void {
  const { out } = ctx;
  const s = out.style;
  if (r.status === 'RUNNING') {
    out.line(`Started ${r.executionArn} at ${formatTime(Date.parse(r.startedAt), out.timeZone)}; not following it (--no-wait).`);
    if (r.consoleUrl) out.line(`  ${r.consoleUrl}`);
    out.line(`  follow it with: failoverctl status ${r.group}`);
    return;
  }
  const h = r.history;
  const outcome = r.outcome ?? r.status;
  const summary = h?.summary ?? (r.error ? `${r.error.name}: ${r.error.cause}` : '');
  out.line();
  out.line(`${s.bold(colourOutcome(outcome, s))}: ${summary}`);
  if (h) {
    // Data is only lost when a replica was promoted (or, in a dry run, would be).
    const promoted = h.dryRun ? h.outcome === 'DRY_RUN' : h.promotion?.confirmed === true;
    const loss = !promoted
      ? 'no data loss: nothing was promoted'
      : h.dataLossSeconds === 0
        ? 'no data loss (replica lag 0 s)'
        : `data loss ${h.dataLossSeconds === null ? 'unknown' : `up to ${formatDuration(h.dataLossSeconds)}`} (${h.dataLoss ? 'estimate, an upper bound' : 'replica lag'})`;
    const facts = [
      `RTO ${formatDuration(h.rtoSeconds)}`,
      loss,
      h.notification ? (h.notification.notified ? 'notification sent' : `notification NOT sent: ${h.notification.error}`) : 'no notification',
    ];
    out.line(`  ${facts.join('   ')}`);
    if (h.plannedActions.length > 0) {
      out.line('  a real run would:');
      for (const action of h.plannedActions) out.line(`    ${action}`);
    }
  }
  if (r.status !== 'SUCCEEDED' && r.error) {
    const said = r.error.cause === '' || summary.includes(r.error.cause);
    out.line(`  execution ${r.status}: ${r.error.name}${said ? '' : `: ${r.error.cause}`}`);
  }
  if (!h && r.error?.name !== 'InvalidInput') out.line(s.yellow('  no history item found for this execution (it ended before recording, or the store was not written)'));
  out.line(`  ${r.consoleUrl ?? r.executionArn}`);
}
