/**
 * The one configuration schema, shared by the CDK app, the workflow's steps and the CLI.
 *
 * A config file describes the deployment and its failover groups. `parseConfig` checks everything at
 * once and throws a `ConfigError` listing every problem with its path and the offending value:
 *
 *   groups[0].dns.records[1].ttl: must be between 5 and 300 seconds, got 900
 *
 * Example (see failover.config.json for an annotated one):
 *
 *   const config = loadConfigFile('failover.config.json');
 *   config.groups[0].replica.maxLagSeconds // 30 unless set
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
// The namespace, not its `z` export: esbuild shakes unused parts of a namespace import (zod's 40 locales
// among them), not of `z`, which carried 470 KB into every function's bundle against 97 KB (2026-12-05).
import * as z from 'zod';
import { CONFIRM_PROBE_TIMEOUT_MAX_MS, CONFIRM_STEP_MARGIN_SECONDS, STEP_TIMEOUT_SECONDS } from './budgets';

// Identifier formats, from the EC2, RDS and Route 53 API references.
const REGION = /^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}$/;
const INSTANCE_ID = /^i-([0-9a-f]{8}|[0-9a-f]{17})$/;
// RDS: 1 to 63 letters, digits or hyphens; starts with a letter; no two consecutive hyphens; no trailing hyphen.
const DB_IDENTIFIER = /^[a-zA-Z](?!.*--)(?!.*-$)[a-zA-Z0-9-]{0,62}$/;
const HOSTED_ZONE_ID = /^Z[A-Z0-9]{1,31}$/;
const DNS_NAME = /^(\*\.)?([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.?$/i;
// Group names end up in execution names, lock keys and metric dimensions.
const GROUP_NAME = /^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$/;
const SECURITY_GROUP_ID = /^sg-([0-9a-f]{8}|[0-9a-f]{17})$/;
const VPC_ID = /^vpc-([0-9a-f]{8}|[0-9a-f]{17})$/;
const SUBNET_ID = /^subnet-([0-9a-f]{8}|[0-9a-f]{17})$/;
// An RDS DB instance ARN: arn:<partition>:rds:<region>:<account>:db:<identifier>.
const DB_ARN = /^arn:aws[a-z-]*:rds:([a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}):\d{12}:db:([a-zA-Z](?!.*--)(?!.*-$)[a-zA-Z0-9-]{0,62})$/;

const SOURCE_REQUIRED =
  'is required: the replica\'s source database (identifier, or ARN in another region), which the controller fences before promoting so that it never leaves two writable databases';
const RESERVED = 'must be a whole number from 2 to 10, or "none"';
const SOURCE_VPC_REQUIRED = 'is required: the VPC of the source database, where the stack makes the deny-all security group that fences it';

/** Free text that ends up in logs, history and notifications: printable, bounded. */
const text = (max: number) =>
  z
    .string()
    .max(max, { error: `must be at most ${max} characters` })
    // eslint-disable-next-line no-control-regex
    .refine((s) => !/[\u0000-\u001f\u007f]/.test(s), { error: 'must not contain control characters' });

const intBetween = (min: number, max: number, unit: string) =>
  z
    .number({ error: (iss) => (iss.input === undefined ? 'is required' : 'must be a number') })
    .int({ error: `must be a whole number of ${unit}` })
    .min(min, { error: `must be between ${min} and ${max} ${unit}` })
    .max(max, { error: `must be between ${min} and ${max} ${unit}` });

const matching = (re: RegExp, what: string) => z.string().regex(re, { error: `must be ${what}` });

const region = matching(REGION, 'an AWS region such as us-east-1');

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g;
/** A CA bundle baked into every function that probes: a few certificates, not a system store. */
const CA_MAX_CHARS = 16_384;

/** One or more PEM certificates, each one OpenSSL can read, and nothing else. */
const pemCertificates = z
  .string({ error: 'must be a string of PEM certificates' })
  .max(CA_MAX_CHARS, { error: `must be at most ${CA_MAX_CHARS} characters (a few certificates)` })
  .superRefine((pem, ctx) => {
    const blocks = pem.match(PEM_CERTIFICATE) ?? [];
    if (blocks.length === 0 || pem.replace(PEM_CERTIFICATE, '').trim() !== '') {
      ctx.addIssue({ code: 'custom', message: 'must hold PEM certificates (-----BEGIN CERTIFICATE----- ... -----END CERTIFICATE-----) and nothing else' });
      return;
    }
    blocks.forEach((block, i) => {
      try {
        new X509Certificate(block);
      } catch {
        ctx.addIssue({ code: 'custom', message: `certificate ${i + 1} of ${blocks.length} is not a certificate OpenSSL can read` });
      }
    });
  });

/** As the probe reads its URL (check-endpoint.ts): the scheme in any case, HTTPS:// as https://. */
const isHttps = (url: string) => {
  try {
    return new URL(url).protocol === 'https:';
  } catch {
    return false;
  }
};

const HttpProbe = z.strictObject({
  type: z.literal('http'),
  name: text(64).optional(),
  url: z
    .url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' })
    // The URL goes into the bundle, the metrics' dimensions, logs and notifications: no secret in it.
    .refine((u) => { try { const p = new URL(u); return p.username === '' && p.password === ''; } catch { return true; } }, { error: 'must not carry credentials (user:password@): the URL ends up in logs, metrics and notifications' }),
  method: z.enum(['GET', 'HEAD', 'POST']).default('GET'),
  expectStatus: z.array(intBetween(100, 599, '(HTTP status)')).min(1).default([200]),
  bodyContains: text(1024).optional(),
  timeoutMs: intBetween(100, 30_000, 'milliseconds').default(2000),
  /**
   * For an https:// URL: the certificates the probe trusts, in PEM, instead of the public roots. A private
   * CA's (an endpoint behind `probeVpc` whose certificate AWS Private CA issued, say), or a self-signed
   * server's own. The certificate must still name the host probed.
   */
  ca: pemCertificates.optional(),
}).superRefine((probe, ctx) => {
  if (probe.ca !== undefined && !isHttps(probe.url)) {
    ctx.addIssue({ code: 'custom', path: ['ca'], message: 'is only for https:// URLs: a plain http:// probe checks no certificate' });
  }
});

const TcpProbe = z.strictObject({
  type: z.literal('tcp'),
  name: text(64).optional(),
  // One flat union with one message: nested .or() surfaced only the last branch's error ("Invalid IPv6 address").
  host: z.union([z.string().regex(DNS_NAME), z.ipv4(), z.ipv6()], { error: 'must be a host name or IP address' }),
  port: intBetween(1, 65535, '(port)'),
  timeoutMs: intBetween(100, 30_000, 'milliseconds').default(2000),
});

const Probe = z.discriminatedUnion('type', [HttpProbe, TcpProbe], {
  error: 'must have type "http" or "tcp"',
});

const DnsRecord = z
  .strictObject({
    name: matching(DNS_NAME, 'a DNS name such as db.example.com'),
    type: z.enum(['A', 'AAAA', 'CNAME'], { error: 'must be one of A, AAAA, CNAME' }),
    ttl: intBetween(5, 300, 'seconds').default(30),
    /** `replicaEndpoint`: the promoted replica's endpoint address (CNAME only). */
    target: z.literal('replicaEndpoint', { error: 'must be "replicaEndpoint"' }).optional(),
    /** Fixed values to point at after the failover (for A/AAAA records, or a fixed CNAME target). */
    values: z.array(z.string().min(1).max(255)).min(1, { error: 'must list at least one value' }).max(20).optional(),
    /**
     * With several candidate replicas: the values to point at when that replica is the one promoted (an A
     * record of the app server in its region), by dbInstanceIdentifier; `values` for the others.
     */
    valuesByReplica: z.record(z.string(), z.array(z.string().min(1).max(255)).min(1, { error: 'must list at least one value' }).max(20)).optional(),
    /**
     * `dns.mode: "health-check"` only: what the PRIMARY failover record answers while the primary serves
     * (the old database's endpoint for the database's name). `values` is then the SECONDARY's answer.
     */
    primaryValues: z.array(z.string().min(1).max(255)).min(1, { error: 'must list at least one value' }).max(20).optional(),
  })
  .transform((r) => ({ ...r, name: normalizeDnsName(r.name) }));

const Group = z.strictObject({
  name: matching(GROUP_NAME, 'lowercase letters, digits and hyphens, at most 40 characters'),
  description: text(256).optional(),
  primary: z.strictObject({
    instanceId: matching(INSTANCE_ID, 'an EC2 instance id such as i-0123456789abcdef0'),
    region,
    /** The primary's VPC: where the isolation security group is made (needed by fence.onUnconfirmed "isolate"). */
    vpcId: matching(VPC_ID, 'a VPC id such as vpc-0123456789abcdef0').optional(),
    /**
     * Further EC2 instances that write to the same database (a second app server, a cron host): each is
     * fenced, and each fence confirmed, like the primary. In the primary's region.
     */
    additionalInstanceIds: z.array(matching(INSTANCE_ID, 'an EC2 instance id such as i-0123456789abcdef0')).max(20).default([]),
  }),
  replica: z.strictObject({
    dbInstanceIdentifier: matching(
      DB_IDENTIFIER,
      'an RDS DB instance identifier: a letter, then letters, digits or single hyphens, at most 63 characters',
    ),
    region,
    /**
     * The replica's source, the old database (identifier, or ARN when it is in another region than the
     * replica, as RDS reports it). Required: the controller fences it (deny-all security group, then a
     * reboot) before promoting, and never promotes a replica replicating from anything else.
     */
    source: z
      .string({ error: (iss) => (iss.input === undefined ? SOURCE_REQUIRED : 'must be a string') })
      .refine((s) => DB_IDENTIFIER.test(s) || DB_ARN.test(s), { error: 'must be an RDS DB instance identifier or ARN (arn:aws:rds:<region>:<account>:db:<id>)' }),
    /**
     * The VPC of the source database: the stack makes the deny-all security group that fences it there.
     */
    sourceVpcId: z.string({ error: (iss) => (iss.input === undefined ? SOURCE_VPC_REQUIRED : 'must be a string') }).regex(VPC_ID, {
      error: 'must be a VPC id such as vpc-0123456789abcdef0',
    }),
    /** The largest replica lag (the data-loss estimate) accepted for an automatic failover. */
    maxLagSeconds: intBetween(0, 86_400, 'seconds').default(30),
  }),
  dns: z.strictObject({
    /**
     * How the records are switched:
     * - `records` (the default): the flip UPSERTs simple records through the Route 53 API
     *   (ChangeResourceRecordSets, then GetChange until INSYNC): the API, hosted in us-east-1, is in the
     *   recovery path.
     * - `health-check`: the stack provisions, per record, a PRIMARY/SECONDARY pair of failover records,
     *   the PRIMARY tied to a Route 53 health check that follows a CloudWatch alarm on a metric the
     *   controller writes in its own region. The flip writes that metric (CloudWatch data plane) and
     *   verifies what the zone's authoritative name servers answer (DNS data plane): no Route 53 API
     *   call. See lib/infra/health-check-dns.ts and the README, "When a region is down".
     */
    mode: z.enum(['records', 'health-check'], { error: 'must be "records" or "health-check"' }).default('records'),
    hostedZoneId: matching(HOSTED_ZONE_ID, 'a Route 53 hosted zone id such as Z0123456789ABCDEFGHIJ'),
    /** The zone's domain name, so records outside it are caught before deploy. */
    zoneName: matching(DNS_NAME, 'a domain name such as example.com').transform(normalizeDnsName),
    records: z.array(DnsRecord).min(1, { error: 'must list at least one record' }).max(50),
    syncTimeoutSeconds: intBetween(30, 1800, 'seconds').default(300),
  }),
  fence: z
    .strictObject({
      /** How long to wait for the primary to be confirmed stopped before giving up (FENCE_FAILED). */
      timeoutSeconds: intBetween(10, 900, 'seconds').default(120),
      /**
       * When the stop is not confirmed in time: `abort` (FENCE_FAILED, never promote), or `isolate`:
       * put every network interface of the primary in a deny-all security group, and promote only once
       * that is confirmed.
       */
      onUnconfirmed: z.enum(['abort', 'isolate'], { error: 'must be "abort" or "isolate"' }).default('abort'),
      /** How long to wait for the isolation to be confirmed. */
      isolationTimeoutSeconds: intBetween(10, 600, 'seconds').default(60),
      /**
       * How long the database fence may take: the security-group change (applied "as soon as possible",
       * no figure documented) and the reboot (duration not documented) until the source is confirmed.
       */
      databaseTimeoutSeconds: intBetween(60, 3600, 'seconds').default(900),
    })
    .prefault({}),
  promotion: z
    .strictObject({
      timeoutSeconds: intBetween(60, 7200, 'seconds').default(1800),
    })
    .prefault({}),
  /**
   * Further read replicas of the same source that may be promoted instead of `replica` (same or other
   * regions), with its `source` and `maxLagSeconds`. The controller promotes the one that loses the least
   * data among those that pass the gate (ties: `replica` first, then this order); see candidates.ts.
   */
  additionalReplicas: z
    .array(
      z.strictObject({
        dbInstanceIdentifier: matching(DB_IDENTIFIER, 'an RDS DB instance identifier: a letter, then letters, digits or single hyphens, at most 63 characters'),
        region,
      }),
    )
    .max(4)
    .default([]),
  switchover: z
    .strictObject({
      /** A switchover waits (bounded) for the replica to catch up completely before stopping the primary. */
      lagTimeoutSeconds: intBetween(0, 3600, 'seconds').default(600),
      /** A graceful stop takes longer than a forced one. */
      stopTimeoutSeconds: intBetween(10, 1800, 'seconds').default(600),
    })
    .prefault({}),
  probes: z.array(Probe).max(20).default([]),
  detection: z
    .strictObject({
      intervalSeconds: intBetween(5, 60, 'seconds').default(10),
      failureThreshold: intBetween(1, 20, 'rounds').default(3),
      quorum: z.enum(['any', 'majority', 'all'], { error: 'must be one of any, majority, all' }).default('majority'),
      cooldownMinutes: intBetween(0, 1440, 'minutes').default(30),
    })
    .prefault({}),
  alarms: z.array(text(255).pipe(z.string().min(1))).max(10).default([]),
  /**
   * What confirms an automatic trigger (a probe or alarm trigger) before anything is fenced:
   * - `probes` (the default): the confirmation step probes the primary once more, from its own
   *   invocation, and fails over only if the group's quorum of probes fails;
   * - `none`: an explicit opt-out for a group with alarms and no probes: the alarm alone fails the group
   *   over, and the record and notification say that nothing confirmed it.
   * A group with alarms and no probes must say `none`: it has nothing to confirm against.
   */
  confirmation: z.enum(['probes', 'none'], { error: 'must be "probes" or "none"' }).optional(),
})
  // Cross-field rules run per group, so one group's typo does not hide another group's problems.
  .superRefine((group, ctx) => {
    checkRecords(group, (r, field, message) => ctx.addIssue({ code: 'custom', path: ['dns', 'records', r, ...field], message }));
    if (group.fence.onUnconfirmed === 'isolate' && !group.primary.vpcId) {
      ctx.addIssue({ code: 'custom', path: ['fence', 'onUnconfirmed'], message: 'needs primary.vpcId, the VPC to make the isolation security group in' });
    }
    checkCandidates(group, (path, message) => ctx.addIssue({ code: 'custom', path, message }));
    checkHealthCheckMode(group, (path, message) => ctx.addIssue({ code: 'custom', path, message }));
    checkProbeTimeouts(group, (p, message) => ctx.addIssue({ code: 'custom', path: ['probes', p, 'timeoutMs'], message }));
    const instances = [group.primary.instanceId, ...group.primary.additionalInstanceIds];
    instances.forEach((id, i) => {
      if (i > 0 && instances.indexOf(id) < i) {
        ctx.addIssue({ code: 'custom', path: ['primary', 'additionalInstanceIds', i - 1], message: i === 1 || instances.indexOf(id) === 0 ? 'duplicates primary.instanceId' : 'is listed twice' });
      }
    });
    const confirmation = confirmationProblem(group);
    if (confirmation) ctx.addIssue({ code: 'custom', path: ['confirmation'], message: confirmation });
  })
  // Unset means "probes"; a group without probes and alarms is only ever failed over by hand, which is not confirmed.
  .transform((group) => ({ ...group, confirmation: group.confirmation ?? 'probes' }));

/** At most two: with the controller's own view, three vantages, so one unreachable vantage does not block the quorum. */
const MAX_VANTAGES = 2;

const Vantage = z.strictObject({
  region,
  /**
   * Run the vantage's function in a VPC of its region (to reach private addresses the way the probes do).
   * @default - outside any VPC: it reaches public endpoints only
   */
  vpc: z
    .strictObject({
      subnetIds: z.array(matching(SUBNET_ID, 'a subnet id such as subnet-0123456789abcdef0')).min(1).max(16),
      securityGroupIds: z.array(matching(SECURITY_GROUP_ID, 'a security group id such as sg-0123456789abcdef0')).min(1).max(5),
    })
    .optional(),
});

/**
 * A vantage must not share the primary's fate: one in a primary's region goes dark with it, and an
 * unreachable vantage counts against confirming (lambdas/core/vantage.ts). Two vantages in one region
 * are one vantage counted twice.
 */
function checkVantages(
  config: { vantages: Array<{ region: string }>; groups: Array<{ name: string; primary: { region: string } }> },
  report: (path: Array<string | number>, message: string) => void,
): void {
  config.vantages.forEach((v, i) => {
    const first = config.vantages.findIndex((x) => x.region === v.region);
    if (first < i) report(['vantages', i, 'region'], `duplicates vantages[${first}].region (${v.region}): two vantages in one region share their fate and would be counted twice`);
    const g = config.groups.findIndex((group) => group.primary.region === v.region);
    if (g >= 0) {
      report(['vantages', i, 'region'], `is the region of groups[${g}].primary (${config.groups[g].name}): a vantage there goes dark with the primary it should see; choose a third region`);
    }
  });
}

const ConfigSchema = z
  .strictObject({
    $schema: z.string().optional(),
    stackName: matching(/^[A-Za-z][A-Za-z0-9-]{0,127}$/, 'a CloudFormation stack name').default('FailoverController'),
    workflow: z
      .strictObject({
        /** The Wait between two polls of a stop, a promotion or a DNS change. */
        pollIntervalSeconds: intBetween(1, 60, 'seconds').default(5),
      })
      .prefault({}),
    /**
     * Run the probes inside a VPC, so they reach private addresses (Route 53 health checks cannot).
     * One VPC placement for the deployment's probe and confirmation functions.
     */
    probeVpc: z
      .strictObject({
        subnetIds: z.array(matching(SUBNET_ID, 'a subnet id such as subnet-0123456789abcdef0')).min(1).max(16),
        securityGroupIds: z.array(matching(SECURITY_GROUP_ID, 'a security group id such as sg-0123456789abcdef0')).min(1).max(5),
      })
      .optional(),
    /** The scheduled readiness evaluation (lambdas/readiness): would a failover of each group work now? */
    readiness: z
      .strictObject({
        /** How often it runs. AWS's Region switch evaluates its plans every 30 minutes. */
        intervalMinutes: intBetween(5, 1440, 'minutes').default(15),
      })
      .prefault({}),
    notifications: z
      .strictObject({
        emails: z.array(z.email({ error: 'must be an email address' })).max(20).default([]),
      })
      .prefault({}),
    observability: z
      .strictObject({
        /**
         * The stack's CloudWatch dashboard ($3.00 a month, whatever the number of groups). Off for a
         * deployment watched from another dashboard: the alarms, metrics and logs are the same.
         */
        dashboard: z.boolean({ error: 'must be true or false' }).default(true),
      })
      .prefault({}),
    probeFunction: z
      .strictObject({
        /**
         * Concurrency reserved for the probe function, per shard of the probed groups, so that other
         * functions of the account cannot use it all while an outage is being detected. A shard's
         * scheduled invocation starts every minute and queues the next minute's rounds, and each queued
         * round is an invocation of a few seconds; a scheduled invocation that cannot queue its rounds
         * runs them itself, at most about 130 s, so two of them overlap. 2 covers a usual
         * minute (a scheduled invocation and the tail of a queued round) or one whose rounds could not
         * be queued (two scheduled invocations); 3 covers both at once. Beyond the reservation Lambda
         * throttles: the rounds queue's event source does not count it (Lambda Developer Guide,
         * "Configuring scaling behavior for SQS event source mappings"), and retries a throttled round
         * until the queue's visibility timeout, by when the round is past. Lambda keeps 100 of the
         * account's concurrency unreserved: an account whose limit leaves no room for the reservation
         * cannot reserve any ("none").
         */
        reservedConcurrency: z
          .union([z.number().int({ error: RESERVED }).min(2, { error: RESERVED }).max(10, { error: RESERVED }), z.literal('none')], { error: RESERVED })
          .default(3),
      })
      .prefault({}),
    /**
     * Second vantage points for the confirmation that precedes fencing (lambdas/core/vantage.ts): a
     * confirm function in each of these regions probes the primary too, and the quorum across the
     * controller's own probes and these decides. Each is a stack of its own in that region.
     */
    vantages: z.array(Vantage).max(MAX_VANTAGES, { error: `must list at most ${MAX_VANTAGES} vantages` }).default([]),
    groups: z.array(Group).min(1, { error: 'must list at least one failover group' }).max(1000),
  })
  .superRefine((config, ctx) => {
    checkVantages(config, (path, message) => ctx.addIssue({ code: 'custom', path, message }));
    const seen = new Map<string, number>();
    config.groups.forEach((group, g) => {
      const first = seen.get(group.name);
      if (first !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['groups', g, 'name'], message: `duplicates groups[${first}].name` });
      } else {
        seen.set(group.name, g);
      }
    });
    checkSharedResources(config.groups, (path, message) => ctx.addIssue({ code: 'custom', path, message }));
  });

function checkRecords(
  group: { dns: { zoneName: string; records: Array<z.output<typeof DnsRecord>> } },
  report: (record: number, field: string[], message: string) => void,
): void {
  const zone = group.dns.zoneName;
  const seen = new Set<string>();
  group.dns.records.forEach((record, r) => {
    const { name, type } = record;
    if (name !== zone && !name.endsWith(`.${zone}`)) {
      report(r, ['name'], `must be inside the hosted zone ${zone}`);
    }
    if (type === 'CNAME' && name === zone) {
      report(r, ['name'], 'a CNAME record cannot be at the zone apex');
    }
    const key = `${name} ${type}`;
    if (seen.has(key)) report(r, ['name'], `duplicates another ${type} record of this group`);
    seen.add(key);

    if ((record.target === undefined) === (record.values === undefined)) {
      report(r, [], 'must have exactly one of target ("replicaEndpoint") or values');
      return;
    }
    if (record.target === 'replicaEndpoint' && type !== 'CNAME') {
      report(r, ['target'], 'replicaEndpoint is a host name, so the record type must be CNAME');
    }
    record.values?.forEach((value, v) => {
      if (type === 'A' && isIP(value) !== 4) report(r, ['values', String(v)], 'must be an IPv4 address');
      if (type === 'AAAA' && isIP(value) !== 6) report(r, ['values', String(v)], 'must be an IPv6 address');
      if (type === 'CNAME' && !DNS_NAME.test(value)) report(r, ['values', String(v)], 'must be a host name');
    });
    if (type === 'CNAME' && (record.values?.length ?? 0) > 1) {
      report(r, ['values'], 'a CNAME record has exactly one value');
    }
  });
}

/**
 * Candidate replicas are named by identifier (in `valuesByReplica`, the record and the history), so an
 * identifier appears once per group; every `valuesByReplica` key is a candidate, with values of the
 * record's type.
 */
function checkCandidates(
  group: { replica: { dbInstanceIdentifier: string }; additionalReplicas: Array<{ dbInstanceIdentifier: string }>; dns: { records: Array<z.output<typeof DnsRecord>> } },
  report: (path: Array<string | number>, message: string) => void,
): void {
  const ids = [group.replica.dbInstanceIdentifier, ...group.additionalReplicas.map((r) => r.dbInstanceIdentifier)];
  group.additionalReplicas.forEach((r, i) => {
    const first = ids.indexOf(r.dbInstanceIdentifier);
    if (first <= i) {
      report(['additionalReplicas', i, 'dbInstanceIdentifier'], first === 0 ? 'duplicates replica.dbInstanceIdentifier' : `duplicates additionalReplicas[${first - 1}].dbInstanceIdentifier`);
    }
  });
  group.dns.records.forEach((record, r) => {
    if (record.valuesByReplica === undefined) return;
    if (record.values === undefined) report(['dns', 'records', r, 'valuesByReplica'], 'needs values, used when another candidate is promoted');
    for (const [id, values] of Object.entries(record.valuesByReplica)) {
      if (!ids.includes(id)) report(['dns', 'records', r, 'valuesByReplica', id], `is not a candidate replica of this group (${[...new Set(ids)].join(', ')})`);
      values.forEach((value, v) => {
        const bad = recordValueProblem(record.type, value);
        if (bad) report(['dns', 'records', r, 'valuesByReplica', id, v], bad);
      });
      if (record.type === 'CNAME' && values.length > 1) report(['dns', 'records', r, 'valuesByReplica', id], 'a CNAME record has exactly one value');
    }
  });
}

/**
 * `dns.mode: "health-check"` provisions both sides of each failover pair at deploy time: the PRIMARY
 * answers `primaryValues`, the SECONDARY `values`. A failover pair has exactly one SECONDARY, so the
 * mode fails over to `replica` only: no `target` resolved at failover time, no `valuesByReplica`, no
 * `additionalReplicas`. `primaryValues` means nothing in `records` mode (the flip reads the live record).
 */
function checkHealthCheckMode(
  group: { additionalReplicas: unknown[]; dns: { mode: 'records' | 'health-check'; records: Array<z.output<typeof DnsRecord>> } },
  report: (path: Array<string | number>, message: string) => void,
): void {
  const hc = group.dns.mode === 'health-check';
  if (hc && group.additionalReplicas.length > 0) {
    report(['additionalReplicas'], 'must be empty with dns.mode "health-check": a failover record pair has one SECONDARY, provisioned at deploy time for replica; use dns.mode "records" to choose among candidates');
  }
  group.dns.records.forEach((record, r) => {
    if (!hc) {
      if (record.primaryValues !== undefined) report(['dns', 'records', r, 'primaryValues'], 'is only used with dns.mode "health-check" (in "records" mode the flip reads the live record)');
      return;
    }
    if (record.target !== undefined) {
      report(['dns', 'records', r, 'target'], `cannot be ${JSON.stringify(record.target)} with dns.mode "health-check": the SECONDARY record is made at deploy time, so give the replica's endpoint address in values (RDS keeps it when the replica is promoted)`);
    }
    if (record.valuesByReplica !== undefined) report(['dns', 'records', r, 'valuesByReplica'], 'cannot be used with dns.mode "health-check": the SECONDARY record has one set of values, made at deploy time');
    if (record.primaryValues === undefined) {
      report(['dns', 'records', r, 'primaryValues'], 'is required with dns.mode "health-check": what the PRIMARY failover record answers while the primary serves (today\'s value of the record)');
      return;
    }
    record.primaryValues.forEach((value, v) => {
      const bad = recordValueProblem(record.type, value);
      if (bad) report(['dns', 'records', r, 'primaryValues', v], bad);
    });
    if (record.type === 'CNAME' && record.primaryValues.length > 1) report(['dns', 'records', r, 'primaryValues'], 'a CNAME record has exactly one value');
  });
}

/**
 * A probe that outlasts its round interval makes every round late; one that outlasts what the
 * confirmation step can wait turns the outage it should confirm into a timed-out step (a dead primary's
 * probes run to their timeout), so the failover never gets past the confirmation.
 */
function checkProbeTimeouts(
  group: { probes: Array<{ timeoutMs: number }>; detection: { intervalSeconds: number } },
  report: (probe: number, message: string) => void,
): void {
  const interval = group.detection.intervalSeconds;
  group.probes.forEach((probe, p) => {
    if (probe.timeoutMs > interval * 1000) {
      report(p, `must not be longer than detection.intervalSeconds (${interval} s, ${interval * 1000} ms): a round would still be probing when the next one is due`);
    }
    if (probe.timeoutMs > CONFIRM_PROBE_TIMEOUT_MAX_MS) {
      report(
        p,
        `must be at most ${CONFIRM_PROBE_TIMEOUT_MAX_MS} ms: the confirmation step waits out its probes within its ${STEP_TIMEOUT_SECONDS} s Lambda timeout and needs ${CONFIRM_STEP_MARGIN_SECONDS} s of it for its own work, so a probe of a dead primary would time the step out`,
      );
    }
  });
}

/**
 * An automatic trigger is confirmed by the group's probes, or, where a group says so explicitly, by
 * nothing. A group whose alarms would start a failover that nothing confirms must opt out in writing.
 */
function confirmationProblem(group: { confirmation?: 'probes' | 'none'; probes: unknown[]; alarms: string[] }): string | undefined {
  const probed = group.probes.length > 0;
  if (group.confirmation === undefined) {
    return !probed && group.alarms.length > 0
      ? 'is required for a group with alarms and no probes: nothing could confirm the outage an alarm reports. Add probes to confirm against, or set confirmation to "none" to fail over on the alarm alone'
      : undefined;
  }
  // Without alarms nothing automatic needs confirming (the parsed default of a manual-only group parses again).
  if (group.confirmation === 'probes' && !probed && group.alarms.length > 0) {
    return 'needs at least one probe in probes[] to confirm against; add probes, or set "none" to fail over on the alarm alone';
  }
  if (group.confirmation === 'none' && probed) {
    return 'cannot be "none" for a group with probes: the probes are its confirmation (remove confirmation, or set "probes")';
  }
  return undefined;
}

type SharedGroup = Pick<z.output<typeof Group>, 'name' | 'primary' | 'replica' | 'additionalReplicas' | 'dns'>;

/**
 * Locks are per group: two groups that share a writer, a candidate replica, an old database or a record
 * could fail over at the same time and act on it twice (two fences, two promotions, two DNS changes).
 * Each resource is reported on the later group, naming the first group that has it.
 */
function checkSharedResources(groups: SharedGroup[], report: (path: Array<string | number>, message: string) => void): void {
  const owners = new Map<string, { group: number; field: string }>();
  const claim = (g: number, kind: string, key: string, path: Array<string | number>, message: (owner: string) => string) => {
    const id = `${kind} ${key}`;
    const first = owners.get(id);
    if (first === undefined) {
      owners.set(id, { group: g, field: formatPath(path) });
      return;
    }
    // A resource listed twice in one group is the group's own problem (reported as a duplicate there).
    if (first.group === g) return;
    report(['groups', g, ...path], message(`group ${JSON.stringify(groups[first.group].name)} (groups[${first.group}].${first.field})`));
  };
  const LOCKS = "the two groups' locks do not exclude each other";

  groups.forEach((group, g) => {
    const region = group.primary.region;
    [group.primary.instanceId, ...group.primary.additionalInstanceIds].forEach((id, i) =>
      claim(g, 'instance', `${region} ${id}`, i === 0 ? ['primary', 'instanceId'] : ['primary', 'additionalInstanceIds', i - 1], (owner) =>
        `is also a writer of ${owner}: ${LOCKS}, so both could fence and fail over the same instance at once`),
    );
    // The candidates as replicaCandidates lists them (candidates.ts imports this module, so not from there).
    [group.replica, ...group.additionalReplicas].forEach((r, i) =>
      claim(g, 'replica', `${r.region} ${r.dbInstanceIdentifier}`, i === 0 ? ['replica', 'dbInstanceIdentifier'] : ['additionalReplicas', i - 1, 'dbInstanceIdentifier'], (owner) =>
        `is also a candidate replica of ${owner}: ${LOCKS}, so both could promote it at once and point their records at it`),
    );
    const source = sourceDatabase(group.replica);
    claim(g, 'source', `${source.region} ${source.id}`, ['replica', 'source'], (owner) =>
      `is also the source database of ${owner}: a failover of either group would fence the other's database, and ${LOCKS}, so both could promote a replica of it at once; make them one group (additionalReplicas)`);
    group.dns.records.forEach((record, r) =>
      claim(g, 'record', `${group.dns.hostedZoneId} ${normalizeDnsName(record.name)}`, ['dns', 'records', r, 'name'], (owner) =>
        `is also a record of ${owner} in hosted zone ${group.dns.hostedZoneId}: ${LOCKS}, so both could change it at once, each to its own replica`),
    );
  });
}

function recordValueProblem(type: string, value: string): string | undefined {
  if (type === 'A' && isIP(value) !== 4) return 'must be an IPv4 address';
  if (type === 'AAAA' && isIP(value) !== 6) return 'must be an IPv6 address';
  if (type === 'CNAME' && !DNS_NAME.test(value)) return 'must be a host name';
  return undefined;
}

/**
 * Where the replica's source is: `arn:aws:rds:us-east-1:123456789012:db:orders-db` → us-east-1 and
 * orders-db; a plain identifier is in the replica's region (that is how RDS reports a same-region source).
 */
export function sourceDatabase(replica: { source: string; region: string }): { id: string; region: string; arn?: string } {
  const m = DB_ARN.exec(replica.source);
  return m ? { id: m[3], region: m[1], arn: replica.source } : { id: replica.source, region: replica.region };
}

export function normalizeDnsName(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

/** The same DNS values, in any order and case, with or without the final dot. */
export function sameDnsValues(a: readonly string[], b: readonly string[]): boolean {
  const norm = (values: readonly string[]) => values.map(normalizeDnsName).sort().join('\n');
  return norm(a) === norm(b);
}

export type FailoverConfig = z.output<typeof ConfigSchema>;
export type GroupConfig = FailoverConfig['groups'][number];
export type DnsRecordConfig = GroupConfig['dns']['records'][number];
export type ProbeConfig = GroupConfig['probes'][number];
export type VantageConfig = FailoverConfig['vantages'][number];

/** A config that failed validation; `problems` holds one line per problem. */
export class ConfigError extends Error {
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(`${source} is not a valid failover config (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

/** Validate a parsed config; throws ConfigError listing every problem. */
export function parseConfig(input: unknown, source = 'config'): FailoverConfig {
  const result = ConfigSchema.safeParse(withoutComments(input));
  if (result.success) return result.data;
  throw new ConfigError(source, formatIssues(result.error.issues, input));
}

/** JSON has no comments: keys that start with "//" annotate the file and are dropped before validation. */
function withoutComments(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutComments);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([key]) => !key.startsWith('//'))
      .map(([key, v]) => [key, withoutComments(v)]),
  );
}

/** Read and validate a JSON config file. */
export function loadConfigFile(path: string): FailoverConfig {
  let raw: string;
  try {
    raw = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(path, [`cannot be read: ${(err as Error).message}`]);
  }
  // A UTF-8 byte order mark (some Windows editors write one) is not JSON; it is not part of the config either.
  const text = raw.replace(/^\uFEFF/, '');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(path, [`is not valid JSON: ${(err as Error).message}${lineAndColumn(text, (err as Error).message)}`]);
  }
  return parseConfig(json, path);
}

/** " (line 3, column 1)" for JSON.parse's "at position N", so an editor can go there. */
function lineAndColumn(text: string, message: string): string {
  const m = /position (\d+)/.exec(message);
  if (!m) return '';
  const before = text.slice(0, Number(m[1]));
  const line = before.split('\n').length;
  return ` (line ${line}, column ${before.length - before.lastIndexOf('\n')})`;
}

/** `['groups', 0, 'dns']` → `groups[0].dns` */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  return path
    .map((key, i) => (typeof key === 'number' || /^\d+$/.test(String(key)) ? `[${String(key)}]` : i === 0 ? String(key) : `.${String(key)}`))
    .join('');
}

/** One line per problem; `root` names the whole input when the problem is with it rather than a field. */
export function formatIssues(issues: ReadonlyArray<z.core.$ZodIssue>, input: unknown, root = '(config)'): string[] {
  const lines = issues.flatMap((issue) => {
    // An unknown key is reported once per key, at the key's own path.
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => `${formatPath([...issue.path, key])}: is not a known field`);
    }
    const path = formatPath(issue.path) || root;
    const value = valueAt(input, issue.path);
    if (value === undefined) {
      // A field that says why it is required keeps its sentence.
      return [`${path}: ${issue.message.startsWith('is required') ? issue.message : 'is required'}`];
    }
    return [`${path}: ${messageFor(issue)}, got ${describeValue(value)}`];
  });
  return [...new Set(lines)];
}

function messageFor(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      // A schema's own message (such as .int()'s "must be a whole number of seconds") says it better.
      if (!issue.message.startsWith('Invalid input')) return issue.message;
      return `must be ${issue.expected === 'array' ? 'a list' : issue.expected === 'object' ? 'an object' : `a ${issue.expected}`}`;
    case 'invalid_union':
      return issue.message.startsWith('Invalid input') ? 'is not one of the accepted forms' : issue.message;
    case 'invalid_value':
      return issue.message.startsWith('Invalid') ? `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}` : issue.message;
    case 'too_small':
      return issue.message.startsWith('Too small') ? `must have at least ${String(issue.minimum)}` : issue.message;
    case 'too_big':
      return issue.message.startsWith('Too big') ? `must have at most ${String(issue.maximum)}` : issue.message;
    default:
      return issue.message;
  }
}

function valueAt(input: unknown, path: ReadonlyArray<PropertyKey>): unknown {
  let here: unknown = input;
  for (const key of path) {
    if (here === null || typeof here !== 'object') return undefined;
    here = (here as Record<PropertyKey, unknown>)[key];
  }
  return here;
}

/** A short, safe rendering of a bad value for an error line. */
export function describeValue(value: unknown): string {
  // A password in a URL is not repeated back.
  let shown = (JSON.stringify(value) ?? String(value)).replace(/(\/\/[^/:@"\s]*):[^/@"\s]*@/g, '$1:***@');
  if (shown.length > 80) shown = `${shown.slice(0, 77)}...`;
  return shown;
}
