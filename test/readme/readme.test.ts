/**
 * The README shows only what the code prints: every example marked `<!-- capture: <id> -->` is produced
 * again by its capture (test/readme/captures.ts) and must be the same, and every block that looks like
 * program output must be marked. After a change to what the program prints:
 *
 *   UPDATE_README=1 npx vitest run test/readme
 *
 * rewrites the marked blocks from the captures (then read the diff: the prose around a block must still
 * be true of it).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from '../cli/support';
import { CAPTURES } from './captures';
import { looksLikeOutput, readmeBlocks, replaceBlocks } from './readme';

const README = resolve(ROOT, 'README.md');
const UPDATE = process.env.UPDATE_README === '1';
const readme = readFileSync(README, 'utf8');
const blocks = readmeBlocks(readme);

/** `text` with each volatile part replaced by a placeholder. */
const masked = (text: string, volatile: RegExp[] = []) => volatile.reduce((t, re) => t.replace(re, '<varies>'), text);

describe('the README', () => {
  it('marks every example that shows program output, once, with a registered capture', () => {
    const ids = CAPTURES.map((c) => c.id);
    const unmarked = blocks.filter((b) => !b.id && looksLikeOutput(b)).map((b) => `line ${b.line}: ${b.text.split('\n')[0]}`);
    const unknown = blocks.filter((b) => b.id && !ids.includes(b.id)).map((b) => `line ${b.line}: ${b.id}`);
    const marked = blocks.flatMap((b) => (b.id ? [b.id] : []));
    const twice = marked.filter((id, i) => marked.indexOf(id) !== i);
    const unused = ids.filter((id) => !marked.includes(id));
    expect({ unmarked, unknown, twice, unused }).toEqual({ unmarked: [], unknown: [], twice: [], unused: [] });
  });
});

const produced = new Map<string, string>();

describe('each README example is what the code prints now', () => {
  for (const capture of CAPTURES) {
    it(capture.id, { timeout: 180_000 }, async () => {
      const text = await capture.produce();
      const block = blocks.find((b) => b.id === capture.id);
      const current = block?.text;
      // A wall-clock figure alone does not rewrite a block.
      const same = current !== undefined && masked(current, capture.volatile) === masked(text, capture.volatile);
      produced.set(capture.id, same ? current : text);
      if (UPDATE) return;
      expect(block, `README.md has no block marked <!-- capture: ${capture.id} -->`).toBeDefined();
      expect(
        masked(text, capture.volatile),
        `README.md line ${block!.line} (capture ${capture.id}) is not what the code prints (${capture.runs}); UPDATE_README=1 npx vitest run test/readme rewrites it`,
      ).toBe(masked(current!, capture.volatile));
    });
  }
});

afterAll(() => {
  if (!UPDATE || produced.size === 0) return;
  const updated = replaceBlocks(readFileSync(README, 'utf8'), produced);
  writeFileSync(README, updated);
});
