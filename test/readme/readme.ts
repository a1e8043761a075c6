/**
 * The README's fenced blocks, and the capture each is marked with: `<!-- capture: <id> -->` on the line
 * right before the opening fence.
 */

export interface Block {
  /** The capture id of the marker before the block, if any. */
  id?: string;
  /** The fence's info string: text, json, sh, ... */
  lang: string;
  /** 1-based line of the opening fence. */
  line: number;
  /** The block's content, without the fences. */
  text: string;
}

const MARKER = /^<!-- capture: ([\w-]+) -->$/;

export function readmeBlocks(readme: string): Block[] {
  const lines = readme.split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)```(\w*)\s*$/.exec(lines[i]);
    if (!open) continue;
    const close = lines.findIndex((l, j) => j > i && l.trim() === '```');
    if (close < 0) throw new Error(`README.md line ${i + 1}: a fence that is never closed`);
    const indent = open[1];
    blocks.push({
      id: MARKER.exec(lines[i - 1] ?? '')?.[1],
      lang: open[2],
      line: i + 1,
      text: lines.slice(i + 1, close).map((l) => (l.startsWith(indent) ? l.slice(indent.length) : l)).join('\n'),
    });
    i = close;
  }
  return blocks;
}

/** The README with the content of each marked block in `texts` replaced. */
export function replaceBlocks(readme: string, texts: ReadonlyMap<string, string>): string {
  const lines = readme.split('\n');
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    out.push(lines[i]);
    const id = MARKER.exec(lines[i])?.[1];
    if (!id || !texts.has(id) || !/^```\w*\s*$/.test(lines[i + 1] ?? '')) continue;
    const close = lines.findIndex((l, j) => j > i + 1 && l.trim() === '```');
    out.push(lines[i + 1], ...texts.get(id)!.split('\n'), lines[close]);
    i = close;
  }
  return out.join('\n');
}

/**
 * Does this unmarked block look like program output: a failoverctl or npm start run, an error line, or a
 * command's usage line (the first line of its --help)?
 */
export function looksLikeOutput(block: Block): boolean {
  const first = block.text.split('\n')[0];
  return /^\$ (\S+=\S+ )*(failoverctl|npm start|npx failoverctl|node bin\/failoverctl)/.test(first) || /^failoverctl: /m.test(block.text) || /^failoverctl [a-z]+ [[<]/.test(first);
}
