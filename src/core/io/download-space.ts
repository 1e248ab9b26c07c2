import { dirname } from "node:path";
import { DiskpipeError } from "../errors.ts";
import { formatSize } from "../size.ts";
import type { GrowingFile } from "./growing-file.ts";
import { redactUrl } from "./http.ts";
import { freeSpace, spaceOf } from "./space.ts";

/** What a download of unannounced length leaves free: 1 GiB, or a tenth of a smaller filesystem. */
const RESERVE = 1024 * 1024 * 1024;

/**
 * Fails with `no-space` unless the download's folder has `length` bytes free.
 *
 * @example
 * ```ts
 * declare const file: GrowingFile; // where the download goes
 * await ensureRoom(file, 8 * 1024 ** 3, new URL("https://images.example/disk.qcow2"));
 * ```
 */
export async function ensureRoom(file: GrowingFile, length: number, url: URL): Promise<void> {
  const free = await freeSpace(dirname(file.path));
  if (free < length) {
    throw new DiskpipeError(
      "no-space",
      `not enough space to download ${redactUrl(url)} into ${dirname(file.path)}: ${formatSize(length)} needed, ${formatSize(free)} free`,
    );
  }
}

/**
 * A download whose length was not announced stops before the filesystem is full, so it cannot
 * starve everything else on it.
 *
 * @example
 * ```ts
 * declare const file: GrowingFile;
 * await keepReserve(file, new URL("https://images.example/disk.qcow2")); // no-space when under the reserve
 * ```
 */
export async function keepReserve(file: GrowingFile, url: URL): Promise<void> {
  const { free, total } = await spaceOf(dirname(file.path));
  const reserve = Math.min(RESERVE, Math.floor(total / 10));
  if (free >= reserve) return;
  throw new DiskpipeError(
    "no-space",
    `no space left in ${dirname(file.path)} while downloading ${redactUrl(url)}: ${formatSize(file.written)} written, the size was not announced, and diskpipe keeps ${formatSize(reserve)} free`,
  );
}
