// plugin-imports.ts — the lazy half of a plugin registry (backends/index.ts, frontends/index.ts):
// each entry's implementation imported once, when a config names it, and looked up after.

/** LazyImports imports registry entries' implementations on demand and holds them once loaded. */
export class LazyImports<T> {
  readonly #loaded = new Map<string, T>();
  readonly #entries: Record<string, { load(): Promise<T> }>;

  constructor(entries: Record<string, { load(): Promise<T> }>) {
    this.#entries = entries;
  }

  /** load imports the implementations of `names` not loaded yet; a name not in the registry is left to the build to report. */
  async load(names: Iterable<string>): Promise<void> {
    await Promise.all([...new Set(names)].filter((n) => !this.#loaded.has(n) && Object.hasOwn(this.#entries, n))
      .map(async (n) => { this.#loaded.set(n, await this.#entries[n]!.load()); }));
  }

  /** get gives the implementation `load` loaded, else undefined. */
  get(name: string): T | undefined {
    return this.#loaded.get(name);
  }
}
