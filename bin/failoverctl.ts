/**
 * failoverctl: the operator's CLI. This version has `drill`; status, history, failover and the rest
 * come with the CLI issue.
 *
 *   failoverctl drill                              the default scenario (primary-down), as a timeline
 *   failoverctl drill --scenario fence-stuck --json
 *   failoverctl drill --list
 *
 * Exit codes: 0 the drill behaved as expected; 1 it did not; 2 bad usage or config.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfigFile } from '../lib/config';
import { formatReport, runScenario } from '../lib/drill/report';
import { SCENARIOS } from '../lib/drill/scenarios';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const USAGE = `Usage: failoverctl drill [--scenario NAME] [--json] [--force] [--list] [--config PATH]

Runs the real failover workflow against a simulated AWS account, locally, and reports what it did.

Options:
  --scenario NAME   which scenario (default primary-down); --list names them
  --json            print one JSON report instead of the timeline
  --force           pass force: true in the execution input (overrides the replica-lag gate)
  --config PATH     the config to drill (default failover.config.json beside the package)
  --list            list the scenarios, one line each

Example:
  failoverctl drill --scenario replica-lagging --force`;

class UsageError extends Error {}

async function drill(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      scenario: { type: 'string', default: 'primary-down' },
      json: { type: 'boolean', default: false },
      force: { type: 'boolean', default: false },
      list: { type: 'boolean', default: false },
      config: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (values.list) {
    const width = Math.max(...SCENARIOS.map((s) => s.name.length));
    for (const s of SCENARIOS) console.log(`${s.name.padEnd(width)}  ${s.summary}`);
    return 0;
  }
  if (!SCENARIOS.some((s) => s.name === values.scenario)) {
    throw new UsageError(`unknown scenario ${JSON.stringify(values.scenario)}; known scenarios: ${SCENARIOS.map((s) => s.name).join(', ')}`);
  }
  const config = loadConfigFile(values.config ?? resolve(__dirname, '..', 'failover.config.json'));
  const report = await runScenario(config, values.scenario!, { force: values.force });
  console.log(values.json ? JSON.stringify(report, null, 2) : formatReport(report));
  return report.passed ? 0 : 1;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command === 'drill') return await drill(rest);
    if (command === '--help' || command === '-h' || command === undefined) {
      console.log(USAGE);
      return command === undefined ? 2 : 0;
    }
    throw new UsageError(`unknown command ${JSON.stringify(command)}; available: drill`);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      return 2;
    }
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      console.error(`failoverctl: ${(err as Error).message}`);
      return 2;
    }
    throw err;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(`failoverctl: ${(err as Error).stack ?? String(err)}`);
    process.exitCode = 1;
  },
);
