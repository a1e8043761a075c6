/**
 * The Lambda handlers' logging and metrics, through Powertools: one JSON line per log entry on stdout,
 * each carrying the group and, in the workflow, the execution ARN; metrics as EMF lines. Only the thin
 * handlers use this module: the step cores take `log` (and `metrics`) from their deps, so the drill and
 * the tests pass their own.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { RETRYABLE_ERRORS } from '../core/errors';
import { emfMetrics, type MetricsSink } from './metrics';

export const SERVICE_NAME = 'failover-controller';

export const logger = new Logger({ serviceName: SERVICE_NAME });

let metrics: MetricsSink | undefined;
/**
 * EMF on stdout; Powertools' warnings (a dropped dimension, a timestamp out of range) go to the log.
 * Made on first use, so the steps that emit no metrics do not bundle Powertools Metrics.
 */
export function lambdaMetrics(): MetricsSink {
  return (metrics ??= emfMetrics({ warnings: { warn: (...content) => logger.warn(content.map(String).join(' ')) } }));
}

export type LogEntry = Record<string, unknown>;
export type Log = (entry: LogEntry) => void;
/** The Lambda invocation context, as Powertools reads it. */
export type LambdaContext = Parameters<Logger['addContext']>[0];

/** Which group and which execution an event is about, from whichever shape the step's event has. */
export function executionContext(event: unknown): { group?: string; executionArn?: string } {
  const e = (event ?? {}) as {
    plan?: PlanLike;
    state?: { plan?: PlanLike };
    // The Plan step's event: the raw execution input and the execution's id.
    input?: { group?: unknown };
    execution?: { id?: unknown };
  };
  const plan = e.plan ?? e.state?.plan;
  const group = plan ? plan.group?.name : e.input?.group;
  const executionArn = plan ? plan.executionArn : e.execution?.id;
  return {
    ...(typeof group === 'string' ? { group } : {}),
    ...(typeof executionArn === 'string' ? { executionArn } : {}),
  };
}
type PlanLike = { group?: { name?: unknown }; executionArn?: unknown };

const LEVELS = { DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'error', CRITICAL: 'critical' } as const;

/**
 * A `log` for the step cores: each entry becomes one Powertools log line at the entry's `level`
 * (default INFO) with the entry's `message`, the event's group and execution ARN, and the entry's
 * other fields. An entry's own `group` wins (the probe function's lines are each about one group).
 */
export function logFor(event: unknown, to: Logger = logger): Log {
  const context = executionContext(event);
  return ({ level, message, ...fields }) => {
    const method = LEVELS[String(level ?? 'INFO').toUpperCase() as keyof typeof LEVELS] ?? 'info';
    to[method]({ message: String(message ?? ''), ...context, ...fields });
  };
}

const RETRIED = new Set<string>(RETRYABLE_ERRORS);

/** A result's scalar fields (its reason sentence, decision, flags), not the nested config and records. */
function summary(result: unknown): LogEntry | undefined {
  if (result === null || typeof result !== 'object') return undefined;
  return Object.fromEntries(Object.entries(result).filter(([, v]) => v === null || typeof v !== 'object'));
}

/**
 * A workflow step's Lambda handler: runs the step with a `log` for its event, and logs one line when
 * the step returns (its result's scalar fields) or throws (the error's name and message: WARN for an
 * error the state machine retries, ERROR otherwise).
 *
 * @example export const handler = stepHandler('notify', (event: NotifyEvent, log) => run(event, { ...deps, log }));
 */
export function stepHandler<E, R>(step: string, run: (event: E, log: Log) => Promise<R>, to: Logger = logger) {
  return async (event: E, context?: LambdaContext): Promise<R> => {
    if (context) to.addContext(context);
    const log = logFor(event, to);
    // fence-primary, promote-replica and flip-dns each serve several states: start, check, ...
    const action = (event as { action?: unknown } | null)?.action;
    const which = { step, ...(typeof action === 'string' ? { action } : {}) };
    try {
      const result = await run(event, log);
      log({ level: 'INFO', message: 'step done', ...which, result: summary(result) });
      return result;
    } catch (err) {
      const name = err instanceof Error ? err.name : 'Error';
      log({ level: RETRIED.has(name) ? 'WARN' : 'ERROR', message: 'step failed', ...which, error: { name, message: err instanceof Error ? err.message : String(err) } });
      throw err;
    }
  };
}
