// version-paths.ts — the paths of a target open to any version (`versions: any`): a client may
// name versions no target pins, so each named version gets a path of its own (its own batcher
// and breaker, the backend's endpoint for that version), kept for the most recently used
// `max` versions and closed when pushed out. Memory stays bounded whatever versions clients
// send; metric labels never carry a client's version (the target names them "<target>@any").

/** VersionPaths holds one open target's per-version paths. */
export interface VersionPaths<P> {
  /** path gives the version's path, making it (and evicting the least recently used) when new. */
  path(version: string): P;
  status(): { live: string[]; max: number };
  close(): Promise<void>;
}

/** createVersionPaths keeps at most `max` paths made by `make`; `evict` closes one pushed out. */
export function createVersionPaths<P>(opts: {
  target: string;
  max: number;
  make(version: string): P;
  evict(version: string, path: P): void | Promise<void>;
}): VersionPaths<P> {
  // A Map iterates in insertion order: re-inserting on use keeps the least recent first.
  const live = new Map<string, P>();
  return {
    path(version) {
      let p = live.get(version);
      if (p !== undefined) {
        live.delete(version);
        live.set(version, p);
        return p;
      }
      if (live.size >= opts.max) {
        const [oldest, path] = live.entries().next().value!;
        live.delete(oldest);
        void opts.evict(oldest, path);
      }
      p = opts.make(version);
      live.set(version, p);
      return p;
    },
    status: () => ({ live: [...live.keys()], max: opts.max }),
    async close() {
      const all = [...live];
      live.clear();
      await Promise.allSettled(all.map(([v, p]) => opts.evict(v, p)));
    },
  };
}
