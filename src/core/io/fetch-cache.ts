/**
 * What a cache entry is made of: a value, the promise that it is complete, and how to remove it.
 *
 * @example
 * ```ts
 * import { rm } from "node:fs/promises";
 * declare const path: string, dir: string, downloaded: Promise<void>;
 * const init: CacheEntryInit<string> = { value: path, ready: downloaded, dispose: () => rm(dir, { recursive: true }) };
 * ```
 */
export interface CacheEntryInit<T> {
  value: T;
  /** Settles when the temporary image is complete (or failed). */
  ready: Promise<unknown>;
  /** Stops the work in progress and removes the temporary files. Called once. */
  dispose(): Promise<void>;
}

/**
 * One user's hold on a cached temporary image.
 *
 * @example
 * ```ts
 * declare const key: string, start: () => CacheEntryInit<string>;
 * const lease: Lease<string> = fetchCache.acquire(key, start);
 * await lease.ready;
 * ctx.onCleanup(() => lease.release());
 * ```
 */
export interface Lease<T> {
  readonly value: T;
  readonly ready: Promise<unknown>;
  /** Whether this lease started the entry (rather than joining one in progress or complete). */
  readonly first: boolean;
  /** Gives the image back; the last user's release removes it (unless a batch holds the cache). Idempotent. */
  release(): Promise<void>;
}

interface Entry {
  key: string;
  init: CacheEntryInit<unknown>;
  refs: number;
  state: "pending" | "ready" | "failed";
  disposed: boolean;
}

/**
 * Temporary images shared by reference count: an image fetched once (same key: an owner and a
 * source location) is not fetched again while someone uses it, or while a batch holds the
 * cache. An entry still in progress when its last user lets go is stopped and removed; a
 * failed entry is forgotten at once so the next user starts afresh.
 *
 * @example
 * ```ts
 * declare const startDownload: () => CacheEntryInit<string>, use: (path: string) => void;
 * const lease = fetchCache.acquire("/var/tmp/diskpipe\nhttps://h/img.qcow2", () => startDownload());
 * try { await lease.ready; use(lease.value); } finally { await lease.release(); }
 * ```
 */
export class FetchCache {
  readonly #entries = new Map<string, Entry>();
  #holds = 0;

  /** Entries alive now (in progress, in use, or kept by a hold). */
  get size(): number {
    return this.#entries.size;
  }

  /** Joins the entry for `key`, or starts one with `create`. */
  acquire<T>(key: string, create: () => CacheEntryInit<T>): Lease<T> {
    let entry = this.#entries.get(key);
    const first = !entry;
    if (!entry) {
      const init = create() as CacheEntryInit<unknown>;
      const created: Entry = { key, init, refs: 0, state: "pending", disposed: false };
      entry = created;
      this.#entries.set(key, created);
      init.ready.then(
        () => {
          if (created.state === "pending") created.state = "ready";
        },
        () => {
          created.state = "failed";
          this.#forget(created);
          if (created.refs === 0) void this.#dispose(created);
        },
      );
    }
    const joined = entry;
    joined.refs++;
    let released = false;
    return {
      value: joined.init.value as T,
      ready: joined.init.ready,
      first,
      release: async () => {
        if (released) return;
        released = true;
        joined.refs--;
        if (joined.refs > 0) return;
        if (joined.state === "ready" && this.#holds > 0 && !joined.disposed) return;
        this.#forget(joined);
        await this.#dispose(joined);
      },
    };
  }

  /**
   * Keeps complete entries alive after their last user, until the returned function is
   * called (a batch holds the cache so its jobs share downloads even when they run one after
   * another).
   *
   * @example
   * ```ts
   * const unhold = fetchCache.hold();
   * declare const specs: JobSpec[];
   * try { for (const spec of specs) await pipeline.run(spec); } finally { await unhold(); }
   * ```
   */
  hold(): () => Promise<void> {
    this.#holds++;
    let done = false;
    return async () => {
      if (done) return;
      done = true;
      if (--this.#holds > 0) return;
      const idle = [...this.#entries.values()].filter((e) => e.refs === 0);
      for (const entry of idle) this.#forget(entry);
      await Promise.all(idle.map((entry) => this.#dispose(entry)));
    };
  }

  #forget(entry: Entry): void {
    if (this.#entries.get(entry.key) === entry) this.#entries.delete(entry.key);
  }

  async #dispose(entry: Entry): Promise<void> {
    if (entry.disposed) return;
    entry.disposed = true;
    await entry.init.dispose().catch(() => undefined);
  }
}

/**
 * The cache the built-in sources share within this process.
 *
 * @example
 * ```ts
 * const unhold = fetchCache.hold(); // keep shared downloads for the length of a batch
 * ```
 */
export const fetchCache = new FetchCache();
