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

/**
 * expandEnv replaces every ${VAR} / ${VAR:-default} / ${VAR-default} in text. `:-` uses the
 * default when VAR is unset or empty, `-` only when unset (POSIX). `$$` is a literal `$`.
 * An unset ${VAR} without default throws EnvError.
 */
export function expandEnv(text: string, env: Record<string, string | undefined>): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === '$' && text[i + 1] === '$') {
      out += '$';
      i += 2;
    } else if (c === '$' && text[i + 1] === '{') {
      const [value, end] = expandOne(text, i, env);
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
function expandOne(text: string, start: number, env: Record<string, string | undefined>): [string, number] {
  const nameMatch = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(start + 2));
  if (nameMatch === null) throw new EnvError(`bad variable reference at "${text.slice(start, start + 12)}"`, start);
  const name = nameMatch[0];
  let i = start + 2 + name.length;
  const value = env[name];
  if (text[i] === '}') {
    if (value === undefined) throw new EnvError(`environment variable ${name} is not set (use \${${name}:-default})`, start);
    return [value, i + 1];
  }
  let emptyCounts: boolean;
  if (text.startsWith(':-', i)) { emptyCounts = true; i += 2; }
  else if (text[i] === '-') { emptyCounts = false; i += 1; }
  else throw new EnvError(`expected "}" or ":-" after \${${name}`, start);
  // The default runs to the matching brace and may itself hold ${...}; it is expanded only
  // when used, so ${SET:-${UNSET}} works.
  const from = i;
  let depth = 0;
  for (; i < text.length; i++) {
    const c = text[i];
    if (c === '{') depth++;
    else if (c === '}') {
      if (depth === 0) break;
      depth--;
    }
  }
  if (i >= text.length) throw new EnvError(`unclosed \${${name}`, start);
  const useDefault = value === undefined || (emptyCounts && value === '');
  return [useDefault ? expandEnv(text.slice(from, i), env) : value, i + 1];
}
