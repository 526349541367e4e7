// chart.ts — turns the batching benchmark's results (bench/results/batching.json and
// batching-onnx.json, from bench/batching.ts and bench/batching-onnx.ts) into what the README
// publishes: bench/charts/batching.svg (latency p50 and p99 vs offered load, one line per mode,
// log-log; plain SVG text) and bench/charts/batching.md (the tables and which targets are met).
// Runnable alone: node bench/chart.ts

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';

interface Point { load: number; offered: number; goodput: number; p50: number; p99: number; errors: number; backendMeanBatch?: number }
interface StepPhase { rate: number; goodput: number; p50: number; p99: number; errors: number }
interface CostResults {
  machine: { cpus: number; model?: string; node: string; loadAverage1m?: { before: number; after: number } };
  backend: { a: number; b: number; maxBatchSize: number; maxConcurrentBatches: number; timeoutMs: number };
  unbatchedCapacity: number; ceiling: number; wallSeconds: number;
  idleOverheadUs: Record<string, number>;
  modes: Record<string, { sweep: Point[]; step: { phases: StepPhase[]; settledMs: number[]; withinDeadline: boolean } }>;
  workConservingOneSlotSaturation?: Point;
}
interface OnnxResults { model: string; loadAverage1m?: { before: number; after: number }; unbatchedRowsPerSec: number; batch32RowsPerSec: number; wallSeconds: number; modes: Record<string, Point[]> }
interface Series { name: string; color: string; points: Point[] }

const colors: Record<string, string> = { none: '#444444', fixed: '#d62728', workConserving: '#1f77b4', adaptive: '#2ca02c' };
const labels: Record<string, string> = { none: 'no batching', fixed: 'fixed delay 2 ms', workConserving: 'work-conserving', adaptive: 'adaptive' };

/** renderPanel draws one log-log panel of p50 (solid) and p99 (dashed) latency vs offered load. */
function renderPanel(x0: number, title: string, series: Series[], width = 520, height = 400): string {
  const m = { l: 60, r: 15, t: 30, b: 45 };
  const pts = series.flatMap((s) => s.points).filter((p) => Number.isFinite(p.p99));
  const lx = [Math.log10(Math.min(...pts.map((p) => p.offered))), Math.log10(Math.max(...pts.map((p) => p.offered)))];
  const ly = [Math.floor(Math.log10(Math.min(...pts.map((p) => p.p50)))), Math.ceil(Math.log10(Math.max(...pts.map((p) => p.p99))))];
  const X = (v: number): number => x0 + m.l + ((Math.log10(v) - lx[0]!) / (lx[1]! - lx[0]!)) * (width - m.l - m.r);
  const Y = (v: number): number => m.t + (1 - (Math.log10(v) - ly[0]!) / (ly[1]! - ly[0]!)) * (height - m.t - m.b);
  const out: string[] = [`<text x="${x0 + width / 2}" y="18" text-anchor="middle" font-weight="bold">${esc(title)}</text>`];
  for (let e = Math.floor(lx[0]!); e <= Math.ceil(lx[1]!); e++) {
    for (const k of [1, 2, 5]) {
      const v = k * 10 ** e;
      if (Math.log10(v) < lx[0]! - 1e-9 || Math.log10(v) > lx[1]! + 1e-9) continue;
      out.push(`<line x1="${X(v).toFixed(1)}" y1="${m.t}" x2="${X(v).toFixed(1)}" y2="${height - m.b}" stroke="#e5e5e5"/>`,
        `<text x="${X(v).toFixed(1)}" y="${height - m.b + 15}" text-anchor="middle">${v}</text>`);
    }
  }
  for (let e = ly[0]!; e <= ly[1]!; e++) {
    for (const k of [1, 2, 5]) {
      const v = k * 10 ** e;
      if (e === ly[1] && k > 1) continue;
      out.push(`<line x1="${x0 + m.l}" y1="${Y(v).toFixed(1)}" x2="${x0 + width - m.r}" y2="${Y(v).toFixed(1)}" stroke="#e5e5e5"/>`,
        `<text x="${x0 + m.l - 5}" y="${(Y(v) + 4).toFixed(1)}" text-anchor="end">${v}</text>`);
    }
  }
  out.push(`<rect x="${x0 + m.l}" y="${m.t}" width="${width - m.l - m.r}" height="${height - m.t - m.b}" fill="none" stroke="#888"/>`,
    `<text x="${x0 + m.l + (width - m.l - m.r) / 2}" y="${height - 8}" text-anchor="middle">offered load (rows/s, log)</text>`,
    `<text transform="translate(${x0 + 14},${m.t + (height - m.t - m.b) / 2}) rotate(-90)" text-anchor="middle">latency (ms, log)</text>`);
  for (const s of series) {
    for (const [q, dash] of [['p50', ''], ['p99', ' stroke-dasharray="5,3"']] as const) {
      const ok = s.points.filter((p) => Number.isFinite(p[q]));
      out.push(`<polyline fill="none" stroke="${s.color}" stroke-width="1.8"${dash} points="${ok.map((p) => `${X(p.offered).toFixed(1)},${Y(p[q]).toFixed(1)}`).join(' ')}"/>`);
      for (const p of ok) out.push(`<circle cx="${X(p.offered).toFixed(1)}" cy="${Y(p[q]).toFixed(1)}" r="2.5" fill="${s.color}"/>`);
    }
  }
  return out.join('\n');
}

function legend(x: number, y: number, names: string[]): string {
  const out = names.map((n, i) => `<line x1="${x + i * 170}" y1="${y}" x2="${x + i * 170 + 24}" y2="${y}" stroke="${colors[n]}" stroke-width="2.5"/>`
    + `<text x="${x + i * 170 + 30}" y="${y + 4}">${labels[n]}</text>`);
  out.push(`<text x="${x}" y="${y + 20}">solid: p50, dashed: p99; the last point of each line is 1.1× that mode's capacity (saturation)</text>`);
  return out.join('\n');
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
}

const f1 = (v: number | undefined): string => (v === undefined || !Number.isFinite(v) ? '–' : v >= 100 ? v.toFixed(0) : v.toFixed(1));
const signed = (v: number): string => `${v >= 0 ? '+' : ''}${v.toFixed(1)}`;

function costTables(r: CostResults): string[] {
  const none = r.modes.none!.sweep;
  const lines = [
    `Load average (1 min) on the ${r.machine.cpus}-core machine: ${r.machine.loadAverage1m?.before} before, ${r.machine.loadAverage1m?.after} after; whole scenario ${r.wallSeconds.toFixed(0)} s.`, '',
    `| mode | offered load (rows/s) | goodput (rows/s) | p50 (ms) | p99 (ms) | p50 / p99 added over unbatched (ms) | mean backend batch |`,
    '|---|---:|---:|---:|---:|---:|---:|',
  ];
  for (const [mode, res] of Object.entries(r.modes)) {
    for (const p of res.sweep) {
      const base = mode === 'none' ? undefined : none.find((q) => q.load === p.load);
      const added = base === undefined ? '' : `${signed(p.p50 - base.p50)} / ${signed(p.p99 - base.p99)}`;
      lines.push(`| ${labels[mode]} | ${f1(p.load)}${p === res.sweep.at(-1) ? ' (saturation)' : ''} | ${f1(p.goodput)} | ${f1(p.p50)} | ${f1(p.p99)} | ${added} | ${f1(p.backendMeanBatch)} |`);
    }
  }
  lines.push('', `Saturation goodput (offered 1.1× capacity) vs the ceiling N/(a + N·b) = ${f1(r.ceiling)} rows/s (unbatched capacity 1/(a + b) = ${f1(r.unbatchedCapacity)} rows/s):`, '',
    '| mode | goodput (rows/s) | share of ceiling | gain over unbatched |', '|---|---:|---:|---:|');
  const noneSat = none.at(-1)!.goodput;
  for (const [mode, res] of Object.entries(r.modes)) {
    const sat = res.sweep.at(-1)!;
    const share = mode === 'none' ? sat.goodput / r.unbatchedCapacity : sat.goodput / r.ceiling;
    lines.push(`| ${labels[mode]} | ${f1(sat.goodput)} | ${(share * 100).toFixed(0)}%${mode === 'none' ? ' of 1/(a+b)' : ''} | ${(sat.goodput / noneSat).toFixed(1)}× |`);
  }
  const one = r.workConservingOneSlotSaturation;
  if (one !== undefined) lines.push(`| work-conserving, maxConcurrentBatches 1 | ${f1(one.goodput)} | ${((one.goodput / r.ceiling) * 100).toFixed(0)}% | ${(one.goodput / noneSat).toFixed(1)}× |`);
  const o = r.idleOverheadUs;
  lines.push('', `What the batcher itself adds to a lone request on an idle backend (in process, no HTTP, µs): direct p50 ${o.directP50} / p99 ${o.directP99}; fixed delay 2 ms p50 ${o.fixedP50} / p99 ${o.fixedP99}; work-conserving p50 ${o.workConservingP50} / p99 ${o.workConservingP99}; adaptive p50 ${o.adaptiveP50} / p99 ${o.adaptiveP99}.`,
    '', `Load step 10% → 90% → 10% of each mode's capacity (${r.backend.timeoutMs} ms deadline):`, '',
    '| mode | phase rates (rows/s) | goodput per phase | p99 per phase (ms) | settled after (ms) | p99 within deadline, no errors |', '|---|---|---|---|---|---|');
  for (const [mode, res] of Object.entries(r.modes)) {
    const ph = res.step.phases;
    lines.push(`| ${labels[mode]} | ${ph.map((p) => f1(p.rate)).join(' → ')} | ${ph.map((p) => f1(p.goodput)).join(' / ')} | ${ph.map((p) => f1(p.p99)).join(' / ')} | ${res.step.settledMs.join(' / ')} | ${res.step.withinDeadline ? 'yes' : 'no'} |`);
  }
  return lines;
}

// targets: issue 5's bars, checked against this run's figures.
function targets(r: CostResults): string[] {
  const none = r.modes.none!.sweep;
  const lines = ['| target (issue 5) | fixed delay 2 ms | work-conserving | adaptive |', '|---|---|---|---|'];
  const batched = ['fixed', 'workConserving', 'adaptive'].filter((m) => r.modes[m] !== undefined);
  const row = (name: string, cell: (mode: string) => string): void => { lines.push(`| ${name} | ${batched.map(cell).join(' | ')} |`); };
  const yes = (ok: boolean, what: string): string => `${ok ? 'met' : 'not met'} (${what})`;
  row('saturation goodput ≥ 90% of ceiling', (m) => {
    const share = r.modes[m]!.sweep.at(-1)!.goodput / r.ceiling;
    return yes(share >= 0.9, `${(share * 100).toFixed(0)}%`);
  });
  for (const load of [5, 20]) {
    row(`${load} rows/s: added p50 ≤ 0.2 ms, p99 ≤ 1 ms`, (m) => {
      const p = r.modes[m]!.sweep.find((q) => q.load === load)!;
      const base = none.find((q) => q.load === load)!;
      const d50 = p.p50 - base.p50, d99 = p.p99 - base.p99;
      return yes(d50 <= 0.2 && d99 <= 1, `${signed(d50)} / ${signed(d99)} ms`);
    });
  }
  const o = r.idleOverheadUs;
  const own = { fixed: [o.fixedP50, o.fixedP99], workConserving: [o.workConservingP50, o.workConservingP99], adaptive: [o.adaptiveP50, o.adaptiveP99] } as Record<string, [number | undefined, number | undefined]>;
  row('idle backend, batcher alone in process: added p50 ≤ 0.2 ms, p99 ≤ 1 ms', (m) => {
    const [p50, p99] = own[m]!.map((v) => v ?? Number.NaN) as [number, number];
    return yes(p50 - o.directP50! <= 200 && p99 - o.directP99! <= 1000, `+${((p50 - o.directP50!) / 1000).toFixed(3)} / +${((p99 - o.directP99!) / 1000).toFixed(3)} ms`);
  });
  row('load step: p99 within deadline each phase, settled ≤ 1 s', (m) => {
    const s = r.modes[m]!.step;
    return yes(s.withinDeadline && s.settledMs.every((t) => t <= 1000), `p99 max ${f1(Math.max(...s.phases.map((p) => p.p99)))} ms, settle max ${Math.max(...s.settledMs)} ms`);
  });
  return lines;
}

function onnxTable(r: OnnxResults): string[] {
  const none = r.modes.none ?? [];
  const lines = [`${r.model}. Load average (1 min) ${r.loadAverage1m?.before} before, ${r.loadAverage1m?.after} after. Closed-loop capacity through the gateway: ${f1(r.unbatchedRowsPerSec)} rows/s sending 1-row requests, ${f1(r.batch32RowsPerSec)} rows/s sending 32-row requests (the batched ceiling).`, '',
    '| mode | offered load (rows/s) | goodput (rows/s) | p50 (ms) | p99 (ms) | p50 / p99 added over unbatched (ms) | errors |', '|---|---:|---:|---:|---:|---:|---:|'];
  for (const [mode, sweep] of Object.entries(r.modes)) {
    for (const p of sweep) {
      const base = mode === 'none' ? undefined : none.find((q) => q.load === p.load);
      const added = base === undefined ? '' : `${signed(p.p50 - base.p50)} / ${signed(p.p99 - base.p99)}`;
      lines.push(`| ${labels[mode]} | ${f1(p.load)} | ${f1(p.goodput)} | ${f1(p.p50)} | ${f1(p.p99)} | ${added} | ${p.errors} |`);
    }
  }
  return lines;
}

function svg(cost: CostResults, onnx: OnnxResults | undefined): string {
  const series = (modes: Record<string, Point[]>): Series[] => Object.entries(modes).map(([name, points]) => ({ name, color: colors[name]!, points }));
  const panels = [renderPanel(0, `Stand-in backend t(n) = ${cost.backend.a} + ${cost.backend.b}·n ms, maxBatchSize ${cost.backend.maxBatchSize}`,
    series(Object.fromEntries(Object.entries(cost.modes).map(([k, v]) => [k, v.sweep]))))];
  if (onnx !== undefined) panels.push(renderPanel(540, 'ONNX MLP 128-2048-2048-2048-10, onnx backend', series(onnx.modes)));
  const width = onnx === undefined ? 520 : 1060;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="450" viewBox="0 0 ${width} 450" font-family="sans-serif" font-size="11">
<rect width="100%" height="100%" fill="white"/>
${panels.join('\n')}
${legend(60, 418, Object.keys(cost.modes))}
</svg>
`;
}

if (import.meta.main) {
  const read = <T>(name: string): T | undefined => {
    try {
      return JSON.parse(readFileSync(new URL(`./results/${name}`, import.meta.url), 'utf8')) as T;
    } catch {
      return undefined;
    }
  };
  const cost = read<CostResults>('batching.json');
  if (cost === undefined) throw new Error('bench/results/batching.json is missing: run node bench/batching.ts first');
  const onnx = read<OnnxResults>('batching-onnx.json');
  mkdirSync(new URL('./charts/', import.meta.url), { recursive: true });
  writeFileSync(new URL('./charts/batching.svg', import.meta.url), svg(cost, onnx));
  const notes = readFileSync(new URL('./charts/batching-notes.md', import.meta.url), 'utf8');
  const md = [notes.trimEnd(), '', '## Targets, this run', '', ...targets(cost), '', '## Stand-in backend (known cost)', '', ...costTables(cost),
    ...(onnx === undefined ? [] : ['', '## ONNX backend, real model', '', ...onnxTable(onnx)]), ''];
  writeFileSync(new URL('./charts/batching.md', import.meta.url), md.join('\n'));
  console.log('wrote bench/charts/batching.svg and bench/charts/batching.md');
}
