// json-keys.ts (test support) — finds keys that one JSON object writes twice. JSON.parse keeps the
// last of them silently, so a log line that repeats a key looks fine once parsed; this reads the
// text itself (RFC 8259 grammar) and names every repeated key with its path.

/** repeatedKeys returns the paths (`a.b`) of the keys repeated in one JSON text; throws on bad JSON. */
export function repeatedKeys(text: string): string[] {
  let at = 0;
  const found: string[] = [];
  const space = (): void => { while (at < text.length && ' \t\n\r'.includes(text[at]!)) at++; };
  const fail = (what: string): never => { throw new Error(`${what} at offset ${at} of ${text.slice(0, 120)}`); };
  const string = (): string => {
    const start = at;
    at++; // the opening quote
    while (at < text.length && text[at] !== '"') at += text[at] === '\\' ? 2 : 1;
    if (at >= text.length) fail('unterminated string');
    at++;
    return JSON.parse(text.slice(start, at)) as string;
  };
  const value = (path: string): void => {
    space();
    const c = text[at];
    if (c === '{') return object(path);
    if (c === '[') {
      at++; space();
      if (text[at] === ']') { at++; return; }
      for (let i = 0; ; i++) {
        value(`${path}[${i}]`); space();
        if (text[at] === ',') { at++; continue; }
        if (text[at] === ']') { at++; return; }
        fail('expected , or ]');
      }
    }
    if (c === '"') { string(); return; }
    const literal = /^(?:true|false|null|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?)/.exec(text.slice(at, at + 400));
    if (literal === null) fail('unexpected token');
    at += literal![0].length;
  };
  const object = (path: string): void => {
    at++; space();
    const keys = new Set<string>();
    if (text[at] === '}') { at++; return; }
    for (;;) {
      space();
      if (text[at] !== '"') fail('expected a key');
      const key = string();
      const keyPath = path === '' ? key : `${path}.${key}`;
      if (keys.has(key)) found.push(keyPath);
      keys.add(key);
      space();
      if (text[at] !== ':') fail('expected :');
      at++;
      value(keyPath); space();
      if (text[at] === ',') { at++; continue; }
      if (text[at] === '}') { at++; return; }
      fail('expected , or }');
    }
  };
  value('');
  space();
  if (at !== text.length) fail('text after the value');
  return found;
}

/** linesWithRepeatedKeys reads a process's output and returns each JSON line that repeats a key, with the keys. */
export function linesWithRepeatedKeys(output: string): Array<{ line: string; keys: string[] }> {
  const bad: Array<{ line: string; keys: string[] }> = [];
  // Only whole lines: the last one may still be being written.
  for (const line of output.split('\n').slice(0, -1)) {
    if (!line.startsWith('{')) continue; // a spawned model server's own output, not the gateway's
    let keys: string[];
    try { keys = repeatedKeys(line); } catch { continue; } // not JSON: not a log line of ours
    if (keys.length > 0) bad.push({ line, keys });
  }
  return bad;
}
