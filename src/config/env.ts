// env.ts — ${VAR} and ${VAR:-default} expansion, with nested defaults
// (${AIP_HTTP_PORT:-${SAGEMAKER_BIND_TO_PORT:-8080}}). Pure: the environment is an argument.

/** EnvError says which variable was missing and where in the string. */
export class EnvError extends Error {
  readonly offset: number;
  constructor(message: string, offset: number) {
    super(message);
    this.name = 'EnvError';
    this.offset = offset;
  }
}

/** Deepest nesting of defaults (${A:-${B:-...}}); deeper is refused, so the expansion stays bounded. */
export const maxEnvNesting = 16;

/**
 * expandEnv replaces every ${VAR} / ${VAR:-default} / ${VAR-default} in text. `:-` uses the
 * default when VAR is unset or empty, `-` only when unset (POSIX). `$$` is a literal `$`.
 * An unset or empty ${VAR} without default throws EnvError (an empty value would otherwise
 * turn silently into 0 or false), as does nesting deeper than maxEnvNesting.
 */
export function expandEnv(text: string, env: Record<string, string | undefined>, depth = 0): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === '$' && text[i + 1] === '$') {
      out += '$';
      i += 2;
    } else if (c === '$' && text[i + 1] === '{') {
      const [value, end] = expandOne(text, i, env, depth);
      out += value;
      i = end;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

// expandOne reads ${...} starting at `start` and returns its value and the index after `}`.
function expandOne(text: string, start: number, env: Record<string, string | undefined>, depth: number): [string, number] {
  if (depth >= maxEnvNesting) throw new EnvError(`variable references are nested more than ${maxEnvNesting} deep`, start);
  // Sticky, at the reference: no copy of the rest of the text per reference.
  const namePattern = /[A-Za-z_][A-Za-z0-9_]*/y;
  namePattern.lastIndex = start + 2;
  const nameMatch = namePattern.exec(text);
  if (nameMatch === null) throw new EnvError(`bad variable reference at "${text.slice(start, start + 12)}"`, start);
  const name = nameMatch[0];
  let i = start + 2 + name.length;
  const value = env[name];
  if (text[i] === '}') {
    if (value === undefined) throw new EnvError(`environment variable ${name} is not set (use \${${name}:-default})`, start);
    if (value === '') throw new EnvError(`environment variable ${name} is empty (set it, or give a default: \${${name}:-default})`, start);
    return [value, i + 1];
  }
  let emptyCounts: boolean;
  if (text.startsWith(':-', i)) { emptyCounts = true; i += 2; }
  else if (text[i] === '-') { emptyCounts = false; i += 1; }
  else throw new EnvError(`expected "}" or ":-" after \${${name}`, start);
  // The default runs to the matching brace and may itself hold ${...}; it is expanded only
  // when used, so ${SET:-${UNSET}} works.
  const from = i;
  let braces = 0;
  for (; i < text.length; i++) {
    const c = text[i];
    if (c === '{') braces++;
    else if (c === '}') {
      if (braces === 0) break;
      braces--;
    }
  }
  if (i >= text.length) throw new EnvError(`unclosed \${${name}`, start);
  const useDefault = value === undefined || (emptyCounts && value === '');
  return [useDefault ? expandEnv(text.slice(from, i), env, depth + 1) : value, i + 1];
}
