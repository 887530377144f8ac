// A .cpuprofile (load/profile/cpu.ts --profile) to a flame graph SVG, with frames of the minified
// bundles mapped back to their sources through the bundles' source maps, and a table of self time
// by package. No flame-graph package is installed here (0x, speedscope and flamebearer render HTML
// apps, not an SVG for a README), so the drawing is these few lines.
//   npx tsx load/profile/flame.ts in.cpuprofile out.svg ["title"]
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SourceMapConsumer } from 'source-map-js';

interface Frame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: Frame;
  hitCount?: number;
  children?: number[];
}
export interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
}
interface Tree {
  label: string;
  pkg: string;
  self_us: number;
  total_us: number;
  children: Map<string, Tree>;
}

const maps = new Map<string, SourceMapConsumer | null>();
function mapOf(url: string): SourceMapConsumer | null {
  if (!maps.has(url)) {
    const file = url.startsWith('file://') ? fileURLToPath(url) : url;
    maps.set(
      url,
      existsSync(`${file}.map`)
        ? new SourceMapConsumer(JSON.parse(readFileSync(`${file}.map`, 'utf8')))
        : null,
    );
  }
  return maps.get(url)!;
}

/** "name source" for one frame, the source path shortened to its package or project file. */
function describe(f: Frame): { label: string; pkg: string } {
  if (!f.url)
    return {
      label: f.functionName || '(anonymous)',
      pkg: f.functionName.startsWith('(') ? f.functionName : 'native',
    };
  let name = f.functionName;
  let source = f.url;
  const m = mapOf(f.url);
  if (m) {
    const p = m.originalPositionFor({ line: f.lineNumber + 1, column: f.columnNumber });
    if (p.source) source = p.source;
    if (p.name) name = p.name;
  }
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)\/(.*)$/.exec(source);
  const proj = /(?:^|\/)((?:lib|functions|load)\/.*)$/.exec(source);
  const pkg = nm ? nm[1]! : source.startsWith('node:') ? 'node' : proj ? 'project' : source;
  const where = nm ? `${nm[1]}/${nm[2]!.split('/').pop()}` : proj ? proj[1]! : source.replace(/^.*\//, '');
  return { label: `${name || '(anonymous)'} ${where}`, pkg };
}

export function buildTree(p: Profile): Tree {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const per_sample_us = (p.endTime - p.startTime) / Math.max(1, p.samples.length);
  const root: Tree = { label: 'all', pkg: 'root', self_us: 0, total_us: 0, children: new Map() };
  const walk = (n: ProfileNode, into: Tree) => {
    const d = describe(n.callFrame);
    if (d.label === '(idle)') return;
    let t = into;
    if (d.label !== '(root)') {
      t = into.children.get(d.label) ?? { ...d, self_us: 0, total_us: 0, children: new Map() };
      into.children.set(d.label, t);
    }
    t.self_us += (n.hitCount ?? 0) * per_sample_us;
    for (const c of n.children ?? []) walk(byId.get(c)!, t);
  };
  walk(p.nodes[0]!, root);
  const sum = (t: Tree): number => {
    t.total_us = t.self_us + [...t.children.values()].reduce((a, c) => a + sum(c), 0);
    return t.total_us;
  };
  sum(root);
  return root;
}

export function selfByPackage(t: Tree, into = new Map<string, number>()): Map<string, number> {
  into.set(t.pkg, (into.get(t.pkg) ?? 0) + t.self_us);
  for (const c of t.children.values()) selfByPackage(c, into);
  return into;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
function color(pkg: string): string {
  let h = 0;
  for (const ch of pkg) h = (h * 31 + ch.charCodeAt(0)) % 360;
  return pkg === 'project' ? 'hsl(140,60%,55%)' : `hsl(${h % 60},${70}%,${55 + (h % 20)}%)`;
}

export function svg(root: Tree, title: string, width = 1200, row = 16): string {
  const rects: string[] = [];
  let depth_max = 0;
  const scale = width / root.total_us;
  const draw = (t: Tree, x: number, depth: number) => {
    const w = t.total_us * scale;
    if (w < 0.3) return;
    depth_max = Math.max(depth_max, depth);
    const pct = ((100 * t.total_us) / root.total_us).toFixed(1);
    const text = w > 40 ? esc(t.label).slice(0, Math.floor(w / 6.5)) : '';
    rects.push(
      `<g><title>${esc(t.label)} (${pct} %, self ${((100 * t.self_us) / root.total_us).toFixed(1)} %)</title>` +
        `<rect x="${x.toFixed(1)}" y="DEPTH${depth}" width="${w.toFixed(1)}" height="${row - 1}" fill="${color(t.pkg)}"/>` +
        (text ? `<text x="${(x + 3).toFixed(1)}" y="DEPTH${depth}T">${text}</text>` : '') +
        '</g>',
    );
    let cx = x;
    for (const c of [...t.children.values()].sort((a, b) => a.label.localeCompare(b.label))) {
      draw(c, cx, depth + 1);
      cx += c.total_us * scale;
    }
  };
  draw(root, 0, 0);
  const height = (depth_max + 1) * row + 30;
  // Flame orientation: the root at the bottom.
  const body = rects
    .join('\n')
    .replace(/DEPTH(\d+)T/g, (_, d) => String(height - (Number(d) + 1) * row + 11))
    .replace(/DEPTH(\d+)/g, (_, d) => String(height - (Number(d) + 1) * row));
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="monospace" font-size="10">
<rect width="100%" height="100%" fill="#fff"/>
<text x="4" y="14" font-size="12">${esc(title)}</text>
${body}
</svg>
`;
}

if (import.meta.main) {
  const [input, output, title] = process.argv.slice(2);
  const profile = JSON.parse(readFileSync(input!, 'utf8')) as Profile;
  const root = buildTree(profile);
  writeFileSync(output!, svg(root, title ?? input!));
  const by = [...selfByPackage(root)].sort((a, b) => b[1] - a[1]);
  console.log(`sampled CPU ${(root.total_us / 1000).toFixed(0)} ms; self time by package:`);
  for (const [k, v] of by.slice(0, 20))
    console.log(`  ${((100 * v) / root.total_us).toFixed(1).padStart(5)} %  ${k}`);
}
