// coldstart-compare.ts — process start to first 200 of two source trees, their runs alternating
// (A, B, A, B, …) so that a shared machine's load falls on both alike: the way to read a
// cold-start change where absolute figures move with the neighbours. Each run spawns
// `src/main.ts serve` of a tree and posts every 2 ms until a 200, as bench/coldstart.ts does, on
// the bundled iris default or (BENCH_MODEL=big) a ~100 MB MLP written once to a temp folder.
//   git archive BASE | tar -x -C /tmp/base && ln -s "$PWD/node_modules" /tmp/base/node_modules
//   NODE_COMPILE_CACHE=DIR BENCH_RUNS=7 [BENCH_MODEL=big] node bench/coldstart-compare.ts /tmp/base .

import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { buildMlp } from '../backends/onnx/build-models.ts';

const trees = process.argv.slice(2).map((t) => resolve(t));
if (trees.length < 2) throw new Error('usage: node bench/coldstart-compare.ts TREE_A TREE_B');
const runs = Number(process.env.BENCH_RUNS ?? 7);
const big = process.env.BENCH_MODEL === 'big';
const work = join(tmpdir(), 'coldstart-compare');
mkdirSync(join(work, 'repo', 'big', '1'), { recursive: true });
const bigModel = join(work, 'repo', 'big', '1', 'model.onnx');
if (big && !existsSync(bigModel)) writeFileSync(bigModel, buildMlp([256, 5000, 5000, 10]));

function configOf(tree: string): string {
  const text = big
    ? `server: { port: "\${PORT}", adminPort: 0 }\nfrontends: { vertex: { model: big, predictRoute: /predict, healthRoute: /health } }\n` +
      `backends: { local: { type: onnx, modelRepository: ${join(work, 'repo')}, executionProviders: [cpu] } }\nmodels: { big: { targets: [ { backend: local } ] } }\n`
    : readFileSync(join(tree, 'config/default.yaml'), 'utf8').replace('drainSeconds: 20', 'drainSeconds: 20\n  adminPort: 0')
      .replace('${INFERGATE_MODEL_REPOSITORY:-backends/onnx}', join(tree, 'backends/onnx'));
  const file = join(work, `${trees.indexOf(tree)}.yaml`);
  writeFileSync(file, text);
  return file;
}
const body = big ? JSON.stringify({ instances: [Array.from({ length: 256 }, () => 0.5)] }) : JSON.stringify({ instances: [[5.1, 3.5, 1.4, 0.2]] });

function post(port: number): Promise<number> {
  return new Promise((done) => {
    const req = request({ host: '127.0.0.1', port, path: '/predict', method: 'POST', agent: false, headers: { 'content-type': 'application/json' } }, (res) => {
      res.resume();
      res.on('end', () => done(res.statusCode ?? 0));
    });
    req.on('error', () => done(0));
    req.end(body);
  });
}

let nextPort = 18_500 + Math.floor(Math.random() * 1000);
async function once(tree: string, config: string): Promise<Record<string, number>> {
  const port = nextPort++;
  const began = performance.now();
  const child = spawn(process.execPath, [join(tree, 'src/main.ts'), 'serve', '--config', config], { cwd: tree, env: { ...process.env, PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout!.on('data', (c: Buffer) => { log += c.toString(); });
  child.stderr!.on('data', (c: Buffer) => { log += c.toString(); });
  let first = 0;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${tree}: the gateway exited:\n${log}`);
    if (await post(port) === 200) { first = performance.now() - began; break; }
    await new Promise((r) => setTimeout(r, 2));
  }
  while (!log.includes('"message":"started"')) await new Promise((r) => setTimeout(r, 5));
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  const lines = log.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, any>);
  const loaded = lines.find((l) => typeof l.loadMs === 'number');
  return { firstAnswerMs: first, ...lines.find((l) => l.message === 'started')!.startup, ...(loaded === undefined ? {} : { loadMs: loaded.loadMs, overLoadMs: first - loaded.loadMs }) };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const configs = trees.map(configOf);
const results: Array<Array<Record<string, number>>> = trees.map(() => []);
for (let i = 0; i < runs; i++) for (const [j, tree] of trees.entries()) results[j]!.push(await once(tree, configs[j]!));
const out = Object.fromEntries(trees.map((tree, j) => {
  const rs = results[j]!;
  const keys = Object.keys(rs[0]!);
  return [tree, { medians: Object.fromEntries(keys.map((k) => [k, Math.round(median(rs.map((r) => r[k] ?? 0)))])), minFirstAnswerMs: Math.round(Math.min(...rs.map((r) => r.firstAnswerMs!))) }];
}));
console.log(JSON.stringify({ runs, model: big ? 'big' : 'iris', loadAverage: (await import('node:os')).loadavg().map((x) => Number(x.toFixed(2))), ...out }, null, 2));
