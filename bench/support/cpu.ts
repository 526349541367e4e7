// cpu.ts — CPU time of processes from /proc: on a shared VM whose cores are stolen from minute
// to minute, requests per CPU-second of the process under test is steadier than requests per
// second.

import { readdirSync, readFileSync } from 'node:fs';

/** cpuTicks sums user+system clock ticks (USER_HZ = 100 on Linux) of the given processes. */
export function cpuTicks(pids: number[]): number {
  let total = 0;
  for (const pid of pids) {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      total += Number(fields[11]) + Number(fields[12]);
    } catch { /* exited */ }
  }
  return total;
}

/** processTree lists a process and its descendants (gunicorn's master and workers), from /proc. */
export function processTree(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    const p = out[i]!;
    let tasks: string[] = [];
    try {
      tasks = readdirSync(`/proc/${p}/task`);
    } catch { /* exited */ }
    for (const task of tasks) {
      try {
        out.push(...readFileSync(`/proc/${p}/task/${task}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number));
      } catch { /* exited */ }
    }
  }
  return out;
}
