// label-file.ts — reads a file of class labels once, when a model is built: the labels step and
// the classification stage both name classes from it. A bad file is a config error that names
// the file and what is wrong with it, so `infergate check` can report it.

import { readFileSync, statSync } from 'node:fs';
import { GatewayError } from '../../errors.ts';

/** maxLabelFileBytes bounds a labels file (16 MiB holds a million long labels). */
export const maxLabelFileBytes = 16 * 1024 * 1024;
/** maxLabels bounds the labels one file may hold. */
export const maxLabels = 1_000_000;

/**
 * readLabels reads a labels file: a JSON array of strings (when its first non-blank character
 * is "["), or one label per line (class 0 on the first line; "\r\n" line ends, a byte-order
 * mark and blank lines at the end are allowed; a blank line in the middle is an error, as it
 * would shift every label after it). Throws GatewayError('bad_config') naming the file.
 */
export function readLabels(path: string, step = 'labels'): string[] {
  const fail = (why: string): GatewayError => new GatewayError('bad_config', `${step}: labels file ${path}: ${why}`);
  let text: string;
  try {
    const size = statSync(path).size;
    if (size > maxLabelFileBytes) throw fail(`is ${size} bytes; at most ${maxLabelFileBytes} are read`);
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if (err instanceof GatewayError) throw err;
    throw fail(`cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const labels = text.trimStart().startsWith('[') ? jsonLabels(text, fail) : lineLabels(text, fail);
  if (labels.length === 0) throw fail('holds no labels');
  if (labels.length > maxLabels) throw fail(`holds ${labels.length} labels; at most ${maxLabels} are allowed`);
  return labels;
}

function jsonLabels(text: string, fail: (why: string) => GatewayError): string[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw fail(`is not valid JSON (${(err as Error).message})`);
  }
  if (!Array.isArray(doc)) throw fail('is not a JSON array of strings');
  doc.forEach((label, i) => {
    if (typeof label !== 'string') throw fail(`element ${i} is not a string`);
  });
  return doc as string[];
}

function lineLabels(text: string, fail: (why: string) => GatewayError): string[] {
  const lines = text.split('\n').map((line) => (line.endsWith('\r') ? line.slice(0, -1) : line));
  while (lines.length > 0 && lines[lines.length - 1]!.trim() === '') lines.pop();
  lines.forEach((line, i) => {
    if (line.trim() === '') throw fail(`line ${i + 1} is blank; write one label per line, class 0 first`);
  });
  return lines;
}
