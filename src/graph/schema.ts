// schema.ts (graph) — the `models.NAME.graph` block: a sequence, an ensemble or a switch over
// other gateway models. The YAML forms are parsed into one tagged shape (GraphConfig), so the
// runner reads `kind` and never the raw keys. Whether the step models exist, and whether a
// graph calls itself, is checked over the whole config (validate.ts).

import { dirname, isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { checkExpression, maxExpressionLength } from './expression.ts';

/** Most steps, members or cases one graph may have. */
export const maxGraphSteps = 64;

/** wiredStepSchema is a sequence step written as an object: a model and how its inputs are fed. */
export const wiredStepSchema = z.strictObject({
    model: z.string().describe('The model this step calls (any configured model, a graph too).'),
    map: z.record(z.string(), z.string()).optional().describe(
      'This step\'s inputs from the previous step\'s outputs: {input_of_this_step: output_of_the_previous}. ' +
      'On the first step it renames the client\'s inputs. Only the mapped tensors (or fields of object rows) are passed on; rows that are not objects go as they are.'),
}).describe('A sequence step with its wiring: `{ model: b, map: { b_input: a_output } }`.');

const sequenceStep = z.union([
  z.string().describe('A model name: the previous step\'s outputs feed its inputs by name.'),
  wiredStepSchema,
]);

/** switchCaseSchema is one case of a switch. */
export const switchCaseSchema = z.strictObject({
  when: z.string().max(maxExpressionLength).superRefine((text, ctx) => {
    const error = checkExpression(text);
    if (error !== undefined) ctx.addIssue({ code: 'custom', message: `bad expression: ${error.message}` });
  }).describe(
    'Condition over the request: paths parameters.NAME[.NAME…], headers.NAME (lower-case), instances.length; ' +
    'string, number, true/false/null literals; == != < <= > >=, &&, ||, !, parentheses, `x in [..]`. ' +
    `At most ${maxExpressionLength} characters; checked when the config is loaded.`),
  model: z.string().describe('The model that takes the request when the condition holds.'),
}).describe('One case of a switch.');

/** combineKinds are the built-in ways an ensemble merges its members' answers. */
export const combineKinds = ['mean', 'vote', 'concat'] as const;
export type Combine = (typeof combineKinds)[number];

/** combineModuleSchema is `combine: { module: ./combine.ts }`: the user's combine function on worker threads. */
export const combineModuleSchema = z.strictObject({
  module: z.string().min(1).describe(
    'Path of an ESM or TypeScript module, relative to the config file, exporting combine(answers, request, context): the members\' answers ' +
    '({predictions} or {outputs}) in member order, the request as a transform sees it; it returns an answer as a postprocess does. It may export load(context).'),
  options: z.record(z.string(), z.unknown()).default({}).describe('Passed to the module as context.options.'),
  workers: z.coerce.number().int().min(1).max(64).optional().describe('Worker threads running the module (each runs load() once); default one per core.'),
  maxQueue: z.coerce.number().int().min(1).max(100_000).default(1024).describe('Calls that may wait for a free worker; more → 429 queue_full.'),
}).describe('An ensemble\'s combine as user code, run as transform modules are.');

export type CombineModuleConfig = z.infer<typeof combineModuleSchema>;

export interface SequenceStep { model: string; map?: Record<string, string> }
export interface SwitchCase { when: string; model: string }

/** GraphConfig is a parsed `graph` block. */
export type GraphConfig =
  | { kind: 'sequence'; steps: SequenceStep[] }
  | { kind: 'ensemble'; members: string[]; combine: Combine | CombineModuleConfig; allowPartial: boolean }
  | { kind: 'switch'; cases: SwitchCase[]; default?: string };

/** graphSchema is the `models.NAME.graph` block. */
export const graphSchema = z.strictObject({
  sequence: z.array(sequenceStep).min(1).max(maxGraphSteps).optional().describe(
    'Models called one after another: each step\'s outputs (tensors, matched by name or by `map`; or its predictions, as the next step\'s instances) ' +
    'feed the next; the last step answers. With no name in common and no map, a single output feeds a single input.'),
  ensemble: z.array(z.string()).min(1).max(maxGraphSteps).optional().describe(
    'Models called in parallel with the same request; `combine` merges their answers.'),
  combine: z.union([z.enum(combineKinds), combineModuleSchema], { error: `expected one of ${combineKinds.map((k) => `"${k}"`).join(', ')}, or { module: ./combine.ts }` }).optional().describe(
    'How an ensemble merges: "mean" = element-wise mean of the float outputs of the same name (other outputs are left out), or of numeric predictions; ' +
    '"vote" = the majority class per row (a label, or the argmax of scores; a tie goes to the first member\'s class); ' +
    '"concat" = outputs of the same name concatenated along the last axis, or each row\'s predictions as a list, one per member; ' +
    '`{ module: ./combine.ts }` = the module\'s combine(answers, request, context).'),
  allowPartial: z.boolean().optional().describe(
    'Ensemble: answer with the members that succeeded, dropping (and counting) those that failed; the call fails only when all fail. Default false: any failure fails the call.'),
  switch: z.array(switchCaseSchema).min(1).max(maxGraphSteps).optional().describe(
    'Cases tried in order; the first whose `when` holds takes the request.'),
  default: z.string().optional().describe('Switch: the model that takes a request no case matched; without it such a request is 400 bad_request.'),
}).superRefine((g, ctx) => {
  const kinds = (['sequence', 'ensemble', 'switch'] as const).filter((k) => g[k] !== undefined);
  if (kinds.length !== 1) {
    ctx.addIssue({ code: 'custom', message: kinds.length === 0
      ? 'a graph needs one of `sequence`, `ensemble` or `switch`'
      : `a graph is one of \`sequence\`, \`ensemble\` or \`switch\`, not ${kinds.map((k) => `\`${k}\``).join(' and ')}` });
    return;
  }
  if (g.ensemble !== undefined && g.combine === undefined) {
    ctx.addIssue({ code: 'custom', path: ['combine'], message: `an ensemble needs \`combine\`: ${combineKinds.join(', ')}` });
  }
  for (const key of ['combine', 'allowPartial'] as const) {
    if (g[key] !== undefined && g.ensemble === undefined) ctx.addIssue({ code: 'custom', path: [key], message: `\`${key}\` belongs to an ensemble` });
  }
  if (g.default !== undefined && g.switch === undefined) ctx.addIssue({ code: 'custom', path: ['default'], message: '`default` belongs to a switch' });
}).transform((g): GraphConfig => {
  if (g.sequence !== undefined) {
    return { kind: 'sequence', steps: g.sequence.map((s) => (typeof s === 'string' ? { model: s } : s.map === undefined ? { model: s.model } : { model: s.model, map: s.map })) };
  }
  if (g.ensemble !== undefined) return { kind: 'ensemble', members: g.ensemble, combine: g.combine!, allowPartial: g.allowPartial ?? false };
  return { kind: 'switch', cases: g.switch!, ...(g.default === undefined ? {} : { default: g.default }) };
}).describe(
  'This model is a graph of other gateway models instead of `targets`: each step is a call to that model\'s whole path (its split, batcher, guards). ' +
  'One of `sequence`, `ensemble` (with `combine`) or `switch` (with an optional `default`). The model\'s timeoutMs covers the whole graph.');

/** stepModels lists the models a graph calls, with where each is named in its block (for config errors). */
export function stepModels(g: GraphConfig): Array<{ model: string; path: Array<string | number> }> {
  switch (g.kind) {
    case 'sequence': return g.steps.map((s, i) => ({ model: s.model, path: ['sequence', i] }));
    case 'ensemble': return g.members.map((m, i) => ({ model: m, path: ['ensemble', i] }));
    case 'switch': return [
      ...g.cases.map((c, i) => ({ model: c.model, path: ['switch', i, 'model'] })),
      ...(g.default === undefined ? [] : [{ model: g.default, path: ['default'] }]),
    ];
  }
}

/** resolveGraphFiles makes a combine module's path absolute, against the folder of the config file that names it. */
export function resolveGraphFiles(models: Record<string, { graph?: GraphConfig | undefined }>, configFile: string): void {
  const dir = dirname(resolve(configFile));
  for (const model of Object.values(models)) {
    const g = model.graph;
    if (g?.kind === 'ensemble' && typeof g.combine === 'object' && !isAbsolute(g.combine.module)) g.combine.module = resolve(dir, g.combine.module);
  }
}
