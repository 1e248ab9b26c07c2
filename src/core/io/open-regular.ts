import { constants, type Stats } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";

/**
 * Why {@link openRegular} refused a path: what it is instead of a regular file, or that it is
 * larger than allowed. `code` is Node-style so callers can tell it from I/O errors.
 *
 * @example
 * ```ts
 * try { await openRegular("/dev/zero"); } catch (e) { if (e instanceof NotRegularError) console.log(e.kind); } // "character device"
 * ```
 */
export class NotRegularError extends Error {
  readonly code = "ENOTREGULAR";
  constructor(
    readonly path: string,
    readonly kind: string,
  ) {
    super(`${path} is ${kind.startsWith("larger") ? kind : `a ${kind}`}, not a regular file`);
    this.name = "NotRegularError";
  }
}

/**
 * Options of {@link openRegular}.
 *
 * @example
 * ```ts
 * const options: OpenRegularOptions = { followLinks: false, maxBytes: 64 * 1024 };
 * ```
 */
export interface OpenRegularOptions {
  /** Follow a symbolic link in the last component (default true); false refuses it. */
  followLinks?: boolean;
  /** Accept a block device too (default false). */
  blockDevice?: boolean;
  /** Refuse a file larger than this many bytes. */
  maxBytes?: number;
}

/**
 * The kind of a non-regular file, for messages.
 *
 * @example
 * ```ts
 * import { lstat } from "node:fs/promises";
 * fileKind(await lstat("/dev/null")); // "character device"
 * ```
 */
export function fileKind(stats: Stats): string {
  if (stats.isFIFO()) return "FIFO";
  if (stats.isCharacterDevice()) return "character device";
  if (stats.isBlockDevice()) return "block device";
  if (stats.isDirectory()) return "directory";
  if (stats.isSocket()) return "socket";
  if (stats.isSymbolicLink()) return "symbolic link";
  return "regular file";
}

/**
 * Opens a file for reading only when it is a regular file (or, if allowed, a block device).
 * It never blocks: a FIFO is opened non-blocking and refused, as are character devices,
 * directories and sockets; with `followLinks: false` a symbolic link is refused without being
 * followed. The checks are made on the opened descriptor, so the file cannot be swapped for
 * another between check and use.
 *
 * @example
 * ```ts
 * const { handle, stats } = await openRegular("disk.vmdk.json", { followLinks: false, maxBytes: 65536 });
 * try { console.log(stats.size); } finally { await handle.close(); }
 * ```
 */
export async function openRegular(
  path: string,
  options: OpenRegularOptions = {},
): Promise<{ handle: FileHandle; stats: Stats }> {
  const flags =
    constants.O_RDONLY |
    constants.O_NONBLOCK |
    constants.O_NOCTTY |
    (options.followLinks === false ? constants.O_NOFOLLOW : 0);
  let handle: FileHandle;
  try {
    handle = await open(path, flags);
  } catch (error) {
    // O_NOFOLLOW on a link fails with ELOOP; opening a socket fails with ENXIO.
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ELOOP" && options.followLinks === false) throw new NotRegularError(path, "symbolic link");
    if (code === "ENXIO") throw new NotRegularError(path, "socket");
    throw error;
  }
  try {
    const stats = await handle.stat();
    const allowed = stats.isFile() || (options.blockDevice === true && stats.isBlockDevice());
    if (!allowed) throw new NotRegularError(path, fileKind(stats));
    if (options.maxBytes !== undefined && stats.isFile() && stats.size > options.maxBytes) {
      throw new NotRegularError(path, `larger than ${options.maxBytes} bytes`);
    }
    return { handle, stats };
  } catch (error) {
    await handle.close().catch(() => undefined);
    throw error;
  }
}

/**
 * Reads a small regular file whole, refusing anything larger than `maxBytes` (also when it
 * grows while being read), FIFOs, devices and, with `followLinks: false`, symbolic links.
 *
 * @example
 * ```ts
 * const text = (await readSmallFile("/srv/images/web-01.json", 65536, { followLinks: false })).toString("utf8");
 * ```
 */
export async function readSmallFile(
  path: string,
  maxBytes: number,
  options: Omit<OpenRegularOptions, "maxBytes" | "blockDevice"> = {},
): Promise<Buffer> {
  const { handle } = await openRegular(path, { ...options, maxBytes });
  try {
    const buffer = Buffer.alloc(maxBytes + 1);
    let filled = 0;
    // Stryker disable next-line EqualityOperator: at filled === buffer.length `<=` only adds a read of 0 bytes, which returns 0 and breaks the loop
    while (filled < buffer.length) {
      const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    if (filled > maxBytes) throw new NotRegularError(path, `larger than ${maxBytes} bytes`);
    return buffer.subarray(0, filled);
  } finally {
    await handle.close();
  }
}
