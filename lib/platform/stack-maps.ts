// Stack traces of the bundled functions name the source file and line (lib/http/route.ts:97:5)
// without Node's --enable-source-maps. That flag makes Node read and parse a bundle's map when it
// loads the bundle: ~3–7 ms of every cold start (README, "Cold starts"), paid by every container
// whether it ever prints a stack or not. Here a map is read the first time a stack trace through
// its bundle is formatted (an error logged), once per container, with Node's own source-map parser
// (`module.SourceMap`). Installed by lib/platform/logger.ts, which every function imports.
import { readFileSync } from 'node:fs';
import { SourceMap, type SourceMapping } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** Per generated file (path or file: URL), its map, or null when it has none. */
const maps = new Map<string, { map: SourceMap; url: URL } | null>();

function mapOf(file: string): { map: SourceMap; url: URL } | null {
  let m = maps.get(file);
  if (m === undefined) {
    m = readMap(file);
    maps.set(file, m);
  }
  return m;
}

/** Only bundles have maps (esbuild's `sourcemap: linked`: `<bundle>.map` beside the bundle). */
function readMap(file: string): { map: SourceMap; url: URL } | null {
  if (!/\.[cm]?js$/.test(file) || file.includes('/node_modules/')) return null;
  try {
    const path = file.startsWith('file:') ? fileURLToPath(file) : file;
    const url = pathToFileURL(`${path}.map`);
    return { map: new SourceMap(JSON.parse(readFileSync(url, 'utf8'))), url };
  } catch {
    return null; // no map, or unreadable: the frame stays as V8 wrote it
  }
}

/** The entry at a 1-based line and column, as V8 numbers frames (findEntry is 0-based). */
function entry(map: SourceMap, line: number, column: number): Partial<SourceMapping> & { name?: string } {
  return map.findEntry(line - 1, column - 1);
}

/** The original name of a frame's function: its start's entry, else its call site's in the caller. */
function originalName(map: SourceMap, site: NodeJS.CallSite, caller?: NodeJS.CallSite): string | undefined {
  const line = site.getEnclosingLineNumber();
  const column = site.getEnclosingColumnNumber();
  const own = line && column ? entry(map, line, column) : {};
  if (own.name) return own.name;
  const cl = caller?.getLineNumber();
  const cc = caller?.getColumnNumber();
  if (!caller || caller.getFileName() !== site.getFileName() || !cl || !cc) return undefined;
  return entry(map, cl, cc).name;
}

/** One frame as V8 writes it, its generated file:line:column (and name) replaced by the original. */
export function mappedFrame(site: NodeJS.CallSite, caller?: NodeJS.CallSite): string {
  const text = String(site);
  const file = site.getFileName();
  const line = site.getLineNumber();
  const column = site.getColumnNumber();
  if (!file || line === null || column === null) return text;
  const m = mapOf(file);
  if (!m) return text;
  const e = entry(m.map, line, column);
  if (!e.originalSource || e.originalLine === undefined || e.originalColumn === undefined) return text;
  const source = new URL(e.originalSource, m.url);
  const where = `${source.protocol === 'file:' ? fileURLToPath(source) : source.href}:${e.originalLine + 1}:${e.originalColumn + 1}`;
  const mapped = text.replace(`${file}:${line}:${column}`, where);
  const minified = site.getFunctionName();
  const name = minified ? originalName(m.map, site, caller) : undefined;
  return name && minified ? mapped.replace(`${minified} (`, `${name} (`) : mapped;
}

function header(error: unknown): string {
  try {
    return Error.prototype.toString.call(error);
  } catch {
    return 'Error';
  }
}

type PrepareStackTrace = (error: Error, sites: NodeJS.CallSite[]) => unknown;

/**
 * Formats stacks with mapped frames, unless something already formats them: Node's own source maps
 * (--enable-source-maps, tsx) or another hook (a test runner's). Node 24 sets a default hook of its
 * own, `ErrorPrepareStackTrace`, which only formats: it still writes the stack, given the mapped
 * frames, so the rest reads as Node writes it (its errors' first line names their code:
 * `TypeError [ERR_INVALID_ARG_TYPE]: …`, which Error.prototype.toString leaves out).
 */
export function installStackMaps(): void {
  const current = (Error as { prepareStackTrace?: PrepareStackTrace }).prepareStackTrace;
  if (process.sourceMapsEnabled || (current && current.name !== 'ErrorPrepareStackTrace')) return;
  Error.prepareStackTrace = (error, sites) => {
    const frames = sites.map((s, i) => ({ toString: () => safeFrame(s, sites[i + 1]) }));
    if (current) {
      try {
        return current(error, frames as unknown as NodeJS.CallSite[]);
      } catch {
        // formatted below
      }
    }
    return [header(error), ...frames.map((f) => `    at ${f}`)].join('\n');
  };
}

/** Never throws: a stack is read where an error is being reported, and must not become another. */
function safeFrame(site: NodeJS.CallSite, caller?: NodeJS.CallSite): string {
  try {
    return mappedFrame(site, caller);
  } catch {
    return String(site);
  }
}
