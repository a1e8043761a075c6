/**
 * Break-glass: run the failover workflow from the operator's machine when Step Functions (or its
 * region) cannot. The same definition the stack deploys (synthesized from the same config, as the drill
 * does), the same step code (LocalWorkflow + runStep), real SDK clients per region with the operator's
 * credentials, and the deployment's own DynamoDB table and SNS topic: the same lock, the same history,
 * the same notification.
 *
 * The run's execution ARN is `local:<name>`, so the lock holder, the history item and the notification
 * all say it did not run in Step Functions.
 */
import type { StopInstancesCommandInput } from '@aws-sdk/client-ec2';
import type { PromoteReadReplicaCommandInput } from '@aws-sdk/client-rds';
import type { ChangeResourceRecordSetsCommandInput } from '@aws-sdk/client-route-53';
import type { PublishCommandInput } from '@aws-sdk/client-sns';
import { once, perRegion, type StepDeps } from '../../lambdas/runtime/deps';
import { groupsByName } from '../../lambdas/core/deployed-group';
import { awsErrorName } from '../../lambdas/core/errors';
import type { ExecutionInput } from '../../lambdas/core/workflow-state';
import type { FailoverConfig } from '../../lambdas/core/config';
import type { ExecutionResult } from '../runner/local-workflow';
import type { PreparedBy, RunnableWorkflow } from '../runner/prepared-workflow';
import type { Deployment } from './deployment';
import type { Context } from './io';

/** The clock LocalWorkflow runs Wait states and retry pauses on (see run-workflow.ts). */
export interface LocalClock {
  now(): number;
  /** Called by the runner, synchronously, with what a Wait state or a retry pause would wait. */
  advance(ms: number): void;
  /** Resolves once every wait asked for so far is over. A simulated clock has nothing to wait for. */
  settle?(): Promise<void>;
}

/**
 * Real time for a run against AWS. The runner reports a Wait state synchronously and moves on, so the
 * wait is owed, not slept: `now()` already reads as after the wait, and the next AWS call sleeps until
 * then. Polls are spaced as Step Functions spaces them, and the event loop stays free meanwhile.
 */
export class RealClock implements LocalClock {
  private readyAt = 0;

  now(): number {
    return Math.max(Date.now(), this.readyAt);
  }

  advance(ms: number): void {
    this.readyAt = this.now() + ms;
  }

  async settle(): Promise<void> {
    const wait = this.readyAt - Date.now();
    if (wait > 0) await new Promise((done) => setTimeout(done, wait));
  }
}

/** Where a break-glass run's workflow came from. */
export type WorkflowSource =
  | { source: 'prepared'; preparedBy: PreparedBy; preparedAt: string; file: string }
  | { source: 'synthesized'; seconds: number; why: string; savedTo: string | null };

/**
 * The workflow a break-glass run executes: the one prepared for this config and this code (by `cdk
 * synth`, or by an earlier run), else synthesized now, which loads the CDK and takes seconds, and saved
 * for the next run. A prepared file that cannot be used is said why, and synthesized over.
 */
export function workflowFor(ctx: Context, config: FailoverConfig): { workflow: RunnableWorkflow; source: WorkflowSource } {
  const prepared = ctx.deps.workflows;
  let why = 'no place to keep prepared workflows';
  if (prepared) {
    try {
      const found = prepared.load(config);
      if (found) return { workflow: found, source: { source: 'prepared', preparedBy: found.preparedBy, preparedAt: found.preparedAt, file: found.file } };
      why = `none prepared for this config and this version of the controller in ${prepared.dir}`;
    } catch (err) {
      why = `the prepared workflow could not be used: ${(err as Error).message}`;
    }
  }
  const started = performance.now();
  const workflow = ctx.deps.synth(config);
  const seconds = Math.round((performance.now() - started) / 100) / 10;
  let savedTo: string | null = null;
  if (prepared) {
    try {
      savedTo = prepared.save(config, workflow, 'failoverctl', ctx.deps.now());
    } catch (err) {
      why += `; could not save it for the next run: ${(err as Error).message}`;
    }
  }
  return { workflow, source: { source: 'synthesized', seconds, why, savedTo } };
}

/** One AWS call that changes something, as the run makes it. */
export interface LocalCall {
  /** Since the run started (on the run's clock). */
  elapsedSeconds: number;
  service: string;
  operation: string;
  detail: string;
  error?: string;
}

export interface LocalRunOptions {
  config: FailoverConfig;
  /** The workflow to run (workflowFor). */
  workflow: RunnableWorkflow;
  input: ExecutionInput;
  executionName: string;
  deployment: Deployment;
  /** Each changing call (stop, database fence, Auto Scaling suspension, promote, DNS change, publish), as soon as it returns. */
  onCall?(call: LocalCall): void;
  /** Every AWS call as it starts: for a live status line. */
  onActivity?(text: string): void;
}

export interface LocalRunResult {
  executionArn: string;
  result: ExecutionResult;
  startedAt: number;
  endedAt: number;
}

export const localExecutionArn = (executionName: string) => `local:${executionName}`;

export async function runLocally(ctx: Context, options: LocalRunOptions): Promise<LocalRunResult> {
  const { deployment, executionName } = options;
  const executionArn = localExecutionArn(executionName);
  // The Plan state takes the execution's identity from the context object; a local run names itself.
  const definition = structuredClone(options.workflow.definition);
  definition.States.Plan.Parameters.execution = { id: executionArn, 'name.$': '$$.Execution.Name' };

  const clock = ctx.deps.localClock();
  const clients = ctx.deps.clients;
  const topicArn = deployment.topicArn!;
  let startedAt = clock.now();
  const elapsed = () => (clock.now() - startedAt) / 1000;
  const watch = <C extends object>(client: C, service: string, region: string): C => instrument(client, service, region, clock, elapsed, options);
  // The local config is what this run's definition was synthesized from: its steps act on its groups.
  const groups = groupsByName(options.config.groups);
  const deps: StepDeps = {
    groups: () => groups,
    now: () => clock.now(),
    ec2: perRegion((r) => watch(clients.ec2(r), 'ec2', r)),
    rds: perRegion((r) => watch(clients.rds(r), 'rds', r)),
    autoscaling: perRegion((r) => watch(clients.autoscaling(r), 'autoscaling', r)),
    cloudwatch: perRegion((r) => watch(clients.cloudwatch(r), 'cloudwatch', r)),
    route53: once(() => watch(clients.route53(), 'route53', 'global')),
    sns: once(() => watch(clients.sns(topicArn.split(':')[3]), 'sns', topicArn.split(':')[3])),
    store: () => deployment.store,
    topicArn: () => topicArn,
    log: (entry) => {
      if (ctx.debug) ctx.out.note(JSON.stringify(entry));
    },
  };
  const workflow = ctx.deps.localWorkflow({ ...options.workflow, definition }, deps, clock);
  startedAt = clock.now();
  const result = await workflow.run(options.input, executionName);
  return { executionArn, result, startedAt, endedAt: clock.now() };
}

/**
 * The client as the steps see it: its calls wait for the clock first (so owed waits are honoured), are
 * shown as they start, and the changing ones are reported when they return. A Proxy, so a client shared
 * with anything else is left as it was.
 */
function instrument<C extends object>(
  client: C,
  service: string,
  region: string,
  clock: LocalClock,
  elapsed: () => number,
  options: LocalRunOptions,
): C {
  const send = (client as unknown as { send: (command: unknown, ...rest: unknown[]) => Promise<unknown> }).send;
  const wrapped = async (command: unknown, ...rest: unknown[]) => {
    await clock.settle?.();
    const operation = (command as object).constructor.name.replace(/Command$/, '');
    options.onActivity?.(`${service}:${operation}${region === 'global' ? '' : ` ${region}`}`);
    const detail = changing(operation, (command as { input: unknown }).input);
    try {
      const out = await send.call(client, command, ...rest);
      if (detail !== undefined) options.onCall?.({ elapsedSeconds: elapsed(), service, operation, detail });
      return out;
    } catch (err) {
      if (detail !== undefined) options.onCall?.({ elapsedSeconds: elapsed(), service, operation, detail, error: awsErrorName(err) });
      throw err;
    }
  };
  return new Proxy(client, {
    get: (target, prop, receiver) => (prop === 'send' ? wrapped : Reflect.get(target, prop, receiver)),
  });
}

/** What a changing call does, in a few words; undefined for reads. */
function changing(operation: string, input: unknown): string | undefined {
  switch (operation) {
    case 'StopInstances': {
      const i = input as StopInstancesCommandInput;
      return `${i.InstanceIds?.join(',')}${i.Force ? ' (force)' : ''}${i.DryRun ? ' (DryRun)' : ''}`;
    }
    case 'PromoteReadReplica':
      return (input as PromoteReadReplicaCommandInput).DBInstanceIdentifier ?? '';
    // The fences: the old database's security groups and reboot, an Auto Scaling group's processes.
    case 'ModifyDBInstance': {
      const i = input as { DBInstanceIdentifier?: string; VpcSecurityGroupIds?: string[] };
      return `${i.DBInstanceIdentifier} security groups -> ${i.VpcSecurityGroupIds?.join(',')}`;
    }
    case 'RebootDBInstance':
      return (input as { DBInstanceIdentifier?: string }).DBInstanceIdentifier ?? '';
    case 'SuspendProcesses': {
      const i = input as { AutoScalingGroupName?: string; ScalingProcesses?: string[] };
      return `${i.AutoScalingGroupName}: ${i.ScalingProcesses?.join(',')}`;
    }
    case 'ChangeResourceRecordSets': {
      const changes = (input as ChangeResourceRecordSetsCommandInput).ChangeBatch?.Changes ?? [];
      return changes.map((c) => `${c.Action} ${c.ResourceRecordSet?.Type} ${c.ResourceRecordSet?.Name}`).join(', ');
    }
    case 'Publish':
      return (input as PublishCommandInput).Subject ?? '';
    default:
      return undefined;
  }
}
