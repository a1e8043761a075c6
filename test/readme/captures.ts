/**
 * Every README example that shows what the program prints, produced by running the program: each has
 * an id, marked in README.md by `<!-- capture: <id> -->` right before its fence, and a function that
 * produces exactly that block. test/readme/readme.test.ts compares them; `UPDATE_README=1 npx vitest run
 * test/readme` writes them.
 *
 * failoverctl runs in-process (test/cli/support.ts runCli) with TZ=Asia/Tokyo and the operator
 * alice@ops-1, against a drill standing in for the deployed controller (test/cli/drill-deployment.ts):
 * the simulated AWS account, the drill's table on dynalite, and Step Functions answered from real runs
 * of the workflow. Examples the README tells as one story run in one drill, in the order it tells them.
 * What an example leaves out (`...`) is left out by a rule of transcript.ts, never by hand.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DescribeExecutionCommand, SFNClient } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { ConfigError, parseConfig } from '../../lambdas/core/config';
import { lockTtlSeconds } from '../../lambdas/core/budgets';
import { groupDigests } from '../../lambdas/core/deployed-group';
import { loadCliConfig } from '../../lib/cli/deployment';
import { formatReport, runScenario } from '../../lib/drill/report';
import { PreparedWorkflows } from '../../lib/runner/prepared-workflow';
import { synthFor } from '../../lib/runner/synth';
import { DrillDeployment } from '../cli/drill-deployment';
import { CONFIG, ROOT, runCli, type CliRun, type RunOptions } from '../cli/support';
import { compactJson, cutLine, keepSection, omitBefore, omitPlan, statusRow, transcript, type Shown } from './transcript';

export interface Capture {
  id: string;
  /** What produces it, in a few words. */
  runs: string;
  produce(): Promise<string>;
  /**
   * Parts that differ from run to run (wall-clock measurements): compared as "any value", and kept as
   * the README has them when nothing else changed.
   */
  volatile?: RegExp[];
}

/** Where the examples show the operator's directory (the capture runs in a temporary one). */
export const OPERATOR_DIR = '/home/ops/failover-controller';

/** The drill report's wall-clock figure. */
const OVERHEAD = /controller overhead: \d+ ms/g;

const exampleConfigText = () => readFileSync(CONFIG, 'utf8');

/** Run `produce` once, however many captures read its results. */
function once<T>(produce: () => Promise<T>): () => Promise<T> {
  let result: Promise<T> | undefined;
  return () => (result ??= produce());
}

/** A story: several captures from one run, in order. */
type Story = Map<string, string>;

/** One command in a drill deployment, as the README shows it. */
async function shown(d: DrillDeployment, argv: string[], look: Shown = {}, options: Omit<RunOptions, 'cwd'> = {}): Promise<string> {
  const run = await d.run(argv, options);
  return transcript(argv, withOperatorDir(d, run), look);
}

/** The temporary directory the capture ran in, shown as the operator's. */
function withOperatorDir(d: DrillDeployment, run: CliRun): CliRun {
  const swap = (s: string) => s.split(d.cwd).join(OPERATOR_DIR);
  return { ...run, stdout: swap(run.stdout), stderr: swap(run.stderr), output: swap(run.output) };
}

// --- the operator's story: status, break-glass, status, history, refusals, rearm, pause -------------

const BREAK_GLASS_REASON = 'Step Functions unavailable in us-west-2, INC-4711';

/** The config once the operator described the topology after the failover: the promoted database is the source now. */
function newTopology(text: string): string {
  const raw = JSON.parse(text);
  const group = raw.groups[0];
  group.description = 'Orders API: EC2 primary in us-west-2, Postgres read replica in us-east-1';
  group.primary = { instanceId: 'i-0fedcba9876543210', region: 'us-west-2' };
  group.replica = {
    ...group.replica,
    dbInstanceIdentifier: 'orders-replica-2',
    region: 'us-east-1',
    source: 'arn:aws:rds:us-west-2:123456789012:db:orders-replica',
    sourceVpcId: 'vpc-0fedcba9876543210',
  };
  group.dns.records = group.dns.records.map((r: { type: string }) => (r.type === 'A' ? { ...r, values: ['192.0.2.10'] } : r));
  return `${JSON.stringify(raw, null, 2)}\n`;
}

const operatorStory = once(async (): Promise<Story> => {
  const d = await DrillDeployment.create();
  const story: Story = new Map();
  try {
    // The deployed probe function has watched the group for two minutes.
    await d.drill.watch(2);
    await d.advance(2);
    story.set('status-armed', await shown(d, ['status']));

    // `cdk deploy` on the operator's machine, a day ago, left the workflow for break-glass (bin/app.ts).
    const cache = mkdtempSync(join(tmpdir(), 'failover-cache-'));
    const workflows = new PreparedWorkflows(cache);
    const deployed = loadCliConfig(undefined, d.cwd).config;
    workflows.save(deployed, synthFor(deployed), 'cdk synth', d.drill.account.clock.now() - 86_400_000);
    const failover = ['failover', 'orders', '--local', '--reason', BREAK_GLASS_REASON];
    const refused = await shown(d, failover, { exit: true }, { deps: { workflows } });
    await d.advance(3);
    const ran = await shown(d, ['failover', 'orders', '--local', '--yes', '--reason', BREAK_GLASS_REASON], { exit: true, comment: 'plan lines omitted', rule: omitPlan({ keepTitle: true }) }, { deps: { workflows } });
    rmSync(cache, { recursive: true, force: true });
    story.set('failover-local', `${refused}\n\n${ran}`);

    await d.advance(90);
    story.set('status-failed-over', await shown(d, ['status']));
    story.set('status-json', withOperatorDir(d, await d.run(['status', 'orders', '--json'])).stdout.trimEnd());
    story.set('history', await shown(d, ['history']));
    // The record is long: steps and dnsChanges cut to one entry each, nested objects on one line.
    const history = JSON.parse((await d.run(['history', '--json'])).stdout) as { items: Array<Record<string, unknown[]>> };
    for (const item of history.items) {
      item.steps = item.steps.slice(0, 1);
      item.dnsChanges = item.dnsChanges.slice(0, 1);
    }
    story.set('history-json', compactJson(history, 3));

    await d.advance(60);
    story.set('pause-failed-over', [
      await shown(d, ['pause', 'orders', '--reason', 'db upgrade'], { exit: true }),
      await shown(d, ['resume', 'orders'], { exit: true }),
    ].join('\n\n'));
    await d.advance(30);
    story.set('rearm-refused', await shown(d, ['rearm', 'orders'], { exit: true }));

    // The operator describes the new topology and deploys it (the definition embeds the groups).
    const text = newTopology(exampleConfigText());
    d.writeConfig(text);
    const definition = structuredClone(d.sfn.deployedDefinition);
    definition.States.Plan.Parameters.groupDigests = groupDigests(parseConfig(JSON.parse(text)).groups);
    d.sfn.deployedDefinition = definition;
    await d.advance(600);
    story.set('rearm', await shown(d, ['rearm', 'orders', '--reason', 'new primary i-0fedcba9876543210 in us-west-2, config deployed'], { exit: true }));

    await d.advance(120);
    const pause = await shown(d, ['pause', 'orders', '--reason', 'database upgrade, CHG-1234'], { exit: true });
    await d.advance(5);
    const status = await shown(d, ['status'], { exit: true });
    await d.advance(1800);
    const resume = await shown(d, ['resume', 'orders', '--reason', 'upgrade done'], { exit: true });
    await d.advance(10);
    const again = await shown(d, ['resume', 'orders', '--json'], { exit: true });
    story.set('pause-resume', [pause, status, resume, again].join('\n\n'));
    return story;
  } finally {
    await d.close();
  }
});

// --- readiness: ready, then drift ----------------------------------------------------------------

const readinessStory = once(async (): Promise<Story> => {
  const d = await DrillDeployment.create();
  const story: Story = new Map();
  const { account } = d.drill;
  const zone = 'Z0EXAMPLE1234567890AB';
  try {
    await d.drill.watch(2);
    const firstRun = account.clock.now();
    await d.drill.evaluateReadiness();
    await d.advance(1);
    story.set('check-ready', await shown(d, ['check'], { exit: true }));

    // Someone raises the database record's TTL, turns the API record into an alias of a load balancer,
    // puts the primary in an Auto Scaling group and deletes the alarm; the probes go on.
    const db = account.record(zone, 'db.orders.example.com', 'CNAME')!;
    account.putRecord(zone, { ...db, ttl: 3600 });
    account.putRecord(zone, {
      name: 'api.orders.example.com', type: 'A', ttl: 0, values: [],
      alias: { dnsName: 'orders-alb-1234567890.us-east-1.elb.amazonaws.com', hostedZoneId: 'Z35SXDOTRQ7X7K', evaluateTargetHealth: true },
    });
    account.autoscaling.addGroup({ name: 'orders-asg', region: 'us-east-1', instanceIds: ['i-0a1b2c3d4e5f60718'] });
    account.cloudwatch.removeAlarm('orders-primary-status-check-failed', 'us-west-2');
    await d.drill.watch(15);
    // The readiness function's next scheduled run, 15 minutes after the first.
    await d.drill.advanceTo(firstRun + 15 * 60_000);
    await d.drill.evaluateReadiness();
    // The README says the function notified the change (and only that).
    const subjects = account.published.map((m) => m.subject);
    if (JSON.stringify(subjects) !== JSON.stringify(['failover-controller: orders is NOT READY for a failover'])) {
      throw new Error(`the readiness function published ${JSON.stringify(subjects)}; the README's prose around check-not-ready says otherwise`);
    }
    await d.advance(1);
    story.set('check-not-ready', await shown(d, ['check'], { exit: true }));
    await d.advance(3);
    // Only the readiness row of the status, each problem cut to a line.
    story.set('status-readiness', statusRow('readiness')((await d.run(['status'])).stdout.split('\n')).map((l) => cutLine(l, 130)).join('\n'));
    return story;
  } finally {
    await d.close();
  }
});

// --- failover and switchover in Step Functions ---------------------------------------------------

const REASON = 'primary unreachable since 08:58, INC-4711';

const stepFunctionsStory = once(async (): Promise<Story> => {
  const story: Story = new Map();
  const failover = ['failover', 'orders', '--reason', REASON];

  const d = await DrillDeployment.create();
  try {
    story.set('failover-confirmation', [
      await shown(d, failover, { exit: true, comment: 'stdin not a terminal', rule: omitPlan() }, { tty: { stdin: false } }),
      await shown(d, failover, { exit: true, rule: omitPlan() }, { answer: 'n' }),
    ].join('\n\n'));
    story.set('failover', await shown(d, failover, {}, { answer: 'y' }));
  } finally {
    await d.close();
  }

  // The primary never finishes stopping (as in the drill's fence-stuck scenario).
  const stuck = await DrillDeployment.create();
  try {
    stuck.drill.account.setBehavior('i-0a1b2c3d4e5f60718', { stopNeverCompletes: true });
    story.set('failover-fence-failed', await shown(stuck, [...failover, '--yes'], {
      exit: true,
      // The plan and the steps before the fence's last poll.
      rule: omitBefore(/ failed: /, /^ +\+\S+ s?\s+fence /),
    }));
  } finally {
    await stuck.close();
  }

  for (const [id, json] of [['failover-no-wait', false], ['failover-no-wait-json', true]] as const) {
    const n = await DrillDeployment.create();
    try {
      const argv = [...failover, '--yes', '--no-wait', ...(json ? ['--json'] : [])];
      story.set(id, json ? (await n.run(argv)).stdout.trimEnd() : await shown(n, argv, { exit: true, rule: omitPlan() }));
    } finally {
      await n.close();
    }
  }
  return story;
});

// --- unlock: a lock left by an execution stopped from the console ---------------------------------

const unlockStory = once(async (): Promise<Story> => {
  const d = await DrillDeployment.create();
  try {
    const { drill } = d;
    const holder = `${drill.stateMachineArn.replace(':stateMachine:', ':execution:')}:manual-orders-20260101T000000Z`;
    // As the AcquireLock step takes it: for the longest any execution can run, plus a margin.
    await drill.store.acquireLock('orders', holder, drill.account.clock.now(), lockTtlSeconds(drill.config.groups));
    await d.advance(20 * 60);
    // Step Functions says RUNNING, and after the operator stopped it from the console, ABORTED.
    const sfn = new SFNClient({ region: 'us-west-2', credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'example' } });
    const described = { executionArn: holder, startDate: new Date(drill.account.clock.now() - 20 * 60_000) };
    mockClient(sfn).on(DescribeExecutionCommand).resolvesOnce({ ...described, status: 'RUNNING' }).resolves({ ...described, status: 'ABORTED', stopDate: new Date(drill.account.clock.now()) });
    const deps = { clients: { sfn: () => sfn } } as unknown as RunOptions['deps'];
    const refused = await shown(d, ['unlock', 'orders'], { exit: true }, { deps });
    await d.advance(60);
    const released = await shown(d, ['unlock', 'orders'], { exit: true }, { deps });
    return new Map([['unlock', `${refused}\n\n${released}`]]);
  } finally {
    await d.close();
  }
});

// --- errors --------------------------------------------------------------------------------------

/** The SDK's own configuration sources, emptied: no region, no profile, no credentials anywhere. */
async function withBareAwsEnvironment<T>(env: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  const saved = { ...process.env };
  for (const key of Object.keys(process.env)) {
    if (/^AWS_(REGION|DEFAULT_REGION|PROFILE|DEFAULT_PROFILE|ACCESS_KEY_ID|SECRET_ACCESS_KEY|SESSION_TOKEN|ENDPOINT_URL.*|CONTAINER_.*|WEB_IDENTITY_TOKEN_FILE|ROLE_ARN|CONFIG_FILE|SHARED_CREDENTIALS_FILE)$/.test(key)) delete process.env[key];
  }
  Object.assign(process.env, {
    AWS_CONFIG_FILE: resolve(ROOT, 'test', 'readme', 'no-such-aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: resolve(ROOT, 'test', 'readme', 'no-such-aws-credentials'),
    AWS_EC2_METADATA_DISABLED: 'true',
    ...env,
  });
  try {
    return await fn();
  } finally {
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
  }
}

const errorsStory = once(async (): Promise<Story> => {
  const blocks: string[] = [];
  // The CLI's own AWS clients, configured by the environment alone.
  const bare = async (argv: string[], env: Record<string, string>, comment: string) => {
    const run = await withBareAwsEnvironment(env, () => runCli(argv, { env }));
    return transcript(argv, run, { env, comment, exit: true });
  };
  blocks.push(await bare(['status'], {}, 'no AWS_REGION, no profile'));
  blocks.push(await bare(['status'], { AWS_REGION: 'us-west-2' }, 'no credentials anywhere'));
  blocks.push(await bare(['status'], { AWS_REGION: 'us-west-2', AWS_PROFILE: 'ops' }, 'a profile that is not there'));
  const d = await DrillDeployment.create();
  try {
    blocks.push(await shown(d, ['status', '--stack-name', 'FailoverControler'], { exit: true }));
    blocks.push(await shown(d, ['failover', 'payments', '--reason', 'x'], { exit: true }));
    blocks.push(await shown(d, ['status', '--limit', '5'], { exit: true }));
    blocks.push(await shown(d, ['history', '--limit', '0'], { exit: true }));
  } finally {
    await d.close();
  }
  return new Map([['errors', blocks.join('\n\n')]]);
});

// --- the drill -----------------------------------------------------------------------------------

/**
 * What `failoverctl drill [--scenario NAME]` prints from the project directory: the report of the
 * scenario on the example config. The command (lib/drill/drill-command.ts) loads lib/drill/report.ts
 * with a lazy `require`, which vitest does not resolve for TypeScript; so the capture calls what the
 * command calls, the same way: loadCliConfig, runScenario, formatReport.
 */
async function drillRun(scenario = 'primary-down'): Promise<CliRun> {
  const { config } = loadCliConfig(undefined, ROOT);
  const report = await runScenario(config, scenario, { force: false });
  const output = `${formatReport(report)}\n`;
  return { code: report.passed ? 0 : 1, stdout: output, stderr: '', output };
}

/** What `npm start` prints: npm's banner for the script, then the drill. */
async function npmStart(): Promise<string> {
  const pkg = JSON.parse(readFileSync(resolve(ROOT, 'package.json'), 'utf8')) as { name: string; version: string; scripts: Record<string, string> };
  if (pkg.scripts.start !== 'node bin/failoverctl.js drill') throw new Error(`npm start runs ${pkg.scripts.start}, not the drill: change the capture`);
  const run = await drillRun();
  return ['$ npm start', '', `> ${pkg.name}@${pkg.version} start`, `> ${pkg.scripts.start}`, '', run.output.trimEnd()].join('\n');
}

// --- the config ----------------------------------------------------------------------------------

/** What the synth prints for a config with two mistakes (`cdk synth -c config=config.json`). */
async function invalidConfig(): Promise<string> {
  const raw = JSON.parse(exampleConfigText());
  raw.groups[0].primary.instanceId = 'i-123';
  raw.groups[0].dns.records[1].ttl = 900;
  try {
    parseConfig(raw, 'config.json');
  } catch (err) {
    if (err instanceof ConfigError) return err.message;
    throw err;
  }
  throw new Error('the config with two mistakes was accepted');
}

// --- usage lines ---------------------------------------------------------------------------------

/** The first line of `failoverctl <command> --help` for each command, without its `Usage: `. */
async function usage(...commands: string[]): Promise<string> {
  const lines: string[] = [];
  for (const command of commands) {
    const run = await runCli([command, '--help']);
    const first = run.stdout.split('\n')[0];
    if (!first.startsWith('Usage: ')) throw new Error(`failoverctl ${command} --help does not start with its usage: ${first}`);
    lines.push(first.slice('Usage: '.length));
  }
  return lines.join('\n');
}

// --- the registry ------------------------------------------------------------------------------

const fromStory = (story: () => Promise<Story>, id: string) => async () => {
  const text = (await story()).get(id);
  if (text === undefined) throw new Error(`the story produced no capture ${id}`);
  return text;
};

const usageOf = (...commands: string[]): Capture => ({
  id: `usage-${commands.join('-')}`,
  runs: commands.map((c) => `failoverctl ${c} --help, its first line`).join('; '),
  produce: () => usage(...commands),
});

export const CAPTURES: Capture[] = [
  usageOf('status'),
  usageOf('history'),
  usageOf('failover'),
  usageOf('switchover'),
  usageOf('pause', 'resume'),
  usageOf('rearm'),
  usageOf('drill'),
  { id: 'npm-start', runs: 'npm start: failoverctl drill (scenario primary-down), with npm\'s banner', produce: npmStart, volatile: [OVERHEAD] },
  { id: 'config-invalid', runs: 'the config schema on the example config with a short instance id and a TTL of 900', produce: invalidConfig },
  { id: 'check-ready', runs: 'readiness drill: the probes watch 2 min, the readiness function runs, then failoverctl check', produce: fromStory(readinessStory, 'check-ready') },
  { id: 'check-not-ready', runs: 'readiness drill: TTL raised, alias, Auto Scaling group, alarm deleted; 15 min later the readiness function, then failoverctl check', produce: fromStory(readinessStory, 'check-not-ready') },
  { id: 'status-armed', runs: 'operator drill: the probes watch 2 min, then failoverctl status', produce: fromStory(operatorStory, 'status-armed') },
  { id: 'status-readiness', runs: 'readiness drill: failoverctl status after the drift, its readiness row', produce: fromStory(readinessStory, 'status-readiness') },
  { id: 'status-failed-over', runs: 'operator drill: failoverctl status after failover --local', produce: fromStory(operatorStory, 'status-failed-over') },
  { id: 'status-json', runs: 'operator drill: failoverctl status orders --json, at the same moment', produce: fromStory(operatorStory, 'status-json') },
  { id: 'history', runs: 'operator drill: failoverctl history', produce: fromStory(operatorStory, 'history') },
  { id: 'history-json', runs: 'operator drill: failoverctl history --json, steps and dnsChanges cut to one each', produce: fromStory(operatorStory, 'history-json') },
  { id: 'failover', runs: 'failoverctl failover, answered y; Step Functions answered from a drill run of the workflow', produce: fromStory(stepFunctionsStory, 'failover') },
  { id: 'failover-fence-failed', runs: 'failoverctl failover --yes; the drill\'s primary never finishes stopping', produce: fromStory(stepFunctionsStory, 'failover-fence-failed') },
  { id: 'failover-confirmation', runs: 'failoverctl failover without a terminal, then answered n', produce: fromStory(stepFunctionsStory, 'failover-confirmation') },
  { id: 'failover-no-wait', runs: 'failoverctl failover --yes --no-wait', produce: fromStory(stepFunctionsStory, 'failover-no-wait') },
  { id: 'failover-no-wait-json', runs: 'failoverctl failover --yes --no-wait --json', produce: fromStory(stepFunctionsStory, 'failover-no-wait-json') },
  { id: 'failover-local', runs: 'operator drill: failoverctl failover --local without --yes, then with --yes', produce: fromStory(operatorStory, 'failover-local') },
  { id: 'drill-switchover', runs: 'failoverctl drill --scenario switchover', produce: async () => transcript(['drill', '--scenario', 'switchover'], await drillRun('switchover')), volatile: [OVERHEAD] },
  { id: 'pause-resume', runs: 'operator drill, after rearm: pause, status, resume, resume --json', produce: fromStory(operatorStory, 'pause-resume') },
  { id: 'pause-failed-over', runs: 'operator drill, after the failover: pause and resume refused', produce: fromStory(operatorStory, 'pause-failed-over') },
  { id: 'rearm-refused', runs: 'operator drill: rearm with the config unchanged', produce: fromStory(operatorStory, 'rearm-refused') },
  { id: 'rearm', runs: 'operator drill: rearm once the config names the new topology and is deployed', produce: fromStory(operatorStory, 'rearm') },
  { id: 'unlock', runs: 'failoverctl unlock twice: a lock held by an execution Step Functions (mocked) says is RUNNING, then ABORTED', produce: fromStory(unlockStory, 'unlock') },
  {
    id: 'drill-fence-stuck',
    runs: 'failoverctl drill --scenario fence-stuck, up to the end of its timeline',
    produce: async () => transcript(['drill', '--scenario', 'fence-stuck'], await drillRun('fence-stuck'), { rule: keepSection(/^Timeline/) }),
  },
  { id: 'errors', runs: 'failoverctl with no region, no credentials, a missing profile, a misspelt stack, an unknown group, bad flags', produce: fromStory(errorsStory, 'errors') },
];
