/**
 * Every error a step can raise has a class with a stable `name`: the state machine's Retry and Catch
 * match on these names, never on message text.
 */

/** Base class: sets `name` from the subclass so Step Functions sees it as the error name. */
export class StepError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The execution input or the group's config is malformed; nothing was changed. */
export class InvalidInput extends StepError {}

/**
 * Two parts of the deployment disagree about a group's config: the state machine's definition and the
 * Plan function (a deployment in progress or half done), or the config the execution was planned with
 * and the one a later step's function has (a deployment during the execution). Nothing is acted on.
 */
export class ConfigMismatch extends StepError {}

/** Throttling, a 5xx or a network fault from an AWS API: the state machine retries these with backoff. */
export class TransientAwsError extends StepError {}

/** The primary could not be stopped: the API refused, or the stop was not confirmed in time. */
export class FenceNotConfirmed extends StepError {}

/**
 * The EC2 or RDS API of a writer's region could not be reached (connection or request timeout, network
 * error, no HTTP answer) after the SDK's retries. A fence that cannot be confirmed is not a fence: the
 * workflow ends FENCE_FAILED unless an operator attested that the writers are fenced by other means.
 */
export class RegionUnreachable extends StepError {}

/** The replica could not be promoted, or the promotion did not finish in time. */
export class PromotionFailed extends StepError {}

/** Route 53 rejected the change batch, or it was not INSYNC in time. */
export class DnsChangeFailed extends StepError {}

/** A permission the step needs is missing (EC2 dry run answered UnauthorizedOperation, or AccessDenied). */
export class PermissionDenied extends StepError {}

/** The history store could not be written. */
export class StoreUnavailable extends StepError {}

/** Names of the errors the state machine retries with backoff and jitter. */
export const RETRYABLE_ERRORS = [
  TransientAwsError.name,
  // What Lambda itself raises when the service, not the function, had a problem.
  'Lambda.ClientExecutionTimeoutException',
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
  // The function died (timeout, out of memory, crash). Every step is idempotent, so running it again is safe.
  'Lambda.Unknown',
  'Sandbox.Timedout',
] as const;

// Error names AWS APIs use for throttling and for faults on their side; a retry can succeed.
const TRANSIENT_NAMES = new Set([
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'Throttled',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'TooManyRequestsException',
  'ProvisionedThroughputExceededException',
  'LimitExceededException',
  'PriorRequestNotComplete',
  'InternalError',
  'InternalFailure',
  'InternalServerError',
  'InternalServerErrorException',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'Unavailable',
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
]);

interface AwsErrorShape {
  name?: string;
  code?: string;
  message?: string;
  $fault?: 'client' | 'server';
  $retryable?: unknown;
  $metadata?: { httpStatusCode?: number };
}

/** The AWS error name (the error code), for records and messages. */
export function awsErrorName(err: unknown): string {
  const e = err as AwsErrorShape;
  return e?.name ?? e?.code ?? 'Error';
}

export function isTransient(err: unknown): boolean {
  const e = err as AwsErrorShape;
  if (!e || typeof e !== 'object') return false;
  if (TRANSIENT_NAMES.has(awsErrorName(e)) || (e.code !== undefined && TRANSIENT_NAMES.has(e.code))) return true;
  if (e.$retryable) return true;
  const status = e.$metadata?.httpStatusCode;
  return e.$fault === 'server' || (status !== undefined && status >= 500);
}

// Names of failures to reach an endpoint at all: Node's socket errors and the SDK's TimeoutError.
const UNREACHABLE_NAMES = new Set(['TimeoutError', 'RequestTimeout', 'ETIMEDOUT', 'ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'NetworkingError']);

/** The endpoint did not answer at all (no HTTP status): a dead region, not a refusal. */
export function isUnreachable(err: unknown): boolean {
  const e = err as AwsErrorShape;
  if (!e || typeof e !== 'object' || e.$metadata?.httpStatusCode !== undefined) return false;
  return UNREACHABLE_NAMES.has(awsErrorName(e)) || (e.code !== undefined && UNREACHABLE_NAMES.has(e.code));
}

export function isAccessDenied(err: unknown): boolean {
  const name = awsErrorName(err);
  return name === 'UnauthorizedOperation' || name === 'AccessDenied' || name === 'AccessDeniedException';
}

/**
 * Turn an AWS SDK error into the step's error: transient ones become TransientAwsError (retried by the
 * state machine), the rest the given domain error. `what` says which call failed.
 */
export function stepErrorFrom(
  err: unknown,
  what: string,
  Domain: new (message: string, options?: { cause?: unknown }) => StepError,
): StepError {
  if (err instanceof StepError) return err;
  const message = `${what} failed: ${awsErrorName(err)}: ${(err as Error)?.message ?? String(err)}`;
  if (isTransient(err)) return new TransientAwsError(message, { cause: err });
  if (isAccessDenied(err)) return new PermissionDenied(message, { cause: err });
  return new Domain(message, { cause: err });
}
