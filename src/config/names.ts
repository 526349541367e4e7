// names.ts — the one strict name pattern: model, backend and target names in the config, route
// placeholders and client headers that name a model. Names are matched on raw bytes, so "..",
// "%2e%2e", "%2F" and look-alikes never reach a handler, a backend or a metric label.

/** namePattern is the source of a strict name: a letter or digit, then letters, digits, "_", "." or "-", at most 128. */
export const namePattern = '[A-Za-z0-9][A-Za-z0-9_.-]{0,127}';

const whole = new RegExp(`^${namePattern}$`);

/** isName says whether a string is a strict name (and not "." or ".."). */
export function isName(value: string): boolean {
  return whole.test(value) && value !== '.' && value !== '..';
}
