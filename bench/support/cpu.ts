// cpu.ts — CPU time of processes from /proc: on a shared VM whose cores are stolen from minute
// to minute, requests per CPU-second of the process under test is steadier than requests per
// second.

import { readdirSync, readFileSync } from 'node:fs';

/** cpuTicks sums user+system clock ticks (USER_HZ = 100 on Linux) of the given processes. */
export function cpuTicks(pids: number[]): number {
  const { user, system } = cpuTicksSplit(pids);
  return user + system;
}

/**
 * cpuTicksSplit is cpuTicks in its two parts: user mode (JavaScript, GC, parsers) and the
 * kernel's (mostly socket reads and writes), which tells a slower program from a busier socket.
 */
export function cpuTicksSplit(pids: number[]): { user: number; system: number } {
  let user = 0;
  let system = 0;
  for (const pid of pids) {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      user += Number(fields[11]);
      system += Number(fields[12]);
    } catch { /* exited */ }
  }
  return { user, system };
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
