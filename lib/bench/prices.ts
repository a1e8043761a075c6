/**
 * Published on-demand prices, US East (N. Virginia), as read on `PRICES_READ_ON` (docs/cost.md cites the
 * pages). No free tier is applied: the figures are what a deployment costs in an account whose free
 * tiers are already used by something else.
 */
export const PRICES_READ_ON = '2026-11-22';
export const PRICE_REGION = 'us-east-1';

export interface Price {
  usd: number;
  per: string;
  source: string;
}

export const PRICES = {
  lambdaArmGbSecond: { usd: 0.0000133334, per: 'GB-second of arm64 duration (first 7.5 billion GB-s a month)', source: 'https://aws.amazon.com/lambda/pricing/' },
  lambdaRequest: { usd: 0.2 / 1e6, per: 'request ($0.20 per million)', source: 'https://aws.amazon.com/lambda/pricing/' },
  dynamodbWriteRequestUnit: { usd: 0.625 / 1e6, per: 'on-demand write request unit ($0.625 per million)', source: 'https://aws.amazon.com/dynamodb/pricing/on-demand/' },
  dynamodbReadRequestUnit: { usd: 0.125 / 1e6, per: 'on-demand read request unit ($0.125 per million)', source: 'https://aws.amazon.com/dynamodb/pricing/on-demand/' },
  stepFunctionsTransition: { usd: 0.025 / 1000, per: 'Standard state transition ($0.025 per 1,000)', source: 'https://aws.amazon.com/step-functions/pricing/' },
  cloudwatchCustomMetric: { usd: 0.3, per: 'custom metric-month (first 10,000 metrics), EMF metrics included', source: 'https://aws.amazon.com/cloudwatch/pricing/' },
  cloudwatchDashboard: { usd: 3, per: 'dashboard per month ($3.00; the free tier\'s 3 dashboards not applied)', source: 'https://aws.amazon.com/cloudwatch/pricing/' },
  kmsKey: { usd: 1, per: 'customer managed KMS key per month ($1.00, prorated hourly; the topic\'s key)', source: 'https://aws.amazon.com/kms/pricing/' },
  kmsRequest: { usd: 0.03 / 10_000, per: 'KMS request ($0.03 per 10,000)', source: 'https://aws.amazon.com/kms/pricing/' },
  cloudwatchAlarm: { usd: 0.1, per: 'standard-resolution alarm metric-month', source: 'https://aws.amazon.com/cloudwatch/pricing/' },
  logsIngestion: { usd: 0.5, per: 'GB of standard-class log data ingested', source: 'https://aws.amazon.com/cloudwatch/pricing/' },
  logsStorage: { usd: 0.03, per: 'GB-month of log data stored', source: 'https://aws.amazon.com/cloudwatch/pricing/' },
  eventbridgeScheduledRule: { usd: 0, per: 'scheduled-rule or AWS-service event (not charged; custom events are $1.00 per million)', source: 'https://aws.amazon.com/eventbridge/pricing/' },
  sqsRequest: { usd: 0.4 / 1e6, per: 'standard queue request, each 64 KB of payload one request ($0.40 per million)', source: 'https://aws.amazon.com/sqs/pricing/' },
  route53HealthCheck: { usd: 0.5, per: 'health check of an AWS endpoint, per month', source: 'https://aws.amazon.com/route53/pricing/' },
  route53FastInterval: { usd: 1.0, per: 'health check option: 10 s interval, per month', source: 'https://aws.amazon.com/route53/pricing/' },
  arcClusterHour: { usd: 2.5, per: 'Application Recovery Controller cluster-hour', source: 'https://aws.amazon.com/application-recovery-controller/pricing/' },
} as const satisfies Record<string, Price>;

/** AWS's billing month. */
export const HOURS_PER_MONTH = 730;
/** Log volumes are billed per GB; counted here as 10^9 bytes (a GiB would make them 7 % cheaper). */
export const BYTES_PER_GB = 1e9;
