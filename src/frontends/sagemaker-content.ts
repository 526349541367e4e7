// sagemaker-content.ts — SageMaker's content types both ways: the answer's type chosen from
// Accept (q-values and wildcards, as RFC 9110 reads them; 406 naming what is offered when none
// fits), and JSON Lines in and out (one instance per line in, one prediction per line out), as
// SageMaker batch transform and the built-in algorithms speak them.

import { parseJson } from '../codecs/json.ts';
import { stringifyJson } from '../codecs/json.ts';
import { clip, GatewayError } from '../errors.ts';

/** jsonLinesTypes are the media types read and written as JSON Lines. */
export const jsonLinesTypes: ReadonlySet<string> = new Set(['application/jsonlines', 'application/jsonl', 'application/x-jsonlines']);

/** rowAnswerTypes are what a rows answer may be written as, the first preferred. */
export const rowAnswerTypes = ['application/json', 'text/csv', 'application/jsonlines'] as const;

/**
 * chooseAnswerType gives the first type in `offered` that Accept allows, by the client's
 * preference (q), then the order offered. No Accept (or an empty one) takes the first offered;
 * an Accept that allows none of them is a 406 naming what could be sent.
 */
export function chooseAnswerType<T extends string>(accept: string | undefined, offered: readonly T[]): T {
  if (accept === undefined || accept.trim() === '') return offered[0]!;
  const ranges = accept.split(',', 64).map((part, order) => {
    const [range = '', ...params] = part.split(';');
    let q = 1;
    for (const p of params) {
      const [k, v] = p.split('=').map((s) => s.trim().toLowerCase());
      if (k === 'q' && v !== undefined && /^(0(\.\d{0,3})?|1(\.0{0,3})?)$/.test(v)) q = Number(v);
    }
    return { range: range.trim().toLowerCase(), q, order };
  }).filter((r) => r.range !== '');
  const allows = (type: string): number => {
    // The most specific range that names the type decides its q (RFC 9110 §12.5.1).
    const [major] = type.split('/');
    const exact = ranges.find((r) => r.range === type) ?? ranges.find((r) => r.range === `${major}/*`) ?? ranges.find((r) => r.range === '*/*');
    return exact?.q ?? 0;
  };
  let best: T | undefined;
  let bestQ = 0;
  for (const type of offered) {
    const q = allows(type);
    if (q > bestQ) { best = type; bestQ = q; }
  }
  if (best !== undefined) return best;
  throw new GatewayError('not_acceptable',
    `Accept ${JSON.stringify(clip(accept, 100))} allows none of the types this answer can be sent as: ${offered.join(', ')}`);
}

/** parseJsonLines reads one JSON value per non-empty line as one instance; a bad line is a 400 naming it. */
export function parseJsonLines(body: Buffer, maxDepth: number): unknown[] {
  const instances: unknown[] = [];
  const lines = body.toString('utf8').split('\n');
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    try {
      instances.push(parseJson(line, { maxDepth }));
    } catch (err) {
      throw new GatewayError('bad_request', `JSON Lines line ${i + 1}: ${(err as Error).message}`);
    }
  });
  if (instances.length === 0) throw new GatewayError('bad_request', 'the JSON Lines body has no lines; send one JSON instance per line');
  return instances;
}

/** formatJsonLines writes one prediction per line. */
export function formatJsonLines(predictions: readonly unknown[]): string {
  return predictions.map((p) => stringifyJson(p)).join('\n') + '\n';
}
