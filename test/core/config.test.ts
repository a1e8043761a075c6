/**
 * The config schema: the shipped example parses and gets its defaults; every bad config is reported
 * with one line per problem (path, message, the offending value), all problems at once.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfigFile, parseConfig } from '../../lambdas/core/config';
import { replicaCandidates } from '../../lambdas/core/candidates';

/** A small valid config; each case breaks one thing in a fresh copy. */
function valid(): any {
  return {
    groups: [
      {
        name: 'orders',
        primary: { instanceId: 'i-0a1b2c3d4e5f60718', region: 'us-east-1' },
        replica: { dbInstanceIdentifier: 'orders-replica', region: 'us-west-2', source: 'orders-primary-db', sourceVpcId: 'vpc-0db0000000000000a' },
        dns: {
          hostedZoneId: 'Z0EXAMPLE1234567890AB',
          zoneName: 'example.com',
          records: [
            { name: 'db.orders.example.com', type: 'CNAME', target: 'replicaEndpoint' },
            { name: 'api.orders.example.com', type: 'A', values: ['198.51.100.20'] },
          ],
        },
      },
    ],
  };
}

/** A second group that shares nothing with `orders`: its own instance, replica, source and zone. */
function billing(): any {
  return {
    name: 'billing',
    primary: { instanceId: 'i-0fedcba9876543210', region: 'eu-west-1' },
    replica: { dbInstanceIdentifier: 'billing-replica', region: 'eu-central-1', source: 'billing-primary-db', sourceVpcId: 'vpc-0db0000000000000b' },
    dns: {
      hostedZoneId: 'Z09876543210ZYXWVUTSR',
      zoneName: 'example.net',
      records: [{ name: 'db.billing.example.net', type: 'CNAME', target: 'replicaEndpoint' }],
    },
  };
}

/** The ConfigError a config gives; fails the test when it parses. */
function configError(config: unknown, source?: string): ConfigError {
  try {
    parseConfig(config, source);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected the config to be rejected');
}

const problemsOf = (mutate: (config: any) => void): string[] => {
  const config = valid();
  mutate(config);
  return configError(config).problems;
};

describe('parseConfig: valid configs', () => {
  it('parses the shipped failover.config.json and fills in the defaults', () => {
    // Arrange
    const path = join(__dirname, '..', '..', 'failover.config.json');
    const raw = JSON.parse(readFileSync(path, 'utf8'));
    const rawGroup = raw.groups[0];

    // Act
    const config = loadConfigFile(path);

    // Assert
    expect(config.stackName).toBe('FailoverController');
    expect(config.readiness).toEqual({ intervalMinutes: 15 });
    const [orders] = config.groups;
    expect(orders).toMatchObject({
      name: 'orders',
      primary: { instanceId: 'i-0a1b2c3d4e5f60718', region: 'us-east-1' },
      replica: { dbInstanceIdentifier: 'orders-replica', region: 'us-west-2', maxLagSeconds: 30 },
    });
    expect(orders.dns.records.map((r) => [r.name, r.type, r.ttl])).toEqual([
      ['db.orders.example.com', 'CNAME', 30],
      ['api.orders.example.com', 'A', 30],
    ]);
    // Fields the example leaves out get their defaults.
    expect(rawGroup.switchover).toBeUndefined();
    expect(orders.switchover).toEqual({ lagTimeoutSeconds: 600, stopTimeoutSeconds: 600 });
    expect(rawGroup.dns.syncTimeoutSeconds).toBeUndefined();
    expect(orders.dns.syncTimeoutSeconds).toBe(300);
    const httpProbes = orders.probes.filter((p) => p.type === 'http');
    expect(httpProbes.length).toBeGreaterThan(0);
    expect(rawGroup.probes.some((p: { method?: string }) => p.method !== undefined)).toBe(false);
    expect(httpProbes.map((p) => p.method)).toEqual(httpProbes.map(() => 'GET'));
    // The "//" comments are not part of the result.
    expect(config).not.toHaveProperty('//');
    expect(Object.keys(orders).filter((k) => k.startsWith('//'))).toEqual([]);
  });

  it('gives a minimal group every default', () => {
    const [group] = parseConfig(valid()).groups;

    expect(group).toMatchObject({
      replica: { maxLagSeconds: 30 },
      dns: { syncTimeoutSeconds: 300, records: [{ ttl: 30 }, { ttl: 30 }] },
      fence: { timeoutSeconds: 120 },
      promotion: { timeoutSeconds: 1800 },
      switchover: { lagTimeoutSeconds: 600, stopTimeoutSeconds: 600 },
      detection: { intervalSeconds: 10, failureThreshold: 3, quorum: 'majority', cooldownMinutes: 30 },
      probes: [],
      alarms: [],
      confirmation: 'probes',
    });
  });

  it('ignores "//" keys at every level', () => {
    const config = valid();
    config['//'] = 'top-level comment';
    config.groups[0]['//'] = { anything: ['goes', 1, null] };
    config.groups[0].dns.records[0]['// why'] = 'the app connects to this name';
    config.groups[0].replica['//'] = 42;

    const parsed = parseConfig(config);

    expect(parsed.groups[0].dns.records[0]).toEqual({ name: 'db.orders.example.com', type: 'CNAME', ttl: 30, target: 'replicaEndpoint' });
    expect(parsed.groups[0]).not.toHaveProperty('//');
  });

  it('normalizes record and zone names: lowercase, no trailing dot', () => {
    const config = valid();
    config.groups[0].dns.zoneName = 'Example.COM.';
    config.groups[0].dns.records[0].name = 'DB.Orders.example.com.';

    const [group] = parseConfig(config).groups;

    expect(group.dns.zoneName).toBe('example.com');
    expect(group.dns.records[0].name).toBe('db.orders.example.com');
  });

  it('accepts a tcp probe host given as a name, an IPv4 or an IPv6 address', () => {
    const config = valid();
    config.groups[0].probes = ['db.internal.example.com', '10.0.1.25', '2001:db8::25'].map((host) => ({ type: 'tcp', host, port: 5432 }));

    const [group] = parseConfig(config).groups;

    expect(group.probes.map((p) => (p.type === 'tcp' ? p.host : p.url))).toEqual(['db.internal.example.com', '10.0.1.25', '2001:db8::25']);
  });

  it('accepts a record at the zone apex when it is not a CNAME, and a wildcard record', () => {
    const config = valid();
    config.groups[0].dns.records[1].name = 'example.com';
    config.groups[0].dns.records.push({ name: '*.orders.example.com', type: 'AAAA', values: ['2001:db8::20'] });

    expect(() => parseConfig(config)).not.toThrow();
  });
});

describe('parseConfig: one problem, one line', () => {
  const long = 'x'.repeat(257);
  const cases: Array<[string, (c: any) => void, string[]]> = [
    // Wrong types
    ['groups not a list', (c) => (c.groups = {}), ['groups: must be a list, got {}']],
    ['primary not an object', (c) => (c.groups[0].primary = 'i-0a1b2c3d4e5f60718'), ['groups[0].primary: must be an object, got "i-0a1b2c3d4e5f60718"']],
    ['fence null', (c) => (c.groups[0].fence = null), ['groups[0].fence: must be an object, got null']],
    ['maxLagSeconds as a string', (c) => (c.groups[0].replica.maxLagSeconds = '30'), ['groups[0].replica.maxLagSeconds: must be a number, got "30"']],
    ['ttl not a whole number', (c) => (c.groups[0].dns.records[1].ttl = 2.5), ['groups[0].dns.records[1].ttl: must be a whole number of seconds, got 2.5']],
    ['record type', (c) => (c.groups[0].dns.records[1].type = 'MX'), ['groups[0].dns.records[1].type: must be one of A, AAAA, CNAME, got "MX"']],
    ['quorum', (c) => (c.groups[0].detection = { quorum: 'most' }), ['groups[0].detection.quorum: must be one of any, majority, all, got "most"']],
    ['probe method', (c) => (c.groups[0].probes = [{ type: 'http', url: 'https://api.orders.example.com/health', method: 'PUT' }]), ['groups[0].probes[0].method: must be one of "GET", "HEAD", "POST", got "PUT"']],

    // Missing fields
    ['no groups', (c) => delete c.groups, ['groups: is required']],
    ['no primary region', (c) => delete c.groups[0].primary.region, ['groups[0].primary.region: is required']],
    ['no hosted zone id', (c) => delete c.groups[0].dns.hostedZoneId, ['groups[0].dns.hostedZoneId: is required']],
    ['tcp probe without port', (c) => (c.groups[0].probes = [{ type: 'tcp', host: '10.0.1.25' }]), ['groups[0].probes[0].port: is required']],
    ['probe without type', (c) => (c.groups[0].probes = [{ host: '10.0.1.25', port: 5432 }]), ['groups[0].probes[0].type: is required']],
    ['empty group list', (c) => (c.groups = []), ['groups: must list at least one failover group, got []']],

    // Duplicates
    ['duplicate group names', (c) => c.groups.push({ ...billing(), name: 'orders' }), ['groups[1].name: duplicates groups[0].name, got "orders"']],
    [
      'duplicate record',
      (c) => c.groups[0].dns.records.push({ name: 'API.orders.example.com.', type: 'A', values: ['198.51.100.21'] }),
      ['groups[0].dns.records[2].name: duplicates another A record of this group, got "API.orders.example.com."'],
    ],

    // Identifiers
    ['instance id too short', (c) => (c.groups[0].primary.instanceId = 'i-123'), ['groups[0].primary.instanceId: must be an EC2 instance id such as i-0123456789abcdef0, got "i-123"']],
    ['instance id with capitals', (c) => (c.groups[0].primary.instanceId = 'i-0A1B2C3D4E5F60718'), ['groups[0].primary.instanceId: must be an EC2 instance id such as i-0123456789abcdef0, got "i-0A1B2C3D4E5F60718"']],
    ...(['1orders', 'orders--replica', 'orders-', 'orders_replica', `o${'r'.repeat(63)}`].map((id) => [
      `DB identifier ${id.slice(0, 20)}`,
      (c: any) => (c.groups[0].replica.dbInstanceIdentifier = id),
      [`groups[0].replica.dbInstanceIdentifier: must be an RDS DB instance identifier: a letter, then letters, digits or single hyphens, at most 63 characters, got ${JSON.stringify(id).length > 80 ? `${JSON.stringify(id).slice(0, 77)}...` : JSON.stringify(id)}`],
    ]) as Array<[string, (c: any) => void, string[]]>),
    ['hosted zone id', (c) => (c.groups[0].dns.hostedZoneId = 'example.com'), ['groups[0].dns.hostedZoneId: must be a Route 53 hosted zone id such as Z0123456789ABCDEFGHIJ, got "example.com"']],
    ['group name with capitals', (c) => (c.groups[0].name = 'Orders'), ['groups[0].name: must be lowercase letters, digits and hyphens, at most 40 characters, got "Orders"']],
    ['stack name', (c) => (c.stackName = '1-failover'), ['stackName: must be a CloudFormation stack name, got "1-failover"']],

    // Regions
    ['region without number', (c) => (c.groups[0].primary.region = 'us-east'), ['groups[0].primary.region: must be an AWS region such as us-east-1, got "us-east"']],
    ['region in capitals', (c) => (c.groups[0].replica.region = 'US-WEST-2'), ['groups[0].replica.region: must be an AWS region such as us-east-1, got "US-WEST-2"']],
    ['availability zone as region', (c) => (c.groups[0].replica.region = 'us-west-2a'), ['groups[0].replica.region: must be an AWS region such as us-east-1, got "us-west-2a"']],

    // Numbers out of range
    ['TTL above 300', (c) => (c.groups[0].dns.records[1].ttl = 900), ['groups[0].dns.records[1].ttl: must be between 5 and 300 seconds, got 900']],
    ['TTL below 5', (c) => (c.groups[0].dns.records[0].ttl = 0), ['groups[0].dns.records[0].ttl: must be between 5 and 300 seconds, got 0']],
    ['fence timeout', (c) => (c.groups[0].fence = { timeoutSeconds: 5 }), ['groups[0].fence.timeoutSeconds: must be between 10 and 900 seconds, got 5']],
    ['negative maxLagSeconds', (c) => (c.groups[0].replica.maxLagSeconds = -1), ['groups[0].replica.maxLagSeconds: must be between 0 and 86400 seconds, got -1']],

    // DNS records
    ['empty record list', (c) => (c.groups[0].dns.records = []), ['groups[0].dns.records: must list at least one record, got []']],
    ['record outside the hosted zone', (c) => (c.groups[0].dns.records[0].name = 'db.orders.example.org'), ['groups[0].dns.records[0].name: must be inside the hosted zone example.com, got "db.orders.example.org"']],
    ['record in a zone that only ends like it', (c) => (c.groups[0].dns.records[0].name = 'db.notexample.com'), ['groups[0].dns.records[0].name: must be inside the hosted zone example.com, got "db.notexample.com"']],
    ['CNAME at the zone apex', (c) => (c.groups[0].dns.records[0].name = 'example.com.'), ['groups[0].dns.records[0].name: a CNAME record cannot be at the zone apex, got "example.com."']],
    [
      'replicaEndpoint on an A record',
      (c) => (c.groups[0].dns.records[1] = { name: 'api.orders.example.com', type: 'A', target: 'replicaEndpoint' }),
      ['groups[0].dns.records[1].target: replicaEndpoint is a host name, so the record type must be CNAME, got "replicaEndpoint"'],
    ],
    ['A record with a host name', (c) => (c.groups[0].dns.records[1].values = ['198.51.100.20', 'api.example.com']), ['groups[0].dns.records[1].values[1]: must be an IPv4 address, got "api.example.com"']],
    ['A record with an IPv6 address', (c) => (c.groups[0].dns.records[1].values = ['2001:db8::20']), ['groups[0].dns.records[1].values[0]: must be an IPv4 address, got "2001:db8::20"']],
    ['AAAA record with an IPv4 address', (c) => (c.groups[0].dns.records[1].type = 'AAAA'), ['groups[0].dns.records[1].values[0]: must be an IPv6 address, got "198.51.100.20"']],
    [
      'CNAME with two values',
      (c) => (c.groups[0].dns.records[0] = { name: 'db.orders.example.com', type: 'CNAME', values: ['a.example.net', 'b.example.net'] }),
      ['groups[0].dns.records[0].values: a CNAME record has exactly one value, got ["a.example.net","b.example.net"]'],
    ],
    [
      'record with neither target nor values',
      (c) => delete c.groups[0].dns.records[0].target,
      ['groups[0].dns.records[0]: must have exactly one of target ("replicaEndpoint") or values, got {"name":"db.orders.example.com","type":"CNAME"}'],
    ],
    ['record with an empty value list', (c) => (c.groups[0].dns.records[1].values = []), ['groups[0].dns.records[1].values: must list at least one value, got []']],
    ['unknown target', (c) => (c.groups[0].dns.records[0].target = 'primaryEndpoint'), ['groups[0].dns.records[0].target: must be "replicaEndpoint", got "primaryEndpoint"']],

    // Probes and notifications
    ['http probe with an ftp URL', (c) => (c.groups[0].probes = [{ type: 'http', url: 'ftp://api.orders.example.com/health' }]), ['groups[0].probes[0].url: must be an http:// or https:// URL, got "ftp://api.orders.example.com/health"']],
    ['probe of an unknown type', (c) => (c.groups[0].probes = [{ type: 'icmp', host: '10.0.1.25' }]), ['groups[0].probes[0].type: must have type "http" or "tcp", got "icmp"']],
    ['tcp probe host', (c) => (c.groups[0].probes = [{ type: 'tcp', host: 'db host', port: 5432 }]), ['groups[0].probes[0].host: must be a host name or IP address, got "db host"']],
    ['email', (c) => (c.notifications = { emails: ['ops@example.com', 'ops'] }), ['notifications.emails[1]: must be an email address, got "ops"']],

    // Unknown fields
    ['unknown top-level field', (c) => (c.group = 'orders'), ['group: is not a known field']],
    ['unknown field in a group', (c) => (c.groups[0].replica.maxLag = 30), ['groups[0].replica.maxLag: is not a known field']],
    ['unknown field in a record', (c) => (c.groups[0].dns.records[0].weight = 10), ['groups[0].dns.records[0].weight: is not a known field']],

    // Free text
    ['oversized description', (c) => (c.groups[0].description = long), [`groups[0].description: must be at most 256 characters, got "${'x'.repeat(76)}...`]],
    [
      'control characters in the description',
      (c) => (c.groups[0].description = 'Orders API\u001b[31m red\n'),
      ['groups[0].description: must not contain control characters, got "Orders API\\u001b[31m red\\n"'],
    ],
    ['isolation fencing without the VPC', (c) => (c.groups[0].fence = { onUnconfirmed: 'isolate' }), ['groups[0].fence.onUnconfirmed: needs primary.vpcId, the VPC to make the isolation security group in, got "isolate"']],
    ['unknown fence fallback', (c) => (c.groups[0].fence = { onUnconfirmed: 'reboot' }), ['groups[0].fence.onUnconfirmed: must be "abort" or "isolate", got "reboot"']],
    ['malformed VPC id', (c) => (c.groups[0].primary.vpcId = 'vpc-xyz'), ['groups[0].primary.vpcId: must be a VPC id such as vpc-0123456789abcdef0, got "vpc-xyz"']],
    // The writers: the old database must be known to be fenced
    [
      'no replica source',
      (c) => delete c.groups[0].replica.source,
      [
        "groups[0].replica.source: is required: the replica's source database (identifier, or ARN in another region), which the controller fences before promoting so that it never leaves two writable databases",
      ],
    ],
    [
      'no source VPC',
      (c) => delete c.groups[0].replica.sourceVpcId,
      ['groups[0].replica.sourceVpcId: is required: the VPC of the source database, where the stack makes the deny-all security group that fences it'],
    ],
    [
      'a source that is neither identifier nor ARN',
      (c) => (c.groups[0].replica.source = 'arn:aws:rds:us-east-1:1234:cluster:orders'),
      ['groups[0].replica.source: must be an RDS DB instance identifier or ARN (arn:aws:rds:<region>:<account>:db:<id>), got "arn:aws:rds:us-east-1:1234:cluster:orders"'],
    ],
    [
      'an additional instance that repeats the primary',
      (c) => (c.groups[0].primary.additionalInstanceIds = ['i-0a1b2c3d4e5f60718']),
      ['groups[0].primary.additionalInstanceIds[0]: duplicates primary.instanceId, got "i-0a1b2c3d4e5f60718"'],
    ],
    ['a malformed additional instance', (c) => (c.groups[0].primary.additionalInstanceIds = ['i-xyz']), ['groups[0].primary.additionalInstanceIds[0]: must be an EC2 instance id such as i-0123456789abcdef0, got "i-xyz"']],
    ['credentials in a probe URL', (c) => (c.groups[0].probes = [{ type: 'http', url: 'https://admin:s3cret@api.orders.example.com/health' }]), ['groups[0].probes[0].url: must not carry credentials (user:password@): the URL ends up in logs, metrics and notifications, got "https://admin:***@api.orders.example.com/health"']],
    ['a readiness interval under five minutes', (c) => (c.readiness = { intervalMinutes: 1 }), ['readiness.intervalMinutes: must be between 5 and 1440 minutes, got 1']],
    ['control characters in a probe name', (c) => (c.groups[0].probes = [{ type: 'tcp', name: 'db\tport', host: '10.0.1.25', port: 5432 }]), ['groups[0].probes[0].name: must not contain control characters, got "db\\tport"']],
  ];

  it.each(cases)('%s', (_, mutate, expected) => {
    // Act
    const problems = problemsOf(mutate);

    // Assert
    expect(problems).toEqual(expected);
  });
});

describe('parseConfig: every problem at once', () => {
  it('reports three problems as three lines, in one error', () => {
    // Arrange
    const config = valid();
    config.groups[0].primary.instanceId = 'i-123';
    config.groups[0].replica.region = 'us-west';
    config.groups[0].dns.records[1].ttl = 900;

    // Act
    const error = configError(config, 'failover.config.json');

    // Assert
    expect(error.name).toBe('ConfigError');
    expect(error.problems).toEqual([
      'groups[0].primary.instanceId: must be an EC2 instance id such as i-0123456789abcdef0, got "i-123"',
      'groups[0].replica.region: must be an AWS region such as us-east-1, got "us-west"',
      'groups[0].dns.records[1].ttl: must be between 5 and 300 seconds, got 900',
    ]);
    expect(error.message).toBe(
      [
        'failover.config.json is not a valid failover config (3 problems):',
        '  groups[0].primary.instanceId: must be an EC2 instance id such as i-0123456789abcdef0, got "i-123"',
        '  groups[0].replica.region: must be an AWS region such as us-east-1, got "us-west"',
        '  groups[0].dns.records[1].ttl: must be between 5 and 300 seconds, got 900',
      ].join('\n'),
    );
  });

  it('reports one group’s typo and another group’s record problem together', () => {
    // Arrange: a field problem in groups[0] must not hide a cross-field problem in groups[1], nor in groups[0].
    const config = valid();
    const second = billing();
    second.dns.records[0].name = 'example.net';
    config.groups.push(second);
    config.groups[0].primary.instanceId = 'i-123';
    config.groups[0].dns.records[0].name = 'db.orders.example.org';

    // Act
    const { problems } = configError(config);

    // Assert
    expect(problems).toHaveLength(3);
    expect(problems).toEqual(
      expect.arrayContaining([
        'groups[0].primary.instanceId: must be an EC2 instance id such as i-0123456789abcdef0, got "i-123"',
        'groups[0].dns.records[0].name: must be inside the hosted zone example.com, got "db.orders.example.org"',
        'groups[1].dns.records[0].name: a CNAME record cannot be at the zone apex, got "example.net"',
      ]),
    );
  });

  it('reports duplicate group names alongside other problems', () => {
    const config = valid();
    config.groups.push({ ...billing(), name: 'orders' });
    config.groups[1].dns.records[0].ttl = 900;

    const { problems } = configError(config);

    expect(problems).toEqual(
      expect.arrayContaining([
        'groups[1].name: duplicates groups[0].name, got "orders"',
        'groups[1].dns.records[0].ttl: must be between 5 and 300 seconds, got 900',
      ]),
    );
    expect(problems).toHaveLength(2);
  });

  it('says "1 problem" for one', () => {
    const config = valid();
    config.groups[0].dns.records[1].ttl = 900;

    expect(configError(config).message).toBe(
      'config is not a valid failover config (1 problem):\n  groups[0].dns.records[1].ttl: must be between 5 and 300 seconds, got 900',
    );
  });
});

const LOCKS = "the two groups' locks do not exclude each other";

describe('parseConfig: groups that share a resource (their locks would not exclude each other)', () => {
  /** `orders` and `billing`, with `share` applied to billing (groups[1]). */
  const problemsWith = (share: (billing: any, orders: any) => void): string[] =>
    problemsOf((c) => {
      c.groups.push(billing());
      share(c.groups[1], c.groups[0]);
    });

  const cases: Array<[string, (billing: any, orders: any) => void, string[]]> = [
    [
      'the same primary instance',
      (b) => (b.primary = { instanceId: 'i-0a1b2c3d4e5f60718', region: 'us-east-1' }),
      [`groups[1].primary.instanceId: is also a writer of group "orders" (groups[0].primary.instanceId): ${LOCKS}, so both could fence and fail over the same instance at once, got "i-0a1b2c3d4e5f60718"`],
    ],
    [
      "an additional instance that is the other group's additional instance",
      (b, o) => {
        o.primary.additionalInstanceIds = ['i-0000000000000000a', 'i-0000000000000000b'];
        b.primary = { instanceId: 'i-0fedcba9876543210', region: 'us-east-1', additionalInstanceIds: ['i-0000000000000000b'] };
      },
      [`groups[1].primary.additionalInstanceIds[0]: is also a writer of group "orders" (groups[0].primary.additionalInstanceIds[1]): ${LOCKS}, so both could fence and fail over the same instance at once, got "i-0000000000000000b"`],
    ],
    [
      "an additional candidate that is the other group's replica",
      (b) => (b.additionalReplicas = [{ dbInstanceIdentifier: 'orders-replica', region: 'us-west-2' }]),
      [`groups[1].additionalReplicas[0].dbInstanceIdentifier: is also a candidate replica of group "orders" (groups[0].replica.dbInstanceIdentifier): ${LOCKS}, so both could promote it at once and point their records at it, got "orders-replica"`],
    ],
    [
      'the same source database, once as an identifier and once as an ARN in the same region',
      (b, o) => {
        o.replica.source = 'orders-primary-db';
        b.replica = { ...b.replica, region: 'us-west-2', source: 'arn:aws:rds:us-west-2:123456789012:db:orders-primary-db' };
      },
      [
        `groups[1].replica.source: is also the source database of group "orders" (groups[0].replica.source): a failover of either group would fence the other's database, and ${LOCKS}, so both could promote a replica of it at once; make them one group (additionalReplicas), got "arn:aws:rds:us-west-2:123456789012:db:orders-primary-db"`,
      ],
    ],
    [
      'the same record in the same hosted zone, written differently',
      (b) => (b.dns = { hostedZoneId: 'Z0EXAMPLE1234567890AB', zoneName: 'example.com', records: [{ name: 'billing.example.com', type: 'A', values: ['198.51.100.30'] }, { name: 'API.Orders.example.com.', type: 'AAAA', values: ['2001:db8::30'] }] }),
      [`groups[1].dns.records[1].name: is also a record of group "orders" (groups[0].dns.records[1].name) in hosted zone Z0EXAMPLE1234567890AB: ${LOCKS}, so both could change it at once, each to its own replica, got "API.Orders.example.com."`],
    ],
  ];

  it.each(cases)('%s', (_, share, expected) => {
    expect(problemsWith(share)).toEqual(expected);
  });

  it('accepts the same identifiers in other regions, and the same record name in another hosted zone', () => {
    const config = valid();
    const other = billing();
    // Instance ids and DB identifiers are per region; a zone of the same name (split-horizon) is another zone.
    other.primary = { instanceId: 'i-0a1b2c3d4e5f60718', region: 'us-east-2' };
    other.replica = { ...other.replica, dbInstanceIdentifier: 'orders-replica', region: 'us-east-2', source: 'orders-primary-db' };
    other.dns = { hostedZoneId: 'Z0PRIVATE1234567890AB', zoneName: 'example.com', records: [{ name: 'db.orders.example.com', type: 'CNAME', target: 'replicaEndpoint' }] };
    config.groups.push(other);

    expect(parseConfig(config).groups.map((g) => g.name)).toEqual(['orders', 'billing']);
  });

  it('names the first group that has the resource, once for each later group', () => {
    // ledger and audit each have billing's instance, and their own replica, source and record.
    const sharing = (name: string) => ({
      ...billing(),
      name,
      replica: { ...billing().replica, dbInstanceIdentifier: `${name}-replica`, source: `${name}-primary-db` },
      dns: { ...billing().dns, records: [{ name: `db.${name}.example.net`, type: 'CNAME', target: 'replicaEndpoint' }] },
    });
    const config = valid();
    config.groups.push(billing(), sharing('ledger'), sharing('audit'));

    expect(configError(config).problems).toEqual([
      `groups[2].primary.instanceId: is also a writer of group "billing" (groups[1].primary.instanceId): ${LOCKS}, so both could fence and fail over the same instance at once, got "i-0fedcba9876543210"`,
      `groups[3].primary.instanceId: is also a writer of group "billing" (groups[1].primary.instanceId): ${LOCKS}, so both could fence and fail over the same instance at once, got "i-0fedcba9876543210"`,
    ]);
  });

  it('reports a resource listed twice in one group as a duplicate there, not as shared', () => {
    const problems = problemsOf((c) => (c.groups[0].primary.additionalInstanceIds = ['i-0a1b2c3d4e5f60718']));

    expect(problems).toEqual(['groups[0].primary.additionalInstanceIds[0]: duplicates primary.instanceId, got "i-0a1b2c3d4e5f60718"']);
  });
});

/** A tcp probe of the orders database with `timeoutMs`. */
const tcp = (timeoutMs: number) => ({ type: 'tcp', host: '10.0.1.25', port: 5432, timeoutMs });

describe('parseConfig: the probe function\'s reserved concurrency', () => {
  it('reserves 3 by default, takes 2 to 10, and "none" for an account that cannot reserve any', () => {
    expect(parseConfig(valid()).probeFunction).toEqual({ reservedConcurrency: 3 });
    for (const reservedConcurrency of [2, 4, 'none'] as const) {
      const config = valid();
      config.probeFunction = { reservedConcurrency };
      expect(parseConfig(config).probeFunction.reservedConcurrency).toBe(reservedConcurrency);
    }
  });

  it('rejects 1 (two invocations can overlap), 0, and anything else, with one line', () => {
    for (const bad of [1, 0, 11, 'off', 2.5]) {
      expect(problemsOf((c) => (c.probeFunction = { reservedConcurrency: bad })), String(bad)).toEqual([
        `probeFunction.reservedConcurrency: must be a whole number from 2 to 10, or "none", got ${JSON.stringify(bad)}`,
      ]);
    }
  });
});

describe('parseConfig: observability.dashboard', () => {
  it('is on by default, and may be turned off', () => {
    expect(parseConfig(valid()).observability).toEqual({ dashboard: true });
    const config = valid();
    config.observability = { dashboard: false };
    expect(parseConfig(config).observability).toEqual({ dashboard: false });
  });

  it('rejects anything but true or false, naming the field and the value', () => {
    for (const bad of ['no', 0, null]) {
      expect(problemsOf((c) => (c.observability = { dashboard: bad })), String(bad)).toEqual([`observability.dashboard: must be true or false, got ${JSON.stringify(bad)}`]);
    }
  });
});

describe('parseConfig: what confirms an automatic trigger (groups[].confirmation)', () => {
  it('rejects a group with alarms and no probes that does not opt out, saying what to do', () => {
    const problems = problemsOf((c) => {
      c.groups[0].alarms = ['orders-primary-status-check-failed'];
    });

    expect(problems).toEqual([
      'groups[0].confirmation: is required for a group with alarms and no probes: nothing could confirm the outage an alarm reports. Add probes to confirm against, or set confirmation to "none" to fail over on the alarm alone',
    ]);
  });

  it('accepts the explicit opt-out for an alarm-only group, and probes as the confirmation of a probed group', () => {
    const config = valid();
    config.groups[0].alarms = ['orders-primary-status-check-failed'];
    config.groups[0].confirmation = 'none';
    const other = billing();
    other.alarms = ['billing-primary-down'];
    other.probes = [tcp(2000)];
    config.groups.push(other);

    expect(parseConfig(config).groups.map((g) => [g.name, g.confirmation])).toEqual([
      ['orders', 'none'],
      ['billing', 'probes'],
    ]);
  });

  it('a parsed config parses again: a manual-only group (no probes, no alarms) keeps the default "probes"', () => {
    const parsed = parseConfig(valid());
    expect(parsed.groups[0].confirmation).toBe('probes');
    expect(parseConfig(parsed)).toEqual(parsed);
  });

  it('rejects "probes" without probes (for a group with alarms) and "none" with probes, and an unknown value', () => {
    const config = valid();
    config.groups[0].confirmation = 'probes';
    config.groups[0].alarms = ['orders-primary-down'];
    const probed = billing();
    probed.probes = [tcp(2000)];
    probed.confirmation = 'none';
    const unknown = { ...billing(), name: 'ledger', primary: { instanceId: 'i-0fedcba9876543211', region: 'eu-west-1' }, replica: { ...billing().replica, dbInstanceIdentifier: 'ledger-replica', source: 'ledger-primary-db' }, dns: { ...billing().dns, records: [{ name: 'db.ledger.example.net', type: 'CNAME', target: 'replicaEndpoint' }] }, confirmation: 'alarm' };
    config.groups.push(probed, unknown);

    expect(configError(config).problems).toEqual([
      'groups[0].confirmation: needs at least one probe in probes[] to confirm against; add probes, or set "none" to fail over on the alarm alone, got "probes"',
      'groups[1].confirmation: cannot be "none" for a group with probes: the probes are its confirmation (remove confirmation, or set "probes"), got "none"',
      'groups[2].confirmation: must be "probes" or "none", got "alarm"',
    ]);
  });
});

describe('parseConfig: a probe\'s own CA (groups[].probes[].ca)', () => {
  const root = readFileSync(join(__dirname, '..', '..', 'lib', 'bench', 'tls', 'root-ca.pem'), 'utf8');
  const selfSigned = readFileSync(join(__dirname, '..', 'support', 'tls', 'untrusted-cert.pem'), 'utf8');
  const probeWith = (over: object) => (c: any) => (c.groups[0].probes = [{ type: 'http', url: 'https://api.orders.example.com/health', ...over }]);

  it('keeps one or more PEM certificates for an https:// probe', () => {
    const config = valid();
    probeWith({ ca: `${root}\n${selfSigned}` })(config);

    expect(parseConfig(config).groups[0].probes[0]).toMatchObject({ type: 'http', ca: `${root}\n${selfSigned}` });
  });

  it('takes the scheme in any case, as the probe does: HTTPS:// is https://', () => {
    const config = valid();
    probeWith({ url: 'HTTPS://api.orders.example.com/health', ca: root })(config);

    expect(parseConfig(config).groups[0].probes[0]).toMatchObject({ ca: root });
  });

  it.each([
    ['on a plain http:// probe', { url: 'http://api.orders.example.com/health', ca: root }, /^groups\[0\]\.probes\[0\]\.ca: is only for https:\/\/ URLs: a plain http:\/\/ probe checks no certificate, got "-----BEGIN CERTIFICATE-----\\n/],
    ['not PEM', { ca: 'our-internal-ca' }, /^groups\[0\]\.probes\[0\]\.ca: must hold PEM certificates \(-----BEGIN CERTIFICATE----- \.\.\. -----END CERTIFICATE-----\) and nothing else, got "our-internal-ca"$/],
    ['a certificate followed by something else', { ca: `${root}\nsee the wiki` }, /^groups\[0\]\.probes\[0\]\.ca: must hold PEM certificates .* and nothing else, got "-----BEGIN/],
    ['a certificate whose bytes are damaged', { ca: root.replace(/\n[A-Za-z0-9+/]{64}\n/, '\nAAAA\n') }, /^groups\[0\]\.probes\[0\]\.ca: certificate 1 of 1 is not a certificate OpenSSL can read, got "-----BEGIN/],
    ['a whole system store', { ca: root.repeat(15) }, /^groups\[0\]\.probes\[0\]\.ca: must be at most 16384 characters \(a few certificates\), got "-----BEGIN/],
  ])('rejects a ca %s, naming the field and the value', (_, over, expected) => {
    const problems = problemsOf(probeWith(over));

    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(expected);
  });
});

describe('parseConfig: probe timeouts', () => {

  it('rejects a probe timeout longer than the round interval, with both numbers', () => {
    const problems = problemsOf((c) => {
      c.groups[0].detection = { intervalSeconds: 10 };
      c.groups[0].probes = [tcp(2000), tcp(15000)];
    });

    expect(problems).toEqual([
      'groups[0].probes[1].timeoutMs: must not be longer than detection.intervalSeconds (10 s, 10000 ms): a round would still be probing when the next one is due, got 15000',
    ]);
  });

  it('rejects a probe timeout the confirmation step cannot wait out within its Lambda timeout', () => {
    const problems = problemsOf((c) => {
      c.groups[0].detection = { intervalSeconds: 30 };
      c.groups[0].probes = [{ type: 'http', url: 'https://api.orders.example.com/health', timeoutMs: 26000 }];
    });

    expect(problems).toEqual([
      'groups[0].probes[0].timeoutMs: must be at most 25000 ms: the confirmation step waits out its probes within its 30 s Lambda timeout and needs 5 s of it for its own work, so a probe of a dead primary would time the step out, got 26000',
    ]);
  });

  it('accepts a timeout equal to the interval, and 25000 ms with a longer interval', () => {
    const config = valid();
    config.groups[0].detection = { intervalSeconds: 10 };
    config.groups[0].probes = [tcp(10000)];
    const other = billing();
    other.detection = { intervalSeconds: 60 };
    other.probes = [tcp(25000)];
    config.groups.push(other);

    expect(parseConfig(config).groups.map((g) => g.probes[0].timeoutMs)).toEqual([10000, 25000]);
  });
});

describe('parseConfig: several groups', () => {
  it('accepts groups that share nothing (the example and another)', () => {
    const config = valid();
    config.groups.push(billing(), { ...billing(), name: 'ledger', primary: { instanceId: 'i-0fedcba9876543211', region: 'eu-west-1' }, replica: { ...billing().replica, dbInstanceIdentifier: 'ledger-replica', source: 'ledger-primary-db' }, dns: { ...billing().dns, records: [{ name: 'db.ledger.example.net', type: 'CNAME', target: 'replicaEndpoint' }] } });

    expect(parseConfig(config).groups.map((g) => g.name)).toEqual(['orders', 'billing', 'ledger']);
  });

  it('lists sharing, probe timeouts and field problems together, in one error', () => {
    const config = valid();
    const other = billing();
    other.primary.instanceId = 'i-0a1b2c3d4e5f60718';
    other.primary.region = 'us-east-1';
    other.dns = { hostedZoneId: 'Z0EXAMPLE1234567890AB', zoneName: 'example.com', records: [{ name: 'db.orders.example.com', type: 'CNAME', target: 'replicaEndpoint', ttl: 900 }] };
    other.probes = [tcp(12000)];
    config.groups.push(other);

    const error = configError(config, 'failover.config.json');

    expect(error.problems).toEqual([
      'groups[1].dns.records[0].ttl: must be between 5 and 300 seconds, got 900',
      'groups[1].probes[0].timeoutMs: must not be longer than detection.intervalSeconds (10 s, 10000 ms): a round would still be probing when the next one is due, got 12000',
      `groups[1].primary.instanceId: is also a writer of group "orders" (groups[0].primary.instanceId): ${LOCKS}, so both could fence and fail over the same instance at once, got "i-0a1b2c3d4e5f60718"`,
      `groups[1].dns.records[0].name: is also a record of group "orders" (groups[0].dns.records[0].name) in hosted zone Z0EXAMPLE1234567890AB: ${LOCKS}, so both could change it at once, each to its own replica, got "db.orders.example.com"`,
    ]);
    expect(error.message.split('\n')[0]).toBe('failover.config.json is not a valid failover config (4 problems):');
  });
});

describe('loadConfigFile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'failover-config-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('rejects a file that is not JSON, naming the file', () => {
    // Arrange
    const path = join(dir, 'broken.json');
    writeFileSync(path, '{ "groups": [ { "name": "orders", } ] }');

    // Act
    let error: unknown;
    try {
      loadConfigFile(path);
    } catch (err) {
      error = err;
    }

    // Assert
    expect(error).toBeInstanceOf(ConfigError);
    const { problems, message, source } = error as ConfigError;
    expect(source).toBe(path);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^is not valid JSON: /);
    expect(message).toBe(`${path} is not a valid failover config (1 problem):\n  ${problems[0]}`);
  });

  it('gives the line and column of a JSON syntax error, so an editor can go there', () => {
    const path = join(dir, 'trailing-comma.json');
    writeFileSync(path, '{\n  "groups": [],\n}\n');
    expect(() => loadConfigFile(path)).toThrow(/is not valid JSON: .*position 18 \(line 3, column 1\)$/);
  });

  it('reads a file that starts with a UTF-8 byte order mark as if it had none', () => {
    const path = join(dir, 'bom.json');
    writeFileSync(path, `\uFEFF${JSON.stringify(valid())}`);
    expect(loadConfigFile(path).groups[0].name).toBe('orders');
  });

  it('rejects a missing file, naming it', () => {
    const path = join(dir, 'missing.json');

    expect(() => loadConfigFile(path)).toThrow(
      `${path} is not a valid failover config (1 problem):\n  cannot be read: ENOENT: no such file or directory, open '${path}'`,
    );
  });

  it('reports the problems of a file that parses as JSON, with the file as the source', () => {
    const path = join(dir, 'bad-ttl.json');
    const config = valid();
    config.groups[0].dns.records[1].ttl = 900;
    writeFileSync(path, JSON.stringify(config));

    expect(() => loadConfigFile(path)).toThrow(
      `${path} is not a valid failover config (1 problem):\n  groups[0].dns.records[1].ttl: must be between 5 and 300 seconds, got 900`,
    );
  });

  it('loads a valid file with comments', () => {
    const path = join(dir, 'ok.json');
    writeFileSync(path, JSON.stringify({ '//': 'comment', ...valid() }));

    expect(loadConfigFile(path).groups[0].name).toBe('orders');
  });
});

describe('parseConfig: candidate replicas (additionalReplicas, valuesByReplica)', () => {
  it('a group with one replica has no additional candidates, and means just that one', () => {
    const group = parseConfig(valid()).groups[0];

    expect(group.additionalReplicas).toEqual([]);
    expect(replicaCandidates(group)).toEqual([{ dbInstanceIdentifier: 'orders-replica', region: 'us-west-2', source: 'orders-primary-db', maxLagSeconds: 30 }]);
  });

  it('lists further candidates after replica, sharing its source and maxLagSeconds, with per-candidate record values', () => {
    const config = valid();
    config.groups[0].replica = { ...config.groups[0].replica, source: 'arn:aws:rds:us-east-1:123456789012:db:orders-primary', maxLagSeconds: 10 };
    config.groups[0].additionalReplicas = [{ dbInstanceIdentifier: 'orders-replica-east', region: 'us-east-2' }];
    config.groups[0].dns.records[1].valuesByReplica = { 'orders-replica-east': ['203.0.113.20'] };

    const group = parseConfig(config).groups[0];

    expect(replicaCandidates(group).map((c) => [c.dbInstanceIdentifier, c.region, c.source, c.maxLagSeconds])).toEqual([
      ['orders-replica', 'us-west-2', 'arn:aws:rds:us-east-1:123456789012:db:orders-primary', 10],
      ['orders-replica-east', 'us-east-2', 'arn:aws:rds:us-east-1:123456789012:db:orders-primary', 10],
    ]);
    expect(group.dns.records[1].valuesByReplica).toEqual({ 'orders-replica-east': ['203.0.113.20'] });
  });

  it('reports every candidate problem at once', () => {
    const problems = problemsOf((c) => {
      c.groups[0].additionalReplicas = [
        { dbInstanceIdentifier: 'orders-replica', region: 'eu-west-1' },
        { dbInstanceIdentifier: 'orders-replica-east', region: 'us-east-2' },
        { dbInstanceIdentifier: 'orders-replica-east', region: 'us-east-2' },
        { dbInstanceIdentifier: '9bad', region: 'us-east-2' },
      ];
      c.groups[0].dns.records[0].valuesByReplica = { 'orders-replica-east': ['east.example.com'] };
      c.groups[0].dns.records[1].valuesByReplica = { 'orders-replica-east': ['not-an-ip'], 'orders-replica-north': ['203.0.113.9'] };
    });

    expect(problems).toEqual([
      'groups[0].additionalReplicas[3].dbInstanceIdentifier: must be an RDS DB instance identifier: a letter, then letters, digits or single hyphens, at most 63 characters, got "9bad"',
      'groups[0].additionalReplicas[0].dbInstanceIdentifier: duplicates replica.dbInstanceIdentifier, got "orders-replica"',
      'groups[0].additionalReplicas[2].dbInstanceIdentifier: duplicates additionalReplicas[1].dbInstanceIdentifier, got "orders-replica-east"',
      'groups[0].dns.records[0].valuesByReplica: needs values, used when another candidate is promoted, got {"orders-replica-east":["east.example.com"]}',
      'groups[0].dns.records[1].valuesByReplica.orders-replica-east[0]: must be an IPv4 address, got "not-an-ip"',
      'groups[0].dns.records[1].valuesByReplica.orders-replica-north: is not a candidate replica of this group (orders-replica, orders-replica-east, 9bad), got ["203.0.113.9"]',
    ]);
  });
});
