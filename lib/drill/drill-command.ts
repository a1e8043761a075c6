/**
 * `failoverctl drill`: the real workflow against a simulated AWS account, locally (see lib/drill/).
 */
import { EXIT, GLOBAL_OPTIONS_HELP, UsageError, parseCommandArgs } from '../cli/args';
import { loadCliConfig } from '../cli/deployment';
import type { Command } from '../cli/io';
import { SCENARIOS } from './scenarios';

const OPTIONS = {
  scenario: { type: 'string' },
  json: { type: 'boolean' },
  force: { type: 'boolean' },
  list: { type: 'boolean' },
  config: { type: 'string' },
} as const;

const help = `Usage: failoverctl drill [--scenario NAME] [--json] [--force] [--list] [--config PATH]

Runs the real failover workflow against a simulated AWS account, locally, and reports what it did.
No AWS account or credentials are used.

Options:
  --scenario NAME   which scenario (default primary-down); --list names them
  --json            print one JSON report instead of the timeline
  --force           pass force: true in the execution input (overrides the replica-lag gate)
  --config PATH     the config to drill (default: failover.config.json in the current directory,
                    else the one shipped with the package)
  --list            list the scenarios, one line each (with --json: [{ name, summary, kind }])
${GLOBAL_OPTIONS_HELP}

Exits 0 when the controller behaved as the scenario expects, 1 when it did not, 2 on usage or config errors.

Example:
  failoverctl drill --scenario replica-lagging --force`;

export const drillCommand: Command = {
  name: 'drill',
  summary: 'run the real workflow against a simulated AWS account, locally (no AWS needed)',
  help,
  async run(ctx, args) {
    const { values } = parseCommandArgs('drill', args, OPTIONS);
    if (values.help) {
      ctx.out.line(help);
      return EXIT.OK;
    }
    if (values.list && values.json) {
      ctx.out.json(SCENARIOS.map((s) => ({ name: s.name, summary: s.summary, kind: s.readiness ? 'readiness' : 'failover' })));
      return EXIT.OK;
    }
    if (values.list) {
      const width = Math.max(...SCENARIOS.map((s) => s.name.length));
      for (const s of SCENARIOS) ctx.out.line(`${s.name.padEnd(width)}  ${s.summary}`);
      return EXIT.OK;
    }
    const scenario = values.scenario ?? 'primary-down';
    if (!SCENARIOS.some((s) => s.name === scenario)) {
      throw new UsageError(`drill: unknown scenario ${JSON.stringify(scenario)}; known scenarios: ${SCENARIOS.map((s) => s.name).join(', ')}`);
    }
    const { config } = loadCliConfig(values.config, ctx.cwd);
    // The drill synthesizes the stack: load the CDK only when a drill runs.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { formatReport, runScenario } = require('./report') as typeof import('./report');
    const report = await runScenario(config, scenario, { force: values.force === true });
    ctx.out.line(values.json ? JSON.stringify(report, null, 2) : formatReport(report));
    return report.passed ? EXIT.OK : EXIT.NOT_SUCCEEDED;
  },
};
