/**
 * Probes from a process that has run out of file descriptors, as a Lambda environment past its 1,024
 * does: the real check-endpoint code in a child process allowed 30 descriptors (ulimit -n), so the
 * kernel refuses most of its sockets with EMFILE. What checkAll made of that comes back as JSON.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import type { ProbeResult } from '../../lambdas/probe/check-endpoint';

/** 60 TCP probes of 127.0.0.1:`port` from such a process. */
export async function probesOutOfDescriptors(port: number): Promise<ProbeResult[]> {
  // Plain JavaScript for the crowded process: a TypeScript loader needs descriptors of its own.
  const dir = mkdtempSync(join(tmpdir(), 'emfile-'));
  try {
    const bundle = join(dir, 'check-endpoint.js');
    await build({ entryPoints: [resolve(__dirname, '..', '..', 'lambdas/probe/check-endpoint.ts')], bundle: true, platform: 'node', format: 'cjs', outfile: bundle, logLevel: 'silent' });
    const script = [
      `const { checkAll } = require(${JSON.stringify(bundle)});`,
      `const probes = Array.from({ length: 60 }, (_, i) => ({ type: 'tcp', name: 'p' + i, host: '127.0.0.1', port: ${port}, timeoutMs: 2000 }));`,
      `checkAll(probes).then((r) => process.stdout.write(JSON.stringify(r)));`,
    ].join('\n');
    const { stdout } = await promisify(execFile)('bash', ['-c', `ulimit -n 30 && exec "${process.execPath}" -e "$0"`, script]);
    return JSON.parse(stdout) as ProbeResult[];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
