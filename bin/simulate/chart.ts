// The picture of a rehearsed sale over time, as a standalone SVG: units accepted (reservations),
// paid, released (expired, cancelled, payment failed) and available in Redis.
import type { Sample } from './run';

const W = 900;
const H = 420;
const PAD = { left: 60, right: 170, top: 50, bottom: 44 };
const SERIES: { key: keyof Omit<Sample, 't_ms'>; label: string; color: string }[] = [
  { key: 'accepted_units', label: 'reserved (accepted)', color: '#d29922' },
  { key: 'paid_units', label: 'paid', color: '#2da44e' },
  { key: 'released_units', label: 'released', color: '#cf222e' },
  { key: 'available', label: 'available', color: '#0969da' },
];

export function saleChart(all: Sample[], title: string, subtitle: string): string {
  const samples = all.filter((s) => s && SERIES.every((x) => Number.isFinite(s[x.key])));
  const t_max = Math.max(1, ...samples.map((s) => s.t_ms));
  const y_max = niceCeil(Math.max(1, ...samples.flatMap((s) => SERIES.map((x) => s[x.key]))));
  const pw = W - PAD.left - PAD.right;
  const ph = H - PAD.top - PAD.bottom;
  const x = (t: number) => PAD.left + (t / t_max) * pw;
  const y = (v: number) => PAD.top + ph - (v / y_max) * ph;
  const grid = [0, 0.25, 0.5, 0.75, 1].map((f) => {
    const v = Math.round(y_max * f);
    return (
      `<line x1="${PAD.left}" x2="${PAD.left + pw}" y1="${y(v)}" y2="${y(v)}" stroke="#e1e4e8"/>` +
      `<text x="${PAD.left - 8}" y="${y(v) + 4}" text-anchor="end" class="a">${v}</text>`
    );
  });
  const ticks = timeTicks(t_max).map(
    (t) => `<text x="${x(t)}" y="${PAD.top + ph + 18}" text-anchor="middle" class="a">${t / 1000}s</text>`,
  );
  const lines = SERIES.map((s, i) => {
    const pts = samples.map((p) => `${x(p.t_ms).toFixed(1)},${y(p[s.key]).toFixed(1)}`).join(' ');
    const ly = PAD.top + 10 + i * 22;
    return (
      `<polyline points="${pts}" fill="none" stroke="${s.color}" stroke-width="2"/>` +
      `<rect x="${W - PAD.right + 16}" y="${ly - 9}" width="14" height="4" fill="${s.color}"/>` +
      `<text x="${W - PAD.right + 36}" y="${ly - 3}" class="l">${s.label}</text>`
    );
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" role="img">
<title>${esc(`${title}: ${subtitle}`)}</title>
<style>.h{font-size:16px;font-weight:bold}.s{font-size:11px;fill:#555}.a{font-size:11px;fill:#555}.l{font-size:12px}</style>
<rect width="100%" height="100%" fill="#fff"/>
<text x="10" y="22" class="h">${esc(title)}</text>
<text x="10" y="40" class="s">${esc(subtitle)}</text>
${grid.join('\n')}
${ticks.join('\n')}
<text x="${PAD.left + pw / 2}" y="${H - 6}" text-anchor="middle" class="a">time since the sale opened</text>
<text x="14" y="${PAD.top + ph / 2}" transform="rotate(-90 14 ${PAD.top + ph / 2})" text-anchor="middle" class="a">units</text>
${lines.join('\n')}
</svg>
`;
}

function niceCeil(v: number): number {
  const step = 10 ** Math.floor(Math.log10(v));
  return Math.ceil(v / step) * step;
}

function timeTicks(t_max_ms: number): number[] {
  const step_ms = t_max_ms > 60_000 ? 10_000 : 5_000;
  const out: number[] = [];
  for (let t = 0; t <= t_max_ms; t += step_ms) out.push(t);
  return out;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
