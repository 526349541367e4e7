// watch.ts — decides when to reload the config: on a change of the file (editors that replace
// it by rename and Kubernetes ConfigMaps that swap a `..data` symlink included) and on SIGHUP.
// Triggers are debounced (a burst of writes is one reload), a file whose bytes did not change
// is not reloaded, and reloads never overlap: a trigger during one runs once more after it.
// What a reload does (load, validate, warm, swap) is the caller's `reload`.

import { createHash } from 'node:crypto';
import { readFileSync, realpathSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { Logger } from 'pino';

/** ReloadResult is what a reload reports: a rejected file leaves the running config as it was. */
export interface ReloadResult { ok: boolean; error?: string }

export interface ConfigWatchOptions {
  file: string;
  reload(): Promise<ReloadResult>;
  log: Logger;
  /** Quiet time after the last trigger before reloading; default 250 ms. */
  debounceMs?: number;
  /** Watch the file for changes (server.watchConfig); default true. */
  watchFile?: boolean;
  /** Reload on SIGHUP; default true. */
  sighup?: boolean;
}

/** ConfigWatch is a running watcher. */
export interface ConfigWatch {
  /** trigger asks for a reload from `source` (e.g. "admin"), debounced like the others. */
  trigger(source: string): void;
  /** settled resolves when no reload is waiting or running. */
  settled(): Promise<void>;
  close(): void;
}

/** watchConfig starts watching; close() stops it and removes the SIGHUP handler. */
export function watchConfig(opts: ConfigWatchOptions): ConfigWatch {
  const debounceMs = opts.debounceMs ?? 250;
  let lastHash = hashOf(opts.file);
  let timer: NodeJS.Timeout | undefined;
  // The sources waiting for the next reload; `force` when one of them must reload whatever the bytes.
  let waiting: { sources: Set<string>; force: boolean } | undefined;
  let running: Promise<void> | undefined;
  let closed = false;
  const watchers: FSWatcher[] = [];

  const trigger = (source: string, force = true): void => {
    if (closed) return;
    waiting ??= { sources: new Set(), force: false };
    waiting.sources.add(source);
    waiting.force ||= force;
    if (timer !== undefined) clearTimeout(timer);
    timer = setTimeout(fire, debounceMs);
  };

  const fire = (): void => {
    timer = undefined;
    if (running !== undefined || waiting === undefined) return; // the running one fires again when done
    const job = waiting;
    waiting = undefined;
    running = attempt(job).finally(() => {
      running = undefined;
      if (waiting !== undefined && !closed) fire();
    });
  };

  const attempt = async (job: { sources: Set<string>; force: boolean }): Promise<void> => {
    const sources = [...job.sources];
    const hash = hashOf(opts.file);
    if (!job.force && (hash === undefined || hash === lastHash)) {
      // Unchanged bytes (an editor's touch) or the file is between delete and rename.
      opts.log.debug({ sources, file: opts.file }, 'config file event without a change; not reloading');
      return;
    }
    lastHash = hash;
    opts.log.info({ sources, file: opts.file }, 'config reload requested');
    let result: ReloadResult;
    try {
      result = await opts.reload();
    } catch (err) {
      result = { ok: false, error: (err as Error).message };
    }
    if (result.ok) opts.log.info({ sources }, 'config reload applied');
    else opts.log.error({ sources, error: result.error }, 'config reload rejected; the running config is unchanged');
  };

  if (opts.watchFile ?? true) {
    // Watch the directory, not the file: a rename-replace would leave a file watch on the old inode.
    const names = new Set([basename(opts.file), '..data']);
    const dirs = new Set([dirname(opts.file)]);
    try {
      const real = realpathSync(opts.file);
      names.add(basename(real));
      dirs.add(dirname(real));
    } catch { /* not there yet: the directory watch sees it appear */ }
    for (const dir of dirs) {
      try {
        const w = watch(dir, { persistent: false }, (_event, name) => {
          if (name === null || names.has(String(name))) trigger('file', false);
        });
        w.on('error', (err) => opts.log.warn({ dir, error: err.message }, 'config watch stopped for this directory'));
        watchers.push(w);
      } catch (err) {
        opts.log.warn({ dir, error: (err as Error).message }, 'cannot watch the config directory; SIGHUP and /admin/reload still reload');
      }
    }
  }
  const onHup = (): void => trigger('SIGHUP');
  if (opts.sighup ?? true) process.on('SIGHUP', onHup);

  return {
    trigger: (source) => trigger(source),
    settled: async () => {
      while (timer !== undefined || running !== undefined) {
        if (running !== undefined) await running;
        else await new Promise((r) => setTimeout(r, Math.min(debounceMs, 20)));
      }
    },
    close: () => {
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      waiting = undefined;
      for (const w of watchers) w.close();
      process.off('SIGHUP', onHup);
    },
  };
}

function hashOf(file: string): string | undefined {
  try {
    return createHash('sha256').update(readFileSync(file)).digest('hex');
  } catch {
    return undefined;
  }
}
