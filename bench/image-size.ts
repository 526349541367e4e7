// image-size.ts — the CPU image's own bytes, measured without a container engine: the packages
// `npm ci --omit=dev` installs (package-lock.json's non-dev entries, as installed for this
// platform in node_modules), less onnxruntime-node's builds for other platforms (the Dockerfile
// deletes them), plus the files the Dockerfile copies (bin/, src/, config/, backends/onnx/,
// package.json). The base image (node:24-bookworm-slim) comes on top. Target: ≤ 250 MB.
//   node bench/image-size.ts

import { existsSync, lstatSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));

// bytes of a tree, without following links, leaving out folders named `skip` below the top.
function treeBytes(path: string, skip?: (p: string) => boolean): number {
  const st = lstatSync(path);
  if (!st.isDirectory()) return st.size;
  let total = 0;
  for (const e of readdirSync(path)) {
    const p = join(path, e);
    if (skip?.(p)) continue;
    total += treeBytes(p, skip);
  }
  return total;
}

/** imageBytes gives the image's bytes by part, and the largest packages. */
export function imageBytes(): Record<string, unknown> {
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean; devOptional?: boolean; optional?: boolean }> };
  const sizes: Array<[string, number]> = [];
  for (const [path, meta] of Object.entries(lock.packages)) {
    if (path === '' || meta.dev === true || meta.devOptional === true) continue;
    const dir = join(root, path);
    if (!existsSync(dir)) continue; // an optional package for another platform
    // A nested node_modules/ is its own lock entry, counted there.
    const kept = join(dir, 'bin', 'napi-v6', 'linux', 'x64');
    const bytes = treeBytes(dir, (p) => p === join(dir, 'node_modules') ||
      // What the Dockerfile deletes: onnxruntime-node's native builds for other platforms
      // (everything under bin/napi-v6 but linux/x64 and the folders on the way to it).
      (path === 'node_modules/onnxruntime-node' && p.startsWith(join(dir, 'bin', 'napi-v6')) && !kept.startsWith(p) && !p.startsWith(kept)));
    sizes.push([path.replace(/^node_modules\//, ''), bytes]);
  }
  const app = ['bin', 'src', 'config', 'backends/onnx', 'package.json'].reduce((s, p) => s + treeBytes(join(root, p)), 0);
  const deps = sizes.reduce((s, [, b]) => s + b, 0);
  const mb = (b: number): number => Number((b / 1e6).toFixed(1));
  return {
    dependenciesMB: mb(deps), appMB: mb(app), totalMB: mb(deps + app), targetMB: 250, packages: sizes.length,
    largestMB: Object.fromEntries(sizes.sort((a, b) => b[1] - a[1]).slice(0, 10).map(([n, b]) => [n, mb(b)])),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) console.log(JSON.stringify(imageBytes(), null, 2));
