/**
 * SDK clients for the fence steps, which talk to the failed region. A dead endpoint must fail fast with
 * a named error (the SDK's TimeoutError) instead of hanging the function until Lambda kills it: each
 * attempt gets a bounded connection and request time, and the SDK retries twice. Worst case per call
 * about 3 × (3 s + 5 s) plus backoff, inside the step function's 30 s.
 */
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { EC2Client } from '@aws-sdk/client-ec2';
import { RDSClient } from '@aws-sdk/client-rds';
import { CLIENT_CONFIG } from './client-config';
import { perRegion } from './deps';

/** The fence clients' timeouts: every function's (client-config.ts). */
export const FENCE_CLIENT_CONFIG = CLIENT_CONFIG;

export const fenceEc2 = () => perRegion((region) => new EC2Client({ region, ...FENCE_CLIENT_CONFIG }));
export const fenceRds = () => perRegion((region) => new RDSClient({ region, ...FENCE_CLIENT_CONFIG }));
export const fenceAutoScaling = () => perRegion((region) => new AutoScalingClient({ region, ...FENCE_CLIENT_CONFIG }));
