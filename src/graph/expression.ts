// expression.ts — the conditions of a switch graph (`when: "parameters.lang == 'de'"`): a small
// language read by a hand-written tokenizer and recursive-descent parser, never eval. An
// expression is parsed when the config is loaded (a syntax error is a config error naming the
// position) and compiled into a closure over the request, once per build.
//
//   expr    := and ('||' and)*
//   and     := unary ('&&' unary)*
//   unary   := '!' unary | compare
//   compare := primary (('==' | '!=' | '<' | '<=' | '>' | '>=') primary | 'in' list)?
//   primary := literal | path | '(' expr ')'
//   list    := '[' (literal (',' literal)*)? ']'
//   path    := 'parameters' ('.' name)+ | 'headers' '.' lower-case-name | 'instances' '.' 'length'
//   literal := 'single' | "double" | number | true | false | null

import { ExpressionError, tokenize, type Literal, type Token } from './tokens.ts';

export { ExpressionError };

/** Bounds on an expression's text and nesting: a config is trusted, but not to be unbounded. */
export const maxExpressionLength = 1000;
export const maxExpressionDepth = 32;

/** Scope is what a condition reads of a request. */
export interface Scope {
  parameters?: Record<string, unknown> | undefined;
  headers: Record<string, string | string[] | undefined>;
  instances?: unknown[] | undefined;
}

/** Condition is a compiled expression. */
export type Condition = (scope: Scope) => boolean;

type Node =
  | { kind: 'literal'; value: Literal }
  | { kind: 'path'; root: 'parameters' | 'headers' | 'instances'; segments: string[] }
  | { kind: 'not'; operand: Node }
  | { kind: 'and' | 'or'; left: Node; right: Node }
  | { kind: 'compare'; op: CompareOp; left: Node; right: Node }
  | { kind: 'in'; operand: Node; list: Literal[] };
type CompareOp = '==' | '!=' | '<' | '<=' | '>' | '>=';

// Parser is the recursive descent over the tokens; `depth` bounds the nesting.
class Parser {
  #tokens: Token[];
  #at = 0;
  #depth = 0;

  constructor(tokens: Token[]) { this.#tokens = tokens; }

  parse(): Node {
    const node = this.#or();
    const rest = this.#peek();
    if (rest.kind !== 'end') throw new ExpressionError(`unexpected ${describe(rest)}`, rest.at);
    return node;
  }

  #peek(): Token { return this.#tokens[this.#at]!; }
  #next(): Token { return this.#tokens[this.#at++]!; }
  #isOp(text: string): boolean { const t = this.#peek(); return t.kind === 'op' && t.text === text; }

  #expect(text: string): void {
    const t = this.#next();
    if (t.kind !== 'op' || t.text !== text) throw new ExpressionError(`expected "${text}" but found ${describe(t)}`, t.at);
  }

  #nested<T>(at: number, parse: () => T): T {
    if (++this.#depth > maxExpressionDepth) throw new ExpressionError(`the expression nests deeper than ${maxExpressionDepth}`, at);
    const node = parse();
    this.#depth--;
    return node;
  }

  #or(): Node {
    let left = this.#and();
    while (this.#isOp('||')) { this.#next(); left = { kind: 'or', left, right: this.#and() }; }
    return left;
  }

  #and(): Node {
    let left = this.#unary();
    while (this.#isOp('&&')) { this.#next(); left = { kind: 'and', left, right: this.#unary() }; }
    return left;
  }

  #unary(): Node {
    if (!this.#isOp('!')) return this.#compare();
    const at = this.#next().at;
    return this.#nested(at, () => ({ kind: 'not', operand: this.#unary() }));
  }

  #compare(): Node {
    const left = this.#primary();
    const t = this.#peek();
    if (t.kind === 'op' && ['==', '!=', '<', '<=', '>', '>='].includes(t.text)) {
      this.#next();
      return { kind: 'compare', op: t.text as CompareOp, left, right: this.#primary() };
    }
    if (t.kind === 'name' && t.text === 'in') {
      this.#next();
      return { kind: 'in', operand: left, list: this.#list() };
    }
    return left;
  }

  #list(): Literal[] {
    this.#expect('[');
    const values: Literal[] = [];
    if (this.#isOp(']')) { this.#next(); return values; }
    for (;;) {
      const t = this.#next();
      const value = literalOf(t);
      if (value === undefined) throw new ExpressionError(`expected a string, number, true, false or null in the list but found ${describe(t)}`, t.at);
      values.push(value);
      if (this.#isOp(']')) { this.#next(); return values; }
      this.#expect(',');
    }
  }

  #primary(): Node {
    const t = this.#next();
    if (t.kind === 'op' && t.text === '(') {
      const node = this.#nested(t.at, () => this.#or());
      this.#expect(')');
      return node;
    }
    const value = literalOf(t);
    if (value !== undefined) return { kind: 'literal', value };
    if (t.kind === 'name') return this.#path(t);
    throw new ExpressionError(`expected a value, a path or "(" but found ${describe(t)}`, t.at);
  }

  #path(root: Token): Node {
    const segments: string[] = [];
    while (this.#isOp('.')) {
      this.#next();
      const t = this.#next();
      if (t.kind !== 'name') throw new ExpressionError(`expected a name after "." but found ${describe(t)}`, t.at);
      segments.push(t.text);
    }
    switch (root.text) {
      case 'parameters':
        if (segments.length === 0) throw new ExpressionError('expected parameters.NAME', root.at);
        return { kind: 'path', root: 'parameters', segments };
      case 'headers':
        if (segments.length !== 1) throw new ExpressionError('expected headers.NAME (one header name)', root.at);
        if (segments[0] !== segments[0]!.toLowerCase()) throw new ExpressionError(`header names are lower-case: headers.${segments[0]!.toLowerCase()}`, root.at);
        return { kind: 'path', root: 'headers', segments };
      case 'instances':
        if (segments.length !== 1 || segments[0] !== 'length') throw new ExpressionError('of instances only instances.length can be read', root.at);
        return { kind: 'path', root: 'instances', segments };
      default:
        throw new ExpressionError(`unknown name "${root.text}"; a path starts with parameters., headers. or instances.`, root.at);
    }
  }
}

function literalOf(t: Token): Literal | undefined {
  if (t.kind === 'string' || t.kind === 'number') return t.value;
  if (t.kind !== 'name') return undefined;
  return t.text === 'true' ? true : t.text === 'false' ? false : t.text === 'null' ? null : undefined;
}

function describe(t: Token): string {
  return t.kind === 'end' ? 'the end' : JSON.stringify(t.text.length > 40 ? `${t.text.slice(0, 40)}…` : t.text);
}

/** parseExpression checks an expression's syntax; throws ExpressionError naming the position. */
function parseExpression(text: string): Node {
  if (text.length > maxExpressionLength) throw new ExpressionError(`the expression is longer than ${maxExpressionLength} characters`, maxExpressionLength + 1);
  if (text.trim() === '') throw new ExpressionError('the expression is empty', 1);
  return new Parser(tokenize(text)).parse();
}

/** checkExpression gives the syntax error of an expression, or undefined when it is valid. */
export function checkExpression(text: string): ExpressionError | undefined {
  try {
    parseExpression(text);
    return undefined;
  } catch (err) {
    if (err instanceof ExpressionError) return err;
    throw err;
  }
}

/** compileExpression parses an expression into a condition over a request; throws ExpressionError. */
export function compileExpression(text: string): Condition {
  const evaluate = compile(parseExpression(text));
  return (scope) => truthy(evaluate(scope));
}

type Value = (scope: Scope) => unknown;

function compile(node: Node): Value {
  switch (node.kind) {
    case 'literal': { const v = node.value; return () => v; }
    case 'path': return pathReader(node.root, node.segments);
    case 'not': { const f = compile(node.operand); return (s) => !truthy(f(s)); }
    case 'and': { const a = compile(node.left), b = compile(node.right); return (s) => truthy(a(s)) && truthy(b(s)); }
    case 'or': { const a = compile(node.left), b = compile(node.right); return (s) => truthy(a(s)) || truthy(b(s)); }
    case 'in': { const f = compile(node.operand); const list = node.list; return (s) => { const v = f(s); return list.some((x) => same(v, x)); }; }
    case 'compare': {
      const a = compile(node.left), b = compile(node.right);
      const op = node.op;
      return (s) => compareWith(op, a(s), b(s));
    }
  }
}

function pathReader(root: 'parameters' | 'headers' | 'instances', segments: string[]): Value {
  if (root === 'instances') return (s) => (Array.isArray(s.instances) ? s.instances.length : null);
  if (root === 'headers') {
    const name = segments[0]!;
    return (s) => {
      const v = Object.hasOwn(s.headers, name) ? s.headers[name] : undefined;
      return Array.isArray(v) ? v.join(', ') : v;
    };
  }
  return (s) => {
    let v: unknown = s.parameters;
    // Own keys of plain objects only: `parameters.constructor` reads nothing of the prototype.
    for (const key of segments) {
      if (typeof v !== 'object' || v === null || Array.isArray(v) || !Object.hasOwn(v, key)) return null;
      v = (v as Record<string, unknown>)[key];
    }
    return v;
  };
}

// same is == : strict on strings, numbers and booleans; a missing value equals null.
function same(a: unknown, b: unknown): boolean {
  if ((a === undefined || a === null) && (b === undefined || b === null)) return true;
  return typeof a !== 'object' && a === b;
}

// compareWith orders two numbers or two strings; other pairs are never ordered.
function compareWith(op: CompareOp, a: unknown, b: unknown): boolean {
  if (op === '==') return same(a, b);
  if (op === '!=') return !same(a, b);
  if (!((typeof a === 'number' && typeof b === 'number') || (typeof a === 'string' && typeof b === 'string'))) return false;
  switch (op) {
    case '<': return a < b;
    case '<=': return a <= b;
    case '>': return a > b;
    case '>=': return a >= b;
  }
}

function truthy(v: unknown): boolean {
  return !(v === undefined || v === null || v === false || v === 0 || v === '' || Number.isNaN(v));
}
