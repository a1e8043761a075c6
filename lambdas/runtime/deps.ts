/**
 * What a step needs from the outside world: the deployed groups, AWS clients per region, the store, the
 * topic and a clock. Each Lambda handler wires only the clients its step uses (so its bundle carries
 * only those) and the groups baked into its bundle (bakedGroups); the drill, break-glass runs and tests
 * pass their own.
 */
import type { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { EC2Client } from '@aws-sdk/client-ec2';
import type { RDSClient } from '@aws-sdk/client-rds';
import type { Route53Client } from '@aws-sdk/client-route-53';
import type { SNSClient } from '@aws-sdk/client-sns';
import type { MetricsSink } from './metrics';
import type { Store } from '../core/store';
import type { DeployedGroups } from '../core/deployed-group';
import type { DnsDataPlane } from '../core/dns-switch';

export interface StepDeps {
  /**
   * The deployed groups' validated configs, by name: everything a step acts on comes from here (see
   * lambdas/core/deployed-group.ts), never from its event.
   */
  groups(): DeployedGroups;
  now(): number;
  ec2(region: string): EC2Client;
  rds(region: string): RDSClient;
  /** The fence steps' (an instance in an Auto Scaling group must not be replaced or restarted). */
  autoscaling?(region: string): AutoScalingClient;
  cloudwatch(region: string): CloudWatchClient;
  route53(): Route53Client;
  sns(): SNSClient;
  store(): Store;
  topicArn(): string;
  /** One structured log line (CloudWatch Logs in Lambda; collected by the drill). */
  log(entry: Record<string, unknown>): void;
  /** The DNS data plane: the zones' authoritative name servers (flip-dns, dns.mode "health-check"). */
  dnsDataPlane?(): DnsDataPlane;
  /** The region the controller runs in: where the health-check mode's metric and alarm are. */
  controllerRegion?: string;
  /** CloudWatch metrics (EMF). Without one, the EMF documents go through `log`. */
  metrics?: MetricsSink;
}

/** One client per region, made on first use and kept for the container's life. */
export function perRegion<C>(make: (region: string) => C): (region: string) => C {
  const made = new Map<string, C>();
  return (region) => {
    let client = made.get(region);
    if (!client) made.set(region, (client = make(region)));
    return client;
  };
}

/** A value made on first use and kept for the container's life. */
export function once<T>(make: () => T): () => T {
  let value: T | undefined;
  return () => (value ??= make());
}
