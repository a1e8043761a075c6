/**
 * The process onLambdaNode (lambda-node.ts) starts on the Lambda runtime's Node: reads
 * `{ name, args }` from stdin, runs that measurement, and writes `{ result, node }` to file descriptor 3
 * (stdout is the measured code's own: the probe minute captures what Powertools writes there).
 */
import { writeSync } from 'node:fs';
import { MEASUREMENTS, nodeHere, type MeasurementName } from './lambda-node';

async function main(): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const { name, args } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { name: MeasurementName; args: unknown[] };
  const measure = MEASUREMENTS[name] as (...a: unknown[]) => Promise<unknown>;
  if (typeof measure !== 'function') throw new Error(`no measurement named ${JSON.stringify(name)}`);
  const result = await measure(...args);
  const out = Buffer.from(JSON.stringify({ result, node: nodeHere(true) }), 'utf8');
  for (let written = 0; written < out.length; ) written += writeSync(3, out, written);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
