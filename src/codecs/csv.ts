// csv.ts — text/csv both ways, as SageMaker's built-in algorithms speak it: rows of
// comma-separated numbers in (one instance per line), one line per prediction out.

import { clip, GatewayError } from '../errors.ts';
import { stringifyJson } from './json.ts';

/** parseCsv reads text/csv rows of numbers into instances; a bad cell is a 400 naming its line and column. */
export function parseCsv(body: Buffer): number[][] {
  const rows: number[][] = [];
  const lines = body.toString('utf8').split(/\r?\n/);
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    rows.push(line.split(',').map((cell, j) => {
      const s = cell.trim();
      const n = s === '' ? NaN : Number(s);
      if (!Number.isFinite(n)) {
        throw new GatewayError('bad_request',
          `text/csv line ${i + 1}, column ${j + 1}: ${JSON.stringify(clip(s, 30))} is not a number; rows must be comma-separated numbers`);
      }
      return n;
    }));
  });
  if (rows.length === 0) throw new GatewayError('bad_request', 'the text/csv body has no rows; send one line of comma-separated numbers per instance');
  return rows;
}

/**
 * formatCsv writes one line per prediction, as cells: a scalar is one cell, an array one cell
 * per element, an object one cell per scalar value and one per element of an array value, in
 * key order ({"label": 0, "probabilities": [0.9, 0.1]} → 0,0.9,0.1). What is nested deeper is
 * one JSON cell; a cell with a comma, quote or newline is quoted (RFC 4180).
 */
export function formatCsv(predictions: readonly unknown[]): string {
  const lines = predictions.map((p) => cellsOf(p).map(csvCell).join(','));
  return `${lines.join('\n')}\n`;
}

function cellsOf(p: unknown): unknown[] {
  if (Array.isArray(p)) return p;
  if (typeof p !== 'object' || p === null) return [p];
  const out: unknown[] = [];
  for (const v of Object.values(p)) {
    if (Array.isArray(v)) out.push(...v);
    else out.push(v);
  }
  return out;
}

function csvCell(v: unknown): string {
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  const s = typeof v === 'string' ? v : stringifyJson(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
