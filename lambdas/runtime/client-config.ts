/**
 * The timeouts every AWS client in the functions gets: a bounded connection and request time per
 * attempt, and the SDK's three attempts, so an endpoint that accepted the connection and never answers
 * fails the call with the SDK's TimeoutError (which the state machine retries) well inside a step's
 * 30 s, instead of hanging the function until Lambda kills it. Worst case per call about
 * 3 x (3 s + 5 s) plus backoff.
 *
 * Without throwOnRequestTimeout, @smithy/node-http-handler (4.x) only logs a warning when requestTimeout
 * passes and the call goes on waiting.
 */
export const CLIENT_CONFIG = {
  maxAttempts: 3,
  requestHandler: { connectionTimeout: 3_000, requestTimeout: 5_000, throwOnRequestTimeout: true },
} as const;
