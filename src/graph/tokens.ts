// tokens.ts (graph) — the tokenizer of the switch conditions' language (expression.ts): strings
// with escapes, numbers, names (a header name may hold "-": the language has no minus), and the
// operators. Every token carries its position, for errors.

/** ExpressionError is a syntax error; `position` is the 1-based character it was found at. */
export class ExpressionError extends Error {
  readonly position: number;
  constructor(message: string, position: number) {
    super(`${message} at position ${position}`);
    this.name = 'ExpressionError';
    this.position = position;
  }
}

/** Literal is a value written in an expression. */
export type Literal = string | number | boolean | null;

/** Token is one token; `at` is its 1-based position. */
export interface Token { kind: 'op' | 'name' | 'string' | 'number' | 'end'; text: string; value?: Literal; at: number }

const operators = ['==', '!=', '<=', '>=', '&&', '||', '<', '>', '!', '(', ')', '[', ']', ',', '.'];

/** tokenize reads the whole text into tokens; throws ExpressionError at a character it cannot read. */
export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') { i++; continue; }
    const at = i + 1;
    if (c === '\'' || c === '"') {
      let value = '';
      let j = i + 1;
      for (; j < text.length && text[j] !== c; j++) {
        if (text[j] !== '\\') { value += text[j]; continue; }
        const e = text[++j];
        const escaped = e === 'n' ? '\n' : e === 't' ? '\t' : e === '\\' || e === '\'' || e === '"' ? e : undefined;
        if (escaped === undefined) throw new ExpressionError(`unknown escape "\\${e ?? ''}" in a string`, j);
        value += escaped;
      }
      if (j >= text.length) throw new ExpressionError('unterminated string', at);
      tokens.push({ kind: 'string', text: text.slice(i, j + 1), value, at });
      i = j + 1;
      continue;
    }
    const number = /^-?\d+(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 64));
    if (number !== null) {
      const value = Number(number[0]);
      if (!Number.isFinite(value)) throw new ExpressionError(`number ${number[0]} is out of range`, at);
      tokens.push({ kind: 'number', text: number[0], value, at });
      i += number[0].length;
      continue;
    }
    const name = /^[A-Za-z_][A-Za-z0-9_-]*/.exec(text.slice(i, i + 256));
    if (name !== null) {
      tokens.push({ kind: 'name', text: name[0], at });
      i += name[0].length;
      continue;
    }
    const op = operators.find((o) => text.startsWith(o, i));
    if (op === undefined) {
      const hint = c === '=' ? ' (compare with ==)' : c === '&' ? ' (use &&)' : c === '|' ? ' (use ||)' : '';
      throw new ExpressionError(`unexpected character ${JSON.stringify(c)}${hint}`, at);
    }
    tokens.push({ kind: 'op', text: op, at });
    i += op.length;
  }
  tokens.push({ kind: 'end', text: 'the end', at: text.length + 1 });
  return tokens;
}
