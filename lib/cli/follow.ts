/**
 * Follow a Step Functions execution live: poll DescribeExecution and GetExecutionHistory, print one
 * line per step as it completes (polls that say nothing new are folded), and return how it ended.
 *
 *     +0.4 s  lock       0.1 s  took the lock of orders until 2026-01-01T01:05:00.000Z
 *    +15.9 s  fence     15.4 s  i-0a1b2c3d4e5f60718 confirmed stopped
 */
import { DescribeExecutionCommand, GetExecutionHistoryCommand, type HistoryEvent, type SFNClient } from '@aws-sdk/client-sfn';
import { causeText } from '../../lambdas/core/history';
import { TASK_STATES, type TaskStateCode, type TaskStateName } from '../infra/workflow-states';
import { formatDuration } from './format';
import type { Context } from './io';

export interface FollowResult {
  status: string;
  /** The execution's output (the final workflow state), when it succeeded. */
  output: Record<string, any> | null;
  error: { name: string; cause: string } | null;
  stoppedAt: number | null;
  /** The operator stopped following (Ctrl-C); the execution goes on. */
  interrupted: boolean;
}

/** A step's line: elapsed since the execution started, the step, how long it has taken, what it says. */
export function stepLine(elapsedSeconds: number, step: string, durationSeconds: number | null, text: string): string {
  return `  ${`+${formatDuration(elapsedSeconds)}`.padStart(9)}  ${step.padEnd(8)} ${formatDuration(durationSeconds).padStart(8)}  ${text}`;
}

export async function followExecution(
  ctx: Context,
  sfn: SFNClient,
  executionArn: string,
  startedAt: number,
  options: { print: boolean },
): Promise<FollowResult> {
  const { out } = ctx;
  const renderer = new EventRenderer(startedAt);
  let lastSeenId = 0;
  for (;;) {
    const described = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    const events = await newEvents(sfn, executionArn, lastSeenId);
    for (const event of events) {
      lastSeenId = Math.max(lastSeenId, event.id ?? 0);
      if (!options.print) continue;
      const line = renderer.render(event, out.style);
      if (line) out.line(line);
    }
    const status = described.status ?? 'UNKNOWN';
    if (status !== 'RUNNING' && status !== 'PENDING_REDRIVE') {
      out.clearLive();
      return {
        status,
        output: parseJson(described.output),
        error: described.error ? { name: described.error, cause: causeText(described.cause) } : null,
        stoppedAt: described.stopDate ? described.stopDate.getTime() : null,
        interrupted: false,
      };
    }
    if (options.print) out.live(`  ${`+${formatDuration((ctx.deps.now() - startedAt) / 1000)}`.padStart(9)}  ${renderer.current ?? 'starting'}…`);
    await ctx.deps.sleep(ctx.deps.followIntervalMs, ctx.signal);
    if (ctx.signal?.aborted) {
      out.clearLive();
      return { status, output: null, error: null, stoppedAt: null, interrupted: true };
    }
  }
}

/** Events after `lastSeenId`, oldest first: read newest first and stop at the first one already seen. */
async function newEvents(sfn: SFNClient, executionArn: string, lastSeenId: number): Promise<HistoryEvent[]> {
  const fresh: HistoryEvent[] = [];
  let nextToken: string | undefined;
  do {
    const page = await sfn.send(new GetExecutionHistoryCommand({ executionArn, reverseOrder: true, maxResults: 100, nextToken, includeExecutionData: true }));
    for (const event of page.events ?? []) {
      if ((event.id ?? 0) <= lastSeenId) return fresh.reverse();
      fresh.push(event);
    }
    nextToken = page.nextToken;
  } while (nextToken);
  return fresh.reverse();
}

function parseJson(text: string | undefined): Record<string, any> | null {
  if (!text) return null;
  try {
    return JSON.parse(text) as Record<string, any>;
  } catch {
    return null;
  }
}

/** Turns history events into step lines; remembers what it printed so repeated polls fold into one line. */
class EventRenderer {
  /** The state the execution is in now, for the live line. */
  current: string | undefined;
  private readonly lastText = new Map<string, string>();
  private readonly failed = new Set<string>();

  constructor(private readonly startedAt: number) {}

  render(event: HistoryEvent, style: Context['out']['style']): string | undefined {
    const at = event.timestamp ? event.timestamp.getTime() : this.startedAt;
    const elapsed = (at - this.startedAt) / 1000;
    const entered = event.stateEnteredEventDetails?.name;
    if (entered) this.current = entered;
    switch (event.type) {
      case 'TaskStateEntered':
        this.failed.delete(entered!);
        return undefined;
      // A retry that succeeded: the state's result line is due after all.
      case 'LambdaFunctionSucceeded':
      case 'TaskSucceeded':
        if (this.current) this.failed.delete(this.current);
        return undefined;
      case 'LambdaFunctionFailed':
      case 'LambdaFunctionTimedOut':
      case 'TaskFailed':
      case 'TaskTimedOut': {
        const d = event.lambdaFunctionFailedEventDetails ?? event.lambdaFunctionTimedOutEventDetails ?? event.taskFailedEventDetails ?? event.taskTimedOutEventDetails;
        const state = this.current ?? 'task';
        this.failed.add(state);
        const step = TASK_STATES[state as TaskStateName]?.label ?? state;
        return style.red(stepLine(elapsed, step, null, `${state} failed: ${d?.error ?? 'error'}${d?.cause ? `: ${causeText(d.cause)}` : ''}`));
      }
      case 'TaskStateExited': {
        const name = event.stateExitedEventDetails?.name ?? '';
        const meta = TASK_STATES[name as TaskStateName] as TaskStateCode | undefined;
        // A failed task that was caught: its failure line said it already.
        if (!meta || this.failed.has(name)) return undefined;
        const state = parseJson(event.stateExitedEventDetails?.output);
        const result = state?.[meta.field];
        // The data-loss measurement refines the promotion's result: its line is the bound, not the promotion again.
        if (meta.label === 'loss') return stepLine(elapsed, meta.label, null, describeLossBound(result));
        const text = describeResult(meta.field, result, state);
        if (this.lastText.get(meta.label) === text) return undefined;
        this.lastText.set(meta.label, text);
        const started = typeof result?.startedAt === 'number' ? result.startedAt : undefined;
        const ended = typeof result?.endedAt === 'number' ? result.endedAt : at;
        return stepLine(elapsed, meta.label, started !== undefined ? (ended - started) / 1000 : null, text);
      }
      case 'PassStateExited': {
        const name = event.stateExitedEventDetails?.name ?? '';
        if (!name.startsWith('Outcome')) return undefined;
        const outcome = parseJson(event.stateExitedEventDetails?.output)?.outcome;
        return typeof outcome === 'string' ? stepLine(elapsed, 'outcome', null, style.bold(outcome)) : undefined;
      }
      default:
        return undefined;
    }
  }
}

/** The replicated-through bound the data-loss estimate rests on, as MeasureDataLoss left it. */
function describeLossBound(promote: any): string {
  if (typeof promote?.replicatedThrough !== 'number') return 'no datapoint bounds what the replica had: the data loss is unknown';
  const basis = typeof promote.replicationBasis === 'string' ? ` (${promote.replicationBasis})` : '';
  return `the replica had every write up to ${new Date(promote.replicatedThrough).toISOString()}${basis}`;
}

/** One sentence for a step's result, as the step itself worded it. */
function describeResult(field: string, result: any, state: Record<string, any> | null): string {
  if (result && typeof result.reason === 'string') return result.reason;
  switch (field) {
    case 'plan': {
      const plan = state?.plan ?? result;
      if (!plan?.group) return 'planned';
      const by = typeof plan.trigger?.by === 'string' ? ` by ${plan.trigger.by}` : '';
      return `${plan.dryRun ? 'dry run: ' : ''}${plan.mode} of ${plan.group.name}, ${plan.trigger?.type ?? 'unknown'} trigger${by}`;
    }
    case 'notification':
      return result?.notified ? 'notification sent' : `notification not sent: ${result?.error ?? 'unknown error'}`;
    case 'record':
      return result ? `history item stored (${result.outcome})${result.lockReleased ? ', lock released' : ''}` : 'history item stored';
    case 'recordLostNotification':
      return 'the history item could not be stored; the complete record went out in a notification';
    default:
      return 'done';
  }
}
