/**
 * Every AWS client a function makes gives up on an endpoint that does not answer (client-config.ts):
 * a source check, so a new client without the timeouts fails here, naming the file and the line.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLIENT_CONFIG } from '../../lambdas/runtime/client-config';

const ROOT = resolve(__dirname, '..', '..');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : path.endsWith('.ts') ? [path] : [];
  });
}

describe('AWS clients in the functions', () => {
  it('throw on a request that gets no answer (smithy 4 only warns without throwOnRequestTimeout)', () => {
    expect(CLIENT_CONFIG.requestHandler).toMatchObject({ connectionTimeout: 3_000, requestTimeout: 5_000, throwOnRequestTimeout: true });
  });

  it('are all made with CLIENT_CONFIG', () => {
    const made = files(join(ROOT, 'lambdas')).flatMap((file) =>
      readFileSync(file, 'utf8')
        .split('\n')
        .map((line, i) => ({ where: `${relative(ROOT, file)}:${i + 1}`, line }))
        .filter(({ line }) => /new \w+Client\(/.test(line)),
    );
    expect(made.length).toBeGreaterThan(10);
    expect(made.filter(({ line }) => !/CLIENT_CONFIG/.test(line)).map(({ where, line }) => `${where}: ${line.trim()}`)).toEqual([]);
  });
});
