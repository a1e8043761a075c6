/**
 * The benchmark: how fast and how cheaply the controller acts, measured on this machine.
 *
 *   npm run bench                   the full run, as a table with a PASS/SHORT column and the methods
 *   npm run bench -- --json         one JSON object instead
 *   npm run bench -- --quick        the same measurements, smaller (what `npm test` runs)
 *   npm run bench -- --seed 7       place the simulated outages with another seed
 *
 * Exit codes: 0 the run completed (whatever the verdicts: a SHORT is a finding, not an error);
 * 1 a measurement failed; 2 bad usage.
 */
import { parseArgs } from 'node:util';
import { DEFAULT_SEED, formatBench, runBench } from '../lib/bench/run';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
process.env.CDK_DISABLE_CLI_TELEMETRY ??= 'true';

const USAGE = `Usage: npm run bench -- [--json] [--quick] [--seed N]

Measures detection time, controller overhead, added latency, state transitions per failover, each
Lambda's bundle size and cold load, a 500-endpoint probe round and the monthly cost, and prints them
with their targets.

Options:
  --json     print one JSON object (every figure with its method) instead of the table
  --quick    the same measurements, smaller (4 outages per setting, 2 failover runs, 50 endpoints, 1 load sample)
  --seed N   seed of the PRNG that places the simulated outages (default ${DEFAULT_SEED})`;

async function main(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        json: { type: 'boolean', default: false },
        quick: { type: 'boolean', default: false },
        seed: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
    }));
  } catch (err) {
    console.error(`${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  let seed = DEFAULT_SEED;
  if (values.seed !== undefined) {
    seed = Number(values.seed);
    if (!/^\d+$/.test(values.seed) || !Number.isSafeInteger(seed) || seed > 0xffffffff) {
      console.error(`--seed must be a whole number from 0 to 4294967295, got: ${values.seed}\n\n${USAGE}`);
      return 2;
    }
  }
  const report = await runBench({ quick: values.quick, seed, progress: (line) => process.stderr.write(`bench: ${line}\n`) });
  console.log(values.json ? JSON.stringify(report, null, 2) : formatBench(report));
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`bench failed: ${(err as Error)?.stack ?? err}`);
    process.exit(1);
  },
);
