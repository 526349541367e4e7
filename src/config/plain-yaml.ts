// plain-yaml.ts — a fast reader for the YAML configs are written in: block maps and sequences,
// flow collections on one line, plain and quoted scalars, comments. The yaml library takes
// seconds for a config of 20,000 models (its concrete syntax tree alone is most of it); this
// takes tens of milliseconds. It gives exactly what the yaml library's core schema gives for
// what it reads, and gives up (undefined) on anything else — anchors, aliases, tags, block or
// multi-line scalars, documents markers, duplicate keys, odd indentation — so that the caller
// falls back to the library, which also places every error at its line.

/** What the reader does with a string scalar (a key or a value); `plain` when it was unquoted. */
export type StringScalar = (text: string, plain: boolean) => unknown;

interface Line { indent: number; text: string }

class NotPlain extends Error {}

const notPlain = (): never => { throw new NotPlain(); };

/** readPlainYaml reads `text`, or gives undefined when it is not in the subset this reader knows. */
export function readPlainYaml(text: string, onString: StringScalar = (s) => s): { value: unknown } | undefined {
  if (text.includes('\t') || text.includes('\r') || text.charCodeAt(0) === 0xfeff) return undefined;
  const lines: Line[] = [];
  for (const raw of text.split('\n')) {
    const body = raw.trimStart();
    if (body === '' || body.startsWith('#')) continue;
    if (/^(---|\.\.\.|%)/.test(raw)) return undefined;
    lines.push({ indent: raw.length - body.length, text: body.trimEnd() });
  }
  if (lines.length === 0) return { value: null };
  if (lines[0]!.indent !== 0) return undefined;
  try {
    const reader = new BlockReader(lines, onString);
    const value = reader.block(0);
    return reader.done() ? { value } : undefined;
  } catch (err) {
    if (err instanceof NotPlain) return undefined;
    throw err;
  }
}

class BlockReader {
  #at = 0;
  readonly #lines: Line[];
  readonly #onString: StringScalar;
  constructor(lines: Line[], onString: StringScalar) {
    this.#lines = lines;
    this.#onString = onString;
  }

  done(): boolean { return this.#at === this.#lines.length; }

  block(indent: number): unknown {
    const text = this.#lines[this.#at]!.text;
    if (isItem(text)) return this.#sequence(indent);
    if (keyOf(text, 0) !== undefined) return this.#map(indent);
    // A value on a line of its own, under its key ("key:\n  [a, b]").
    if (this.#at === 0) notPlain();
    this.#at++;
    return this.#inline(text);
  }

  #map(indent: number): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    while (this.#at < this.#lines.length && this.#lines[this.#at]!.indent === indent) {
      const line = this.#lines[this.#at]!;
      if (isItem(line.text)) notPlain();
      const entry = keyOf(line.text, 0) ?? notPlain();
      const key = mapKey(entry.key, entry.plain, this.#onString);
      if (Object.hasOwn(out, key)) notPlain();
      const rest = line.text.slice(entry.end).trimStart();
      this.#at++;
      out[key] = rest === '' || rest.startsWith('#') ? this.#nested(indent, true) : this.#inline(rest);
    }
    this.#dedented(indent);
    return out;
  }

  #sequence(indent: number): unknown[] {
    const out: unknown[] = [];
    while (this.#at < this.#lines.length && this.#lines[this.#at]!.indent === indent && isItem(this.#lines[this.#at]!.text)) {
      const line = this.#lines[this.#at]!;
      const rest = line.text.slice(1).trimStart();
      if (rest === '' || rest.startsWith('#')) {
        this.#at++;
        out.push(this.#nested(indent, false));
      } else if (isItem(rest) || keyOf(rest, 0) !== undefined) {
        // "- - item" or "- key: value": a sequence or map whose entries line up with this first one.
        const inner = indent + line.text.length - rest.length;
        this.#lines[this.#at] = { indent: inner, text: rest };
        out.push(isItem(rest) ? this.#sequence(inner) : this.#map(inner));
      } else {
        this.#at++;
        out.push(this.#inline(rest));
      }
    }
    this.#dedented(indent);
    return out;
  }

  // #nested reads the block under a key or "-" with nothing after it; a map's key may have its
  // sequence at its own indentation.
  #nested(indent: number, underKey: boolean): unknown {
    const next = this.#lines[this.#at];
    if (next === undefined) return null;
    if (next.indent > indent) return this.block(next.indent);
    if (underKey && next.indent === indent && isItem(next.text)) return this.#sequence(indent);
    return null;
  }

  // #inline reads a value written after its key or "-" on the same line; nothing may continue it.
  #inline(text: string): unknown {
    const next = this.#lines[this.#at];
    if (next !== undefined && next.indent > (this.#lines[this.#at - 1]?.indent ?? 0)) notPlain();
    const flow = new FlowReader(text, this.#onString);
    const value = flow.value(false);
    flow.end();
    return value;
  }

  #dedented(indent: number): void {
    const next = this.#lines[this.#at];
    if (next !== undefined && next.indent > indent) notPlain();
  }
}

// FlowReader reads one value from one line: a flow map or sequence, a quoted or a plain scalar.
class FlowReader {
  #at = 0;
  readonly #text: string;
  readonly #onString: StringScalar;
  constructor(text: string, onString: StringScalar) {
    this.#text = text;
    this.#onString = onString;
  }

  end(): void {
    this.#space();
    if (this.#at === this.#text.length) return;
    // Only a "#" after white space starts a comment: `{}#` is an error to the library.
    if (this.#text[this.#at] !== '#' || this.#text[this.#at - 1] !== ' ') notPlain();
  }

  value(inFlow: boolean): unknown {
    this.#space();
    const c = this.#text[this.#at];
    if (c === '{') return this.#map();
    if (c === '[') return this.#sequence();
    if (c === '"' || c === "'") {
      const { text, end } = quoted(this.#text, this.#at);
      this.#at = end;
      return this.#onString(text, false);
    }
    const text = this.#plain(inFlow);
    const value = scalarOf(text);
    return typeof value === 'string' ? this.#onString(value, true) : value;
  }

  #map(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    this.#at++;
    for (;;) {
      this.#space();
      if (this.#text[this.#at] === '}') break;
      const entry = keyOf(this.#text, this.#at, true) ?? notPlain();
      if (entry.plain && /[[\]{},]/.test(entry.key)) notPlain();
      const key = mapKey(entry.key, entry.plain, this.#onString);
      if (Object.hasOwn(out, key)) notPlain();
      this.#at = entry.end;
      this.#space();
      const c = this.#text[this.#at];
      out[key] = c === ',' || c === '}' ? null : this.value(true);
      if (!this.#separator('}')) break;
    }
    this.#at++;
    return out;
  }

  #sequence(): unknown[] {
    const out: unknown[] = [];
    this.#at++;
    for (;;) {
      this.#space();
      if (this.#text[this.#at] === ']') break;
      if (keyOf(this.#text, this.#at, true) !== undefined) notPlain(); // [a: 1] is a map in a sequence
      out.push(this.value(true));
      if (!this.#separator(']')) break;
    }
    this.#at++;
    return out;
  }

  // #separator steps over a "," (true: more may follow) or stops before `close` (false).
  #separator(close: string): boolean {
    this.#space();
    const c = this.#text[this.#at];
    if (c === ',') { this.#at++; return true; }
    if (c === close) return false;
    return notPlain();
  }

  #plain(inFlow: boolean): string {
    const start = this.#at;
    if (start >= this.#text.length) return '';
    if (/^[-?:](?:\s|$)|^[&*!|>%@`#,[\]{}]/.test(this.#text.slice(start, start + 2))) notPlain();
    let end = start;
    for (; end < this.#text.length; end++) {
      const c = this.#text[end]!;
      if (c === '#' && this.#text[end - 1] === ' ') break;
      if (c === ':' && (end + 1 === this.#text.length || this.#text[end + 1] === ' ' || (inFlow && ',[]{}'.includes(this.#text[end + 1]!)))) notPlain();
      if (inFlow && ',[]{}'.includes(c)) break;
    }
    this.#at = end;
    return this.#text.slice(start, end).trimEnd();
  }

  #space(): void {
    while (this.#text[this.#at] === ' ') this.#at++;
  }
}

// mapKey resolves a map key as the library would: a string (a plain key typed otherwise, `<<` and
// `__proto__` are given up on), after the caller's expansion.
function mapKey(text: string, plain: boolean, onString: StringScalar): string {
  const value = plain ? scalarOf(text) : text;
  if (typeof value !== 'string') notPlain();
  const key = onString(value as string, plain);
  if (typeof key !== 'string' || key === '__proto__' || key === '<<') notPlain();
  return key as string;
}

const isItem = (text: string): boolean => text[0] === '-' && (text.length === 1 || text[1] === ' ');

// keyOf finds "key:" at `from` (a ":" then a space, the line's end, or in flow an indicator):
// the key's text, whether it was plain, and where its value starts.
function keyOf(text: string, from: number, inFlow = false): { key: string; plain: boolean; end: number } | undefined {
  const c = text[from];
  if (c === '"' || c === "'") {
    const { text: key, end } = quoted(text, from);
    return text[end] === ':' && (end + 1 === text.length || text[end + 1] === ' ' || (inFlow && ',[]{}'.includes(text[end + 1]!))) ? { key, plain: false, end: end + 1 } : undefined;
  }
  if (c === undefined || /[&*!|>%@`#,[\]{}]/.test(c) || (/[-?:]/.test(c) && (from + 1 === text.length || text[from + 1] === ' '))) return undefined;
  for (let i = from; i < text.length; i++) {
    const d = text[i]!;
    if (d === '#' && text[i - 1] === ' ') return undefined;
    if (inFlow && ',[]{}'.includes(d)) return undefined;
    if (d === ':' && (i + 1 === text.length || text[i + 1] === ' ' || (inFlow && ',[]{}'.includes(text[i + 1]!)))) {
      return { key: text.slice(from, i).trimEnd(), plain: true, end: i + 1 };
    }
  }
  return undefined;
}

const escapes: Record<string, string> = { '\\': '\\', '"': '"', '/': '/', n: '\n', t: '\t', r: '\r', '0': '\0', b: '\b', f: '\f', ' ': ' ' };

// quoted reads a single- or double-quoted scalar that closes on its line.
function quoted(text: string, from: number): { text: string; end: number } {
  const q = text[from]!;
  let out = '';
  for (let i = from + 1; i < text.length; i++) {
    const c = text[i]!;
    if (q === "'") {
      if (c !== "'") { out += c; continue; }
      if (text[i + 1] === "'") { out += "'"; i++; continue; }
      return { text: out, end: i + 1 };
    }
    if (c === '"') return { text: out, end: i + 1 };
    if (c !== '\\') { out += c; continue; }
    const e = text[++i];
    if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(text.slice(i + 1, i + 5))) {
      out += String.fromCharCode(parseInt(text.slice(i + 1, i + 5), 16));
      i += 4;
    } else if (e !== undefined && Object.hasOwn(escapes, e)) out += escapes[e];
    else notPlain();
  }
  return notPlain();
}

// scalarOf resolves a plain scalar as the yaml library's core schema does, tag by tag in its order.
function scalarOf(text: string): unknown {
  if (/^(?:~|[Nn]ull|NULL)?$/.test(text)) return null;
  if (/^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$/.test(text)) return text[0] === 't' || text[0] === 'T';
  if (/^0o[0-7]+$/.test(text)) return parseInt(text.slice(2), 8);
  if (/^[-+]?[0-9]+$/.test(text)) return parseInt(text, 10);
  if (/^0x[0-9a-fA-F]+$/.test(text)) return parseInt(text.slice(2), 16);
  if (/^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/.test(text)) return text.slice(-3).toLowerCase() === 'nan' ? NaN : text[0] === '-' ? -Infinity : Infinity;
  if (/^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$/.test(text) || /^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$/.test(text)) return parseFloat(text);
  return text;
}
