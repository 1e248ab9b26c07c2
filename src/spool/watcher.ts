import { basename } from "node:path";
import { isIgnoredName } from "./paths.ts";

/**
 * Options of {@link watchIncoming}.
 *
 * @example
 * ```ts
 * const options: WatchOptions = { poll: false, settleMs: 1000, onFile: (path) => console.log(path) };
 * ```
 */
export interface WatchOptions {
  /** Poll instead of using file-system events (network file systems). */
  poll?: boolean;
  /** How long a file's size must stay the same before it counts as written, in ms. */
  settleMs: number;
  /** Called with the absolute path of every settled file, including those present at start. */
  onFile: (path: string) => void;
  onError?: (error: unknown) => void;
}

/**
 * A running watch; `close` stops it.
 *
 * @example
 * ```ts
 * declare const options: WatchOptions;
 * const watcher: IncomingWatcher = await watchIncoming("/srv/spool/incoming", options);
 * await watcher.close();
 * ```
 */
export interface IncomingWatcher {
  close(): Promise<void>;
}

/**
 * Watches `incoming/` two levels deep (`<format>/<name>`) with chokidar and reports files once
 * their size has stopped changing. Hidden names, `.part` files and `.json` sidecars are never
 * reported; a rename to a plain name is. Resolves once the files already there are queued.
 *
 * @example
 * ```ts
 * const watcher = await watchIncoming("/srv/spool/incoming", { settleMs: 1000, onFile: (p) => console.log(p) });
 * await watcher.close();
 * ```
 */
export async function watchIncoming(dir: string, options: WatchOptions): Promise<IncomingWatcher> {
  const { watch } = await import("chokidar");
  const watcher = watch(dir, {
    ignoreInitial: false,
    depth: 1,
    // A symbolic link is reported as itself, never followed: a linked folder must not let a
    // claim rename files from elsewhere on the host.
    followSymlinks: false,
    usePolling: Boolean(options.poll),
    interval: 500,
    binaryInterval: 500,
    awaitWriteFinish: {
      stabilityThreshold: options.settleMs,
      pollInterval: Math.max(20, Math.min(100, options.settleMs / 4)),
    },
    ignored: (path: string) => path !== dir && isIgnoredName(basename(path)),
  });
  watcher.on("add", (path: string) => options.onFile(path));
  watcher.on("change", (path: string) => options.onFile(path));
  watcher.on("error", (error: unknown) => options.onError?.(error));
  await new Promise<void>((resolve) => watcher.once("ready", () => resolve()));
  return { close: () => watcher.close() };
}
