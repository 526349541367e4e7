// validate.ts — what a graph block cannot check alone, checked over the whole config: every step
// names a configured model, and no graph calls itself, directly or through other graphs (a
// cycle would recurse until its deadline). src/schema.ts reports these at the graph's path.

import { stepModels, type GraphConfig } from './schema.ts';

/** GraphIssue is one problem, at a path from the config's root. */
export interface GraphIssue {
  path: Array<string | number>;
  message: string;
}

/** graphIssues lists unknown step models and cycles among the graph models of `models`. */
export function graphIssues(models: Readonly<Record<string, { graph?: GraphConfig | undefined }>>): GraphIssue[] {
  const issues: GraphIssue[] = [];
  const names = Object.keys(models);
  const calls = new Map<string, string[]>();
  for (const [name, model] of Object.entries(models)) {
    // A block its own schema refused is not in its parsed form; its issues are reported already.
    if (model.graph === undefined || typeof (model.graph as { kind?: unknown }).kind !== 'string') continue;
    const steps = stepModels(model.graph);
    for (const step of steps) {
      if (Object.hasOwn(models, step.model)) continue;
      const listed = names.length > 20 ? `${names.slice(0, 20).join(', ')}, …` : names.join(', ');
      issues.push({ path: ['models', name, 'graph', ...step.path], message: `unknown model "${step.model}"; configured: ${listed}` });
    }
    calls.set(name, [...new Set(steps.map((s) => s.model).filter((m) => Object.hasOwn(models, m)))]);
  }
  for (const cycle of findCycles(calls)) {
    issues.push({ path: ['models', cycle[0]!, 'graph'], message: `a graph may not call itself: ${cycle.join(' → ')}` });
  }
  return issues;
}

/**
 * findCycles gives one cycle per back edge of a depth-first walk over the graph models (names in
 * sorted order, so the report is stable), each written from the model where it was entered back
 * to it: ['a', 'b', 'a']. Iterative, so a chain of many graphs cannot overflow the stack.
 */
export function findCycles(calls: ReadonlyMap<string, readonly string[]>): string[][] {
  const state = new Map<string, 'open' | 'done'>();
  const cycles: string[][] = [];
  for (const start of [...calls.keys()].sort()) {
    if (state.has(start)) continue;
    const stack: Array<{ node: string; next: number }> = [{ node: start, next: 0 }];
    state.set(start, 'open');
    while (stack.length > 0) {
      const top = stack.at(-1)!;
      const out = calls.get(top.node) ?? [];
      if (top.next >= out.length) {
        state.set(top.node, 'done');
        stack.pop();
        continue;
      }
      const to = out[top.next++]!;
      const s = state.get(to);
      if (s === 'open') {
        const from = stack.findIndex((f) => f.node === to);
        cycles.push([...stack.slice(from).map((f) => f.node), to]);
      } else if (s === undefined && calls.has(to)) {
        state.set(to, 'open');
        stack.push({ node: to, next: 0 });
      }
    }
  }
  return cycles;
}
