/*
 * Command outputs in the documentation, generated from the real commands.
 *
 *   npm run docs             rewrite every generated block in README.md and docs/*.md
 *   npm run docs -- --check  only compare; exit 1 and name each block that differs
 *
 * A generated block is a fenced block right after a marker comment naming
 * its commands:
 *
 *   <!-- output: lwpkit run example:workers --ncpu 2 -->
 *   ```console
 *   (regenerated)
 *   ```
 *
 * Contract:
 *  - The block's text becomes, for each command, "$ <command>" and then
 *    what it wrote on stdout.  Several commands: separate them with " && "
 *    in the marker; the block shows them one after the other, a blank line
 *    between.
 *  - A command is `lwpkit ...` (run as node bin/lwpkit from the checkout's
 *    root, stdout not a TTY, so no progress bar), optionally piped into one
 *    filter: `| head -N`, `| tail -N` or `| sed -n A,Bp`, applied here, not
 *    by a shell.  A final ` 2>&1` shows stderr too, after stdout.  Arguments
 *    split on spaces; '...' quotes one with spaces.  Exit status 70, or
 *    64 without 2>&1, is an error of the document, not an output.
 *  - A marker may be indented (a block inside a list item): the fence and
 *    the generated lines carry the same indentation.
 *  - The fence line (```console, ```text) is kept; only the text inside changes.
 *  - Deterministic: the model is, and nothing here reads the clock.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(ROOT, 'bin', 'lwpkit');

/** The documents with generated blocks. */
export function docFiles(): string[] {
  const docs = join(ROOT, 'docs');
  return [join(ROOT, 'README.md'), ...readdirSync(docs).filter((f) => f.endsWith('.md')).sort().map((f) => join(docs, f))];
}

export interface Block {
  /** The marker's commands, as written. */
  commands: string[];
  /** Line index of the first line inside the fence, and of the closing fence. */
  start: number;
  end: number;
  /** 1-based line of the marker, for messages. */
  line: number;
  /** The marker's indentation, which the block's lines carry too (a block in a list item). */
  indent: string;
}

const MARKER = /^(\s*)<!--\s*output:\s*(.*?)\s*-->\s*$/;

/** The generated blocks of a document's lines. */
export function findBlocks(lines: readonly string[]): Block[] {
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const m = MARKER.exec(lines[i]!);
    if (m === null) continue;
    let j = i + 1;
    while (j < lines.length && lines[j]!.trim() === '') j++;
    if (!/^\s*```/.test(lines[j] ?? '')) throw new Error(`line ${i + 1}: an output marker must come right before a fenced block`);
    let k = j + 1;
    while (k < lines.length && !/^\s*```\s*$/.test(lines[k]!)) k++;
    if (k === lines.length) throw new Error(`line ${j + 1}: the fenced block is never closed`);
    blocks.push({ commands: m[2]!.split(/\s+&&\s+/), start: j + 1, end: k, line: i + 1, indent: m[1]! });
    i = k;
  }
  return blocks;
}

/** Split a command on spaces, with '...' quoting. */
function words(s: string): string[] {
  const out: string[] = [];
  for (const m of s.matchAll(/'([^']*)'|(\S+)/g)) out.push(m[1] ?? m[2]!);
  return out;
}

/** Apply `head -N`, `tail -N` or `sed -n A,Bp` to the output's lines. */
function filter(lines: string[], f: string | undefined): string[] {
  if (f === undefined) return lines;
  const w = words(f);
  let m: RegExpExecArray | null;
  if (w[0] === 'head' && (m = /^-(?:n)?(\d+)$/.exec(w[1] ?? '')) !== null && w.length === 2) return lines.slice(0, Number(m[1]));
  if (w[0] === 'tail' && (m = /^-(?:n)?(\d+)$/.exec(w[1] ?? '')) !== null && w.length === 2) return lines.slice(-Number(m[1]));
  if (w[0] === 'sed' && w[1] === '-n' && (m = /^(\d+),(\d+)p$/.exec(w[2] ?? '')) !== null && w.length === 3) return lines.slice(Number(m[1]) - 1, Number(m[2]));
  throw new Error(`unsupported filter '| ${f}' (head -N, tail -N, sed -n A,Bp)`);
}

/** "$ command" and its stdout (filtered), as the block shows it. */
export function render(command: string): string {
  const both = /\s2>&1$/.test(command);
  const [cmd, f, extra] = command.replace(/\s2>&1$/, '').split(/\s+\|\s+/);
  if (extra !== undefined) throw new Error(`${command}: one filter at most`);
  const [head, ...args] = words(cmd!);
  if (head !== 'lwpkit') throw new Error(`${command}: a generated command starts with 'lwpkit'`);
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: ROOT, encoding: 'utf8', timeout: 120_000, env: { ...process.env, LWPKIT_PROGRESS: '0' },
  });
  if (r.error !== undefined) throw r.error;
  if (r.status === 70 || (r.status === 64 && !both)) throw new Error(`${command}: exit status ${r.status}: ${r.stderr.trim()}`);
  const text = both ? r.stdout + r.stderr : r.stdout;
  const out = text === '' ? [] : text.replace(/\n$/, '').split('\n');
  return [`$ ${command}`, ...filter(out, f)].join('\n');
}

export interface Mismatch { file: string; line: number; commands: string[]; shown: string; real: string }

/** Regenerate one document's blocks; returns the new text and the blocks that differed. */
export function regenerate(file: string): { text: string; mismatches: Mismatch[] } {
  const lines = readFileSync(file, 'utf8').split('\n');
  const mismatches: Mismatch[] = [];
  // Back to front, so earlier indexes stay valid.
  for (const b of findBlocks(lines).reverse()) {
    const real = b.commands.map(render).join('\n\n');
    const shown = lines.slice(b.start, b.end).map((l) => (l.startsWith(b.indent) ? l.slice(b.indent.length) : l.trimStart())).join('\n');
    if (shown !== real) {
      mismatches.unshift({ file: relative(ROOT, file), line: b.line, commands: b.commands, shown, real });
      lines.splice(b.start, b.end - b.start, ...real.split('\n').map((l) => (l === '' ? '' : b.indent + l)));
    }
  }
  return { text: lines.join('\n'), mismatches };
}

/** The first line where two texts differ, for a message. */
export function firstDifference(shown: string, real: string): string {
  const a = shown.split('\n');
  const b = real.split('\n');
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (a[i] !== b[i]) return `line ${i + 1} of the block: shown ${JSON.stringify(a[i] ?? '(nothing)')}, real ${JSON.stringify(b[i] ?? '(nothing)')}`;
  }
  return 'no difference';
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const check = process.argv.includes('--check');
  let bad = 0;
  for (const file of docFiles()) {
    const { text, mismatches } = regenerate(file);
    for (const m of mismatches) {
      bad++;
      console.log(`${m.file}:${m.line}: ${m.commands.join(' && ')}: ${check ? 'differs' : 'regenerated'}; ${firstDifference(m.shown, m.real)}`);
    }
    if (!check && mismatches.length > 0) writeFileSync(file, text);
  }
  console.log(`${bad} block${bad === 1 ? '' : 's'} ${check ? 'differ' : 'regenerated'}`);
  process.exitCode = check && bad > 0 ? 1 : 0;
}
