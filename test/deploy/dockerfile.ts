// dockerfile.ts (test support) — reads a Dockerfile into stages and instructions, resolves ARG
// defaults and stage references, so the deploy tests can check an image without a container engine.

import { readFileSync } from 'node:fs';

/** Instruction is one Dockerfile instruction with its continuation lines joined. */
export interface Instruction {
  keyword: string;
  args: string;
  line: number;
}

/** Stage is one FROM and the instructions up to the next FROM. */
export interface Stage {
  from: string;
  name?: string;
  instructions: Instruction[];
}

/** Dockerfile is a parsed file: global ARG defaults (before the first FROM) and the stages. */
export interface Dockerfile {
  args: Record<string, string>;
  stages: Stage[];
}

/** parseDockerfile splits text into global ARGs and stages; comment lines are dropped, also inside continuations. */
export function parseDockerfile(text: string): Dockerfile {
  const instructions: Instruction[] = [];
  let pending: { text: string; line: number } | undefined;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trimEnd();
    if (/^\s*#/.test(line) || (pending === undefined && line.trim() === '')) return;
    const continued = line.endsWith('\\');
    const body = continued ? line.slice(0, -1) : line;
    pending = pending === undefined ? { text: body.trim(), line: i + 1 } : { text: `${pending.text} ${body.trim()}`, line: pending.line };
    if (!continued) {
      const m = /^(\S+)\s*(.*)$/.exec(pending.text)!;
      instructions.push({ keyword: m[1]!.toUpperCase(), args: m[2]!.trim(), line: pending.line });
      pending = undefined;
    }
  });
  const args: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const ins of instructions) {
    if (ins.keyword === 'FROM') {
      const m = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args);
      if (m === null) throw new Error(`line ${ins.line}: cannot read FROM ${ins.args}`);
      stages.push({ from: m[1]!, name: m[2], instructions: [] });
    } else if (stages.length === 0) {
      if (ins.keyword !== 'ARG') throw new Error(`line ${ins.line}: ${ins.keyword} before the first FROM`);
      const [name, value] = splitAssignment(ins.args);
      args[name] = value ?? '';
    } else {
      stages.at(-1)!.instructions.push(ins);
    }
  }
  return { args, stages };
}

/** readDockerfile parses the file at path. */
export function readDockerfile(path: string): Dockerfile {
  return parseDockerfile(readFileSync(path, 'utf8'));
}

/** substitute expands $VAR, ${VAR}, ${VAR:-default} with vars; unknown variables expand to ''. */
export function substitute(text: string, vars: Record<string, string>): string {
  return text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
    (_m, braced: string | undefined, fallback: string | undefined, bare: string | undefined) => {
      const value = vars[(braced ?? bare)!];
      return value !== undefined && value !== '' ? value : (fallback ?? '');
    });
}

/**
 * imageChain follows the last stage's FROM through named stages (with global ARG defaults and
 * buildArgs applied) and returns the stages from the final one down to the one built on an image,
 * plus that image.
 */
export function imageChain(file: Dockerfile, buildArgs: Record<string, string> = {}): { stages: Stage[]; image: string } {
  const vars = { ...file.args, ...buildArgs };
  const stages: Stage[] = [];
  let stage = file.stages.at(-1);
  while (stage !== undefined) {
    stages.push(stage);
    const from = substitute(stage.from, vars);
    const named = file.stages.find((s) => s.name === from);
    if (named === undefined) return { stages, image: from };
    stage = named;
  }
  throw new Error('the Dockerfile has no stages');
}

/** stageNamed finds a stage by its AS name. */
export function stageNamed(file: Dockerfile, name: string): Stage {
  const stage = file.stages.find((s) => s.name === name);
  if (stage === undefined) throw new Error(`no stage named ${name}`);
  return stage;
}

/** all lists the instructions with a keyword across stages, in order. */
export function all(stages: Stage[], keyword: string): Instruction[] {
  return stages.flatMap((s) => s.instructions.filter((i) => i.keyword === keyword));
}

/** execForm reads a JSON-array (exec form) argument list; undefined for shell form or bad JSON. */
export function execForm(args: string): string[] | undefined {
  if (!args.startsWith('[')) return undefined;
  try {
    const value: unknown = JSON.parse(args);
    return Array.isArray(value) && value.every((v) => typeof v === 'string') ? value : undefined;
  } catch {
    return undefined;
  }
}

/** envOf collects ENV assignments of the stages, base first (later stages win). */
export function envOf(stagesFinalFirst: Stage[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const stage of [...stagesFinalFirst].reverse()) {
    for (const ins of stage.instructions.filter((i) => i.keyword === 'ENV')) {
      for (const m of ins.args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|\S*)/g)) {
        env[m[1]!] = m[2]!.startsWith('"') ? JSON.parse(m[2]!) as string : m[2]!;
      }
    }
  }
  return env;
}

/** CopyInstruction is a COPY with its flags, sources and destination. */
export interface CopyInstruction {
  from?: string;
  sources: string[];
  dest: string;
}

/** copies reads the COPY instructions of a stage (shell-style form only, as the repo writes them). */
export function copies(stage: Stage): CopyInstruction[] {
  return stage.instructions.filter((i) => i.keyword === 'COPY').map((i) => {
    const words = i.args.split(/\s+/);
    const flags = words.filter((w) => w.startsWith('--'));
    const paths = words.filter((w) => !w.startsWith('--'));
    const from = flags.find((f) => f.startsWith('--from='))?.slice('--from='.length);
    return { from, sources: paths.slice(0, -1), dest: paths.at(-1)! };
  });
}

/** workdir gives the last WORKDIR of the chain (final stage first), default '/'. */
export function workdir(stagesFinalFirst: Stage[]): string {
  for (const stage of stagesFinalFirst) {
    const w = stage.instructions.filter((i) => i.keyword === 'WORKDIR').at(-1);
    if (w !== undefined) return w.args;
  }
  return '/';
}

/** healthcheckUrl reads the URL a HEALTHCHECK's curl asks, unexpanded. */
export function healthcheckUrl(args: string): { port: string; path: string } {
  const m = /curl\s[^"]*"http:\/\/127\.0\.0\.1:(\$\{.+\})(\$\{INFERGATE_HEALTH_ROUTE:-([^}]+)\}|\/[^"]*)"/.exec(args);
  if (m === null) throw new Error(`HEALTHCHECK does not curl http://127.0.0.1:<port><route>: ${args}`);
  return { port: m[1]!, path: m[3] ?? m[2]! };
}

function splitAssignment(text: string): [string, string | undefined] {
  const i = text.indexOf('=');
  return i < 0 ? [text.trim(), undefined] : [text.slice(0, i).trim(), text.slice(i + 1).trim()];
}
