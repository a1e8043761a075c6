/**
 * The dashboard and the alarms (lib/observability.ts) and the topic's key they need, as synthesized:
 * each alarm's metric, statistic, period, evaluation, threshold, missing-data rule and action; the
 * dashboard's widgets by the metrics they show, with every token resolved for a fixed account and
 * region.
 */
import { readFileSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { resolveIntrinsics } from '../../lib/infra/template-tokens';
import { parseConfig } from '../../lambdas/core/config';
import { heartbeatThreshold, OUTCOMES } from '../../lib/infra/observability';
import { FailoverControllerStack } from '../../lib/infra/stack';

const ACCOUNT = '111122223333';
const REGION = 'us-west-2';

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

const exampleRaw = JSON.parse(readFileSync(resolvePath(__dirname, '..', '..', 'failover.config.json'), 'utf8')) as Json;

/** The example (orders: three probes, threshold 3), billing (one probe, threshold 2) and ledger (no probes). */
function threeGroupsRaw(): Json {
  const raw = structuredClone(exampleRaw);
  const base = raw.groups[0];
  raw.groups.push(
    {
      ...structuredClone(base),
      name: 'billing',
      primary: { instanceId: 'i-0fedcba9876543210', region: 'eu-west-1' },
      replica: { dbInstanceIdentifier: 'billing-replica', region: 'eu-central-1', source: 'billing-primary-db', sourceVpcId: 'vpc-0db0000000000000a' },
      dns: { ...base.dns, records: [{ name: 'db.billing.example.com', type: 'CNAME', target: 'replicaEndpoint' }] },
      probes: [{ type: 'tcp', host: '10.1.0.5', port: 5432 }],
      detection: { intervalSeconds: 5, failureThreshold: 2 },
      alarms: [],
    },
    {
      ...structuredClone(base),
      name: 'ledger',
      primary: { instanceId: 'i-0123456789abcdef0', region: 'eu-west-1' },
      replica: { dbInstanceIdentifier: 'ledger-replica', region: 'eu-central-1', source: 'ledger-primary-db', sourceVpcId: 'vpc-0db0000000000000a' },
      dns: { ...base.dns, records: [{ name: 'db.ledger.example.com', type: 'CNAME', target: 'replicaEndpoint' }] },
      probes: [],
      alarms: [],
    },
  );
  return raw;
}

const resolveTokens = (value: unknown, resources: Record<string, Json>): Json =>
  resolveIntrinsics(value, resources, { account: ACCOUNT, region: REGION });

/** One metric of a dashboard widget, from CloudWatch's `[namespace, name, dim, value, ..., {options}]`. */
interface WidgetMetric {
  namespace: string;
  metricName: string;
  dimensions: Record<string, string>;
  stat?: string;
  period?: number;
  label?: string;
}
interface Widget {
  type: string;
  title?: string;
  view?: string;
  metrics: WidgetMetric[];
  properties: Json;
}

function widgetsOf(body: Json): Widget[] {
  return (body.widgets as Json[]).map((w) => ({
    type: w.type,
    title: w.properties.title,
    view: w.properties.view,
    properties: w.properties,
    metrics: ((w.properties.metrics ?? []) as Json[][]).map((m) => {
      const options = typeof m[m.length - 1] === 'object' ? (m[m.length - 1] as Json) : {};
      const [namespace, metricName, ...rest] = m.filter((x) => typeof x === 'string') as string[];
      const dimensions: Record<string, string> = {};
      for (let i = 0; i < rest.length; i += 2) dimensions[rest[i]] = rest[i + 1];
      // CloudWatch's default statistic is Average; CDK leaves it out then.
      return { namespace, metricName, dimensions, stat: options.stat ?? 'Average', period: options.period, label: options.label };
    }),
  }));
}

interface Synthesized {
  template: Template;
  resources: Record<string, Json>;
  resolve: (value: unknown) => Json;
  topicArn: string;
  stateMachineArn: string;
  probeFunctionName?: string;
  readinessFunctionName: string;
  /** Alarms by AlarmName, their properties resolved. */
  alarms: Map<string, Json>;
  widgets: Widget[];
}

function synthesize(raw: Json): Synthesized {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new FailoverControllerStack(app, 'Obs', { config: parseConfig(raw), env: { account: ACCOUNT, region: REGION } });
  const template = Template.fromStack(stack);
  const resources = template.toJSON().Resources as Record<string, Json>;
  const resolve = (value: unknown) => resolveTokens(value, resources);
  const idOf = (type: string) => Object.keys(template.findResources(type))[0];
  const alarms = new Map<string, Json>();
  for (const alarm of Object.values(template.findResources('AWS::CloudWatch::Alarm'))) {
    const properties = resolve(alarm.Properties);
    alarms.set(properties.AlarmName, properties);
  }
  const [dashboard] = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
  if (!dashboard) throw new Error('synthesize() reads the dashboard: give it a config that has one');
  const probeFunction = stack.controller.detection.probeFunction;
  return {
    template,
    resources,
    resolve,
    topicArn: resolve({ Ref: idOf('AWS::SNS::Topic') }),
    stateMachineArn: resolve({ Ref: idOf('AWS::StepFunctions::StateMachine') }),
    probeFunctionName: probeFunction ? resolve(stack.resolve(probeFunction.functionName)) : undefined,
    readinessFunctionName: resolve(stack.resolve(stack.controller.readiness.function.functionName)),
    alarms,
    widgets: widgetsOf(JSON.parse(resolve(dashboard.Properties.DashboardBody))),
  };
}

let three: Synthesized;
let unprobed: Synthesized;
beforeAll(() => {
  three = synthesize(threeGroupsRaw());
  const raw = structuredClone(exampleRaw);
  raw.groups[0].probes = [];
  // Its alarms alone would then fail it over: the config must say so.
  raw.groups[0].confirmation = 'none';
  unprobed = synthesize(raw);
});

/** The alarm's metric and evaluation, as a reader of the console would list them. */
function evaluation(alarm: Json) {
  return {
    namespace: alarm.Namespace,
    metricName: alarm.MetricName,
    dimensions: Object.fromEntries((alarm.Dimensions ?? []).map((d: Json) => [d.Name, d.Value])),
    statistic: alarm.Statistic,
    period: alarm.Period,
    evaluationPeriods: alarm.EvaluationPeriods,
    datapointsToAlarm: alarm.DatapointsToAlarm,
    threshold: alarm.Threshold,
    comparison: alarm.ComparisonOperator,
    treatMissingData: alarm.TreatMissingData,
  };
}
const anyInAMinute = { statistic: 'Sum', period: 60, evaluationPeriods: 1, datapointsToAlarm: undefined, threshold: 1, comparison: 'GreaterThanOrEqualToThreshold', treatMissingData: 'notBreaching' };

describe('alarms', () => {
  it('has exactly these alarms: the workflow, the ABORTED outcome, the probe function, ONE watcher across the groups, readiness, undelivered events', () => {
    expect([...three.alarms.keys()].sort()).toEqual(
      [
        'Obs-groups-not-ready',
        'Obs-no-probe-rounds',
        'Obs-outcome-aborted',
        'Obs-probe-errors',
        'Obs-undelivered-events',
        'Obs-workflow-aborted',
        'Obs-workflow-failed',
        'Obs-workflow-timed-out',
      ].sort(),
    );
  });

  it('undelivered events: any message in the dead-letter queue, the maximum over five minutes; a silent queue keeps the state, and it says when the queue is empty again', () => {
    const alarm = three.alarms.get('Obs-undelivered-events');
    const [queueId] = Object.keys(three.template.findResources('AWS::SQS::Queue'));
    expect(evaluation(alarm)).toEqual({
      namespace: 'AWS/SQS',
      metricName: 'ApproximateNumberOfMessagesVisible',
      dimensions: { QueueName: `${queueId}.QueueName` },
      statistic: 'Maximum',
      period: 300,
      evaluationPeriods: 1,
      datapointsToAlarm: undefined,
      threshold: 1,
      comparison: 'GreaterThanOrEqualToThreshold',
      treatMissingData: 'ignore',
    });
    expect(alarm.OKActions).toEqual([three.topicArn]);
  });

  it('notifies the controller topic from every alarm', () => {
    for (const [name, alarm] of three.alarms) {
      expect(alarm.AlarmActions, name).toEqual([three.topicArn]);
      expect(String(alarm.AlarmDescription).length, `${name}: says what it means`).toBeGreaterThan(40);
    }
  });

  it.each([
    ['Obs-workflow-failed', 'ExecutionsFailed'],
    ['Obs-workflow-timed-out', 'ExecutionsTimedOut'],
    ['Obs-workflow-aborted', 'ExecutionsAborted'],
  ])('%s: AWS/States %s of the state machine, any in a minute', (name, metricName) => {
    expect(evaluation(three.alarms.get(name))).toEqual({
      namespace: 'AWS/States',
      metricName,
      dimensions: { StateMachineArn: three.stateMachineArn },
      ...anyInAMinute,
    });
  });

  it('the ABORTED outcome (an execution that succeeds): Executions with Outcome ABORTED, across groups', () => {
    expect(evaluation(three.alarms.get('Obs-outcome-aborted'))).toEqual({
      namespace: 'FailoverController',
      metricName: 'Executions',
      dimensions: { Outcome: 'ABORTED' },
      ...anyInAMinute,
    });
  });

  it('the probe function: AWS/Lambda Errors, any in five minutes', () => {
    expect(evaluation(three.alarms.get('Obs-probe-errors'))).toEqual({
      namespace: 'AWS/Lambda',
      metricName: 'Errors',
      dimensions: { FunctionName: three.probeFunctionName },
      ...anyInAMinute,
      period: 300,
    });
  });

  it('the watcher: fewer probe rounds (no dimension, summed a minute) than every shard counts, 3 periods, missing data breaching; it also says when watching resumes', () => {
    const alarm = three.alarms.get('Obs-no-probe-rounds');
    expect(evaluation(alarm)).toEqual({
      namespace: 'FailoverController',
      metricName: 'ProbeRounds',
      dimensions: {},
      statistic: 'Sum',
      period: 60,
      evaluationPeriods: 3,
      datapointsToAlarm: undefined,
      // One shard: no round at all.
      threshold: 1,
      comparison: 'LessThanThreshold',
      treatMissingData: 'breaching',
    });
    expect(alarm.OKActions).toEqual([three.topicArn]);
  });

  it('the watcher with several shards: alarms when one shard\'s rounds are missing', () => {
    const detection = { intervalSeconds: 10, failureThreshold: 3, quorum: 'majority', cooldownMinutes: 30 };
    const groups = Array.from({ length: 150 }, (_, i) => ({ name: `g${i}`, detection, probes: [{}, {}] })) as unknown as Parameters<typeof heartbeatThreshold>[0];
    // 300 probes: two shards of 75 groups, 6 rounds a minute each: 900 a minute, 450 per shard.
    expect(heartbeatThreshold(groups)).toBe(900 - 450 + 1);
  });

  it('without probes: no probe function alarm and no watcher', () => {
    expect([...unprobed.alarms.keys()].sort()).toEqual(['Obs-groups-not-ready', 'Obs-outcome-aborted', 'Obs-undelivered-events', 'Obs-workflow-aborted', 'Obs-workflow-failed', 'Obs-workflow-timed-out']);
  });

  it('readiness: one metric-math alarm over two readiness intervals (15 min each by default): the function\'s AWS/Lambda Invocations and Errors and GroupsNotReady, missing data breaching; it also says when all are ready again', () => {
    const alarm = three.alarms.get('Obs-groups-not-ready');
    expect(alarm).toMatchObject({ EvaluationPeriods: 1, Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold', TreatMissingData: 'breaching' });
    expect(alarm.MetricName).toBeUndefined();
    const queries = alarm.Metrics as Json[];
    expect(queries.filter((q) => q.ReturnData).map((q) => q.Expression)).toEqual(['IF(FILL(invocations, 0) < 1, 1, 0) + FILL(errors, 0) + FILL(notReady, 0)']);
    const readiness = [{ Name: 'FunctionName', Value: three.readinessFunctionName }];
    expect(Object.fromEntries(queries.filter((q) => q.MetricStat).map((q) => [q.Id, q.MetricStat]))).toEqual({
      invocations: { Metric: { Namespace: 'AWS/Lambda', MetricName: 'Invocations', Dimensions: readiness }, Period: 1800, Stat: 'Sum' },
      errors: { Metric: { Namespace: 'AWS/Lambda', MetricName: 'Errors', Dimensions: readiness }, Period: 1800, Stat: 'Sum' },
      // No dimension: the document the readiness function writes (test/readiness).
      notReady: { Metric: { Namespace: 'FailoverController', MetricName: 'GroupsNotReady' }, Period: 1800, Stat: 'Maximum' },
    });
    expect(alarm.OKActions).toEqual([three.topicArn]);
  });

  /**
   * The readiness alarm's state for one period, from what CloudWatch holds for it: the expression
   * evaluated as the CloudWatch User Guide ("Metric math syntax and functions") defines it, FILL filling
   * a missing value, arithmetic treating a missing value as 0 (a sum of nothing but missing values is
   * missing), a comparison or IF of a missing value missing; then the alarm's threshold and its
   * missing-data rule. `undefined`: nothing recorded in the period. The guide does not say whether FILL
   * makes values for a metric with no datapoint at all in the range (GroupsNotReady in a healthy month,
   * Invocations of a function that never runs): `fillsEmpty` says which to assume, and the tests try both.
   */
  function readinessAlarmState(expression: string, values: Record<string, number | undefined>, treatMissingData: string, fillsEmpty: boolean): 'ALARM' | 'OK' {
    const tokens = expression.match(/[A-Za-z_]\w*|\d+|[(),+<]/g)!;
    let i = 0;
    const next = () => tokens[i++];
    const expect_ = (t: string) => {
      if (next() !== t) throw new Error(`expected ${t} in ${expression}`);
    };
    const primary = (): number | undefined => {
      const t = next();
      if (/^\d+$/.test(t)) return Number(t);
      if (t === 'FILL') {
        expect_('(');
        const v = sum();
        expect_(',');
        const fill = sum();
        expect_(')');
        return v ?? (fillsEmpty ? fill : undefined);
      }
      if (t === 'IF') {
        expect_('(');
        const cond = comparison();
        expect_(',');
        const whenTrue = sum();
        expect_(',');
        const whenFalse = sum();
        expect_(')');
        return cond === undefined ? undefined : cond !== 0 ? whenTrue : whenFalse;
      }
      if (t === '(') {
        const v = comparison();
        expect_(')');
        return v;
      }
      if (!(t in values)) throw new Error(`unknown id ${t}`);
      return values[t];
    };
    const sum = (): number | undefined => {
      let v = primary();
      while (tokens[i] === '+') {
        next();
        const w = primary();
        v = v === undefined && w === undefined ? undefined : (v ?? 0) + (w ?? 0);
      }
      return v;
    };
    const comparison = (): number | undefined => {
      const v = sum();
      if (tokens[i] !== '<') return v;
      next();
      const w = sum();
      return v === undefined || w === undefined ? undefined : v < w ? 1 : 0;
    };
    const value = sum();
    if (i !== tokens.length) throw new Error(`unparsed: ${tokens.slice(i).join(' ')}`);
    if (value === undefined) return treatMissingData === 'breaching' ? 'ALARM' : 'OK';
    return value >= 1 ? 'ALARM' : 'OK';
  }

  // What happened in the two intervals of one period: Invocations and Errors (Sum), GroupsNotReady (Maximum).
  it.each<{ what: string; invocations?: number; errors?: number; notReady?: number; state: 'ALARM' | 'OK' }>([
    { what: 'it ran, every group ready (GroupsNotReady not sent)', invocations: 2, errors: 0, notReady: undefined, state: 'OK' },
    { what: 'it ran, Lambda sent no Errors datapoint', invocations: 2, errors: undefined, notReady: undefined, state: 'OK' },
    { what: 'it ran once (one run late), every group ready', invocations: 1, errors: 0, notReady: undefined, state: 'OK' },
    { what: 'a group not ready', invocations: 2, errors: 0, notReady: 1, state: 'ALARM' },
    { what: 'one run failed (a timeout, a crash), the other found every group ready', invocations: 2, errors: 1, notReady: undefined, state: 'ALARM' },
    { what: 'every run failed before it wrote anything', invocations: 2, errors: 2, notReady: undefined, state: 'ALARM' },
    { what: 'a run failed after it found a group not ready', invocations: 2, errors: 1, notReady: 1, state: 'ALARM' },
    { what: 'no run: nothing recorded at all', invocations: undefined, errors: undefined, notReady: undefined, state: 'ALARM' },
    { what: 'no run, and Lambda recorded a zero', invocations: 0, errors: 0, notReady: undefined, state: 'ALARM' },
  ])('the readiness alarm, $what: $state', ({ invocations, errors, notReady, state }) => {
    const alarm = three.alarms.get('Obs-groups-not-ready');
    const expression = (alarm.Metrics as Json[]).find((q) => q.ReturnData).Expression as string;
    for (const fillsEmpty of [true, false]) {
      expect(readinessAlarmState(expression, { invocations, errors, notReady }, alarm.TreatMissingData, fillsEmpty), `FILL fills an empty series: ${fillsEmpty}`).toBe(state);
    }
  });
});

/** What limits the CloudWatch service principal: this account, and the alarms of this stack (named Obs-...). */
const fromTheStacksAlarms = {
  StringEquals: { 'aws:SourceAccount': ACCOUNT },
  ArnLike: { 'aws:SourceArn': `arn:aws:cloudwatch:${REGION}:${ACCOUNT}:alarm:Obs-*` },
};

describe('the topic and its key', () => {
  it('is a customer-managed, rotated key that only this stack\'s alarms, through CloudWatch, may use to publish to the topic', () => {
    const [topic] = Object.values(three.template.findResources('AWS::SNS::Topic'));
    const keyId = topic.Properties.KmsMasterKeyId['Fn::GetAtt'][0];
    const key = three.resources[keyId];
    expect(key.Type).toBe('AWS::KMS::Key');
    expect(key.Properties.EnableKeyRotation).toBe(true);
    const statements = three.resolve(key.Properties.KeyPolicy.Statement) as Json[];
    expect(statements.filter((s) => s.Principal?.Service === 'cloudwatch.amazonaws.com')).toEqual([
      expect.objectContaining({ Effect: 'Allow', Action: ['kms:Decrypt', 'kms:GenerateDataKey*'], Resource: '*', Condition: fromTheStacksAlarms }),
    ]);
  });

  it('has a topic policy that lets this stack\'s alarms publish (an explicit policy replaces SNS\'s default one) and denies publishing without TLS', () => {
    const [policy] = Object.values(three.template.findResources('AWS::SNS::TopicPolicy'));
    const statements = three.resolve(policy.Properties.PolicyDocument.Statement) as Json[];
    expect(statements).toEqual([
      expect.objectContaining({ Effect: 'Deny', Principal: '*', Action: 'sns:Publish', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
      { Sid: 'ControllerAlarmsPublish', Effect: 'Allow', Principal: { Service: 'cloudwatch.amazonaws.com' }, Action: 'sns:Publish', Resource: three.topicArn, Condition: fromTheStacksAlarms },
    ]);
  });

  it('names every alarm that notifies the topic so that the policies\' aws:SourceArn pattern covers it', () => {
    for (const s of [three, unprobed]) {
      const notifying = [...s.alarms.values()].filter((a) => [...(a.AlarmActions ?? []), ...(a.OKActions ?? [])].includes(s.topicArn));
      expect(notifying.length).toBe(s.alarms.size);
      for (const a of notifying) expect(a.AlarmName, 'matches arn:...:alarm:Obs-*').toMatch(/^Obs-/);
    }
  });

  it('may be used by the three publishers, the notify step, the probe function and the readiness function, and by no other function', () => {
    const [topic] = Object.values(three.template.findResources('AWS::SNS::Topic'));
    const keyArn = three.resolve(topic.Properties.KmsMasterKeyId);
    const users = new Set<string>();
    for (const policy of Object.values(three.template.findResources('AWS::IAM::Policy'))) {
      for (const st of three.resolve(policy.Properties.PolicyDocument.Statement) as Json[]) {
        if (![st.Resource].flat().includes(keyArn)) continue;
        expect([st.Action].flat().sort()).toEqual(['kms:Decrypt', 'kms:GenerateDataKey*']);
        // Only through SNS: the role cannot use the key for anything else.
        expect(st.Condition).toEqual({ StringEquals: { 'kms:ViaService': `sns.${REGION}.amazonaws.com` } });
        for (const role of policy.Properties.Roles) users.add(three.resources[role.Ref].Properties.Description);
      }
    }
    expect([...users].sort()).toEqual([
      'failover-controller workflow step: notify',
      'failover-controller: checks that a failover of each group would work (readiness)',
      'failover-controller: probes the primaries and starts the workflow when one is down',
    ]);
  });
});

describe('dashboard', () => {
  const titled = (s: Synthesized, pattern: RegExp) => {
    const found = s.widgets.filter((w) => pattern.test(w.title ?? ''));
    expect(found.map((w) => w.title), String(pattern)).toHaveLength(1);
    return found[0];
  };
  const expressionsOf = (w: Widget) => (w.properties.metrics as Json[][]).map((m) => m.find((x) => typeof x === 'object' && x.expression)?.expression);
  const shown = (w: Widget) => w.metrics.map(({ namespace, metricName, dimensions, stat }) => ({ namespace, metricName, dimensions, stat }));
  const controller = (metricName: string, dimensions: Record<string, string>, stat: string) => ({ namespace: 'FailoverController', metricName, dimensions, stat });

  it('is one dashboard, named in the stack outputs', () => {
    three.template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    const id = Object.keys(three.template.findResources('AWS::CloudWatch::Dashboard'))[0];
    three.template.hasOutput('DashboardName', { Value: { Ref: id } });
  });

  it('is left out with observability.dashboard false, and every alarm stays', () => {
    const raw = threeGroupsRaw();
    raw.observability = { dashboard: false };
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const template = Template.fromStack(new FailoverControllerStack(app, 'Obs', { config: parseConfig(raw), env: { account: ACCOUNT, region: REGION } }));

    template.resourceCountIs('AWS::CloudWatch::Dashboard', 0);
    expect(Object.keys(template.findOutputs('DashboardName'))).toEqual([]);
    const names = (t: Template) => Object.values(t.findResources('AWS::CloudWatch::Alarm')).map((a) => JSON.stringify(a.Properties.AlarmName)).sort();
    expect(names(template)).toEqual(names(three.template));
    expect(names(template).length).toBeGreaterThan(0);
  });

  it('shows the probe rounds per minute across the groups (counted, failed, void, not queued) against the watcher\'s threshold, and the probe function', () => {
    const w = titled(three, /^Probe rounds per minute, all groups/);
    expect(shown(w)).toEqual([controller('ProbeRounds', {}, 'Sum'), controller('FailedRounds', {}, 'Sum'), controller('VoidRounds', {}, 'Sum'), controller('RoundsNotQueued', {}, 'Sum')]);
    expect(w.properties.annotations.horizontal).toEqual([expect.objectContaining({ value: 1 })]);
    expect(shown(titled(three, /^Probe function$/))).toEqual([
      { namespace: 'AWS/Lambda', metricName: 'Invocations', dimensions: { FunctionName: three.probeFunctionName }, stat: 'Sum' },
      { namespace: 'AWS/Lambda', metricName: 'Errors', dimensions: { FunctionName: three.probeFunctionName }, stat: 'Sum' },
    ]);
  });

  it('shows the failing groups\' consecutive failed rounds by one SEARCH (the same size for 1 group or 1,000), against each failure threshold', () => {
    const w = titled(three, /^Failing groups: consecutive failed rounds/);
    expect(expressionsOf(w)).toEqual([`SEARCH('{FailoverController,Group} MetricName="ConsecutiveFailures"', 'Maximum', 60)`]);
    expect(w.properties.annotations.horizontal).toEqual([
      expect.objectContaining({ value: 3, label: 'down at 3 (orders)' }),
      expect.objectContaining({ value: 2, label: 'down at 2 (billing)' }),
    ]);
  });

  it('shows each failed or void round with every probe\'s outcome, from the probe function\'s log', () => {
    const w = three.widgets.find((x) => x.type === 'log')!;
    expect(w.properties.title).toMatch(/^Failed and void probe rounds/);
    expect(w.properties.query).toContain('filter message in ["probe round", "probe round void", "probe hold"] and level != "INFO"');
    expect(w.properties.query).toMatch(/^SOURCE '\/aws\/lambda\/|^SOURCE '/);
  });

  it('shows the executions by outcome, every outcome, summed over its time range', () => {
    const w = titled(three, /^Executions by outcome/);
    expect(shown(w)).toEqual(OUTCOMES.map((o) => controller('Executions', { Outcome: o }, 'Sum')));
    expect(w.view).toBe('singleValue');
    expect(w.properties).toMatchObject({ setPeriodToTimeRange: true, start: '-P30D' });
  });

  it("shows the last failovers' RTO and data-loss estimate of every group that failed over, over 90 days", () => {
    const expected = [
      `SEARCH('{FailoverController,Group} MetricName="RtoSeconds"', 'Maximum', 3600)`,
      `SEARCH('{FailoverController,Group} MetricName="DataLossSeconds"', 'Maximum', 3600)`,
    ];
    const last = titled(three, /^Last failover/);
    expect(expressionsOf(last)).toEqual(expected);
    expect(last.view).toBe('singleValue');
    const history = titled(three, /^Failovers/);
    expect(expressionsOf(history)).toEqual(expected);
    for (const w of [last, history]) expect(w.properties.start).toBe('-P90D');
  });

  it("shows the workflow's failed, timed-out and aborted executions (AWS/States, this state machine)", () => {
    const states = (metricName: string) => ({ namespace: 'AWS/States', metricName, dimensions: { StateMachineArn: three.stateMachineArn }, stat: 'Sum' });
    expect(shown(titled(three, /^Workflow: failed, timed out and aborted/))).toEqual([
      states('ExecutionsStarted'),
      states('ExecutionsFailed'),
      states('ExecutionsTimedOut'),
      states('ExecutionsAborted'),
    ]);
  });

  it('shows the state of every alarm', () => {
    const w = three.widgets.find((x) => x.type === 'alarm')!;
    const alarmArns = Object.keys(three.template.findResources('AWS::CloudWatch::Alarm')).map((id) => three.resolve({ 'Fn::GetAtt': [id, 'Arn'] }));
    expect([...w.properties.alarms].sort()).toEqual(alarmArns.sort());
  });

  it('without probes: no probe widgets, the workflow widgets still there', () => {
    expect(unprobed.widgets.filter((w) => /^(Probe|Failing|Failed and void)/.test(w.title ?? ''))).toEqual([]);
    titled(unprobed, /^Executions by outcome/);
    titled(unprobed, /^Workflow: failed, timed out and aborted/);
    titled(unprobed, /^Last failover/);
  });
});
