// Pins down that every script in lua/ and its typed wrapper (lib/inventory/scripts.ts) agree: the
// header's KEYS[n] name: / ARGV[n] name: lines, in order and count, are the wrapper's key and
// argument names, and the script body indexes no KEYS or ARGV beyond what its header declares; a
// hash read into named locals names each local as its field.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { luaDir, SCRIPTS } from '../../lib/inventory/scripts';

const DIR = luaDir();
const FILES = readdirSync(DIR).filter((f) => f.endsWith('.lua'));

interface Header {
  keys: string[];
  args: string[];
  rest: string | undefined;
}

/** The declarations of a script's opening --[[ … ]] block, checked for form as they are read. */
function parseHeader(file: string, source: string): Header {
  const block = /^--\[\[\n([\s\S]*?)\n\]\]/.exec(source);
  if (!block) throw new Error(`${file}: no --[[ … ]] header at the top`);
  const header: Header = { keys: [], args: [], rest: undefined };
  for (const line of block[1]!.split('\n').filter((l) => /^(KEYS|ARGV)\[/.test(l))) {
    const m = /^(KEYS|ARGV)\[(\d+)(\.\.)?\] ([a-z][a-z0-9_]*)(:|$)/.exec(line);
    if (!m) throw new Error(`${file}: "${line}" is not "KEYS[n] name: …" / "ARGV[n] name: …"`);
    const [table, index, variadic, name] = [m[1]!, m[2]!, m[3], m[4]!];
    const list = table === 'KEYS' ? header.keys : header.args;
    if (header.rest !== undefined) throw new Error(`${file}: ${line} after the variadic ARGV`);
    if (Number(index) !== list.length + 1) throw new Error(`${file}: ${table}[${index}] out of order`);
    if (variadic && table === 'KEYS') throw new Error(`${file}: KEYS cannot be variadic`);
    if (variadic) header.rest = name;
    else list.push(name);
  }
  return header;
}

/** The highest KEYS[n] / ARGV[n] index the code after the header reads (0 when none). */
function highestIndex(source: string, table: 'KEYS' | 'ARGV'): number {
  const body = source.slice(source.indexOf('\n]]') + 3);
  return Math.max(0, ...[...body.matchAll(new RegExp(`${table}\\[(\\d+)\\]`, 'g'))].map((m) => Number(m[1])));
}

describe('lua headers and their wrappers', () => {
  it('every script in lua/ has exactly one wrapper, and every wrapper a script', () => {
    expect(FILES.length).toBeGreaterThan(0);
    expect(
      Object.values(SCRIPTS)
        .map((s) => s.file)
        .sort(),
    ).toEqual([...FILES].sort());
  });

  for (const [name, spec] of Object.entries(SCRIPTS)) {
    it(`${spec.file}: the header declares the keys and arguments of the ${name} wrapper, in order`, () => {
      const source = readFileSync(join(DIR, spec.file), 'utf8');
      const header = parseHeader(spec.file, source);
      expect(header.keys).toEqual([...spec.keys]);
      expect(header.args).toEqual([...spec.args]);
      expect(header.rest).toBe('rest' in spec ? spec.rest : undefined);
      expect(highestIndex(source, 'KEYS')).toBeLessThanOrEqual(header.keys.length);
      if (header.rest === undefined) {
        expect(highestIndex(source, 'ARGV')).toBeLessThanOrEqual(header.args.length);
      }
    });
  }

  it('a hash read into named locals (HMGET) names each local as its field, in the same order', () => {
    const reads = FILES.flatMap((f) => [
      ...readFileSync(join(DIR, f), 'utf8').matchAll(
        /local ([\w,\s]+?)\s*=\s*unpack\(redis\.call\('HMGET', \w+, ([^)]*)\)\)/g,
      ),
    ]);
    expect(reads.length).toBeGreaterThan(0); // reserve.lua reads its sale hash so
    for (const [, locals, fields] of reads) {
      const names = locals!.split(',').map((n) => n.trim());
      expect(names).toEqual(fields!.split(',').map((f) => f.trim().replace(/^'|'$/g, '')));
    }
  });

  it('a header that is out of form is refused, not read past', () => {
    expect(() => parseHeader('x.lua', '--[[\nx\nKEYS[1] sale hash (no name)\n]]\n')).toThrow(/not "KEYS/);
    expect(() => parseHeader('x.lua', '--[[\nx\nKEYS[2] sale: hash\n]]\n')).toThrow(/out of order/);
    expect(parseHeader('x.lua', '--[[\nx\nKEYS[1] sale: h\nARGV[1] id\nARGV[2..] more: …\n]]\n')).toEqual({
      keys: ['sale'],
      args: ['id'],
      rest: 'more',
    });
  });
});
