/**
 * SDK clients for the fence steps, which talk to the failed region. A dead endpoint must fail fast with
 * a named error (the SDK's TimeoutError) instead of hanging the function until Lambda kills it: each
 * attempt gets a bounded connection and request time, and the SDK retries twice. Worst case per call
 * about 3 × (3 s + 5 s) plus backoff, inside the step function's 30 s.
 */
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { EC2Client } from '@aws-sdk/client-ec2';
import { RDSClient } from '@aws-sdk/client-rds';
import { perRegion } from './deps';

export const FENCE_CLIENT_CONFIG = {
  maxAttempts: 3,
  // Without throwOnRequestTimeout, @smithy/node-http-handler (4.x) only logs a warning when requestTimeout
  // passes and the call goes on waiting: a dead endpoint that accepted the connection would hang the step.
  requestHandler: { connectionTimeout: 3_000, requestTimeout: 5_000, throwOnRequestTimeout: true },
} as const;

export const fenceEc2 = () => perRegion((region) => new EC2Client({ region, ...FENCE_CLIENT_CONFIG }));
export const fenceRds = () => perRegion((region) => new RDSClient({ region, ...FENCE_CLIENT_CONFIG }));
export const fenceAutoScaling = () => perRegion((region) => new AutoScalingClient({ region, ...FENCE_CLIENT_CONFIG }));
