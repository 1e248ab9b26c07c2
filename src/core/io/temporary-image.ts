import { randomBytes } from "node:crypto";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { OWNER_TAG } from "./temp.ts";

/**
 * The prefix of the directories temporary images live in, under the pipeline's work root.
 *
 * @example
 * ```ts
 * declare const name: string;
 * name.startsWith(FETCH_DIR_PREFIX); // "fetch-4242@3f2a9c1b-9c1b…"
 * ```
 */
export const FETCH_DIR_PREFIX = "fetch-";

/**
 * The cache key of a temporary image: its owner (the pipeline's work root) and its location.
 *
 * @example
 * ```ts
 * temporaryKey("/var/tmp/diskpipe", "https://h/a.qcow2");
 * ```
 */
export function temporaryKey(owner: string, location: string): string {
  return `${owner}\n${location}`;
}

/**
 * A fresh directory for one temporary image under the work root (outside every job's own
 * directory), named so a later run can tell whether the process that made it is alive.
 *
 * @example
 * ```ts
 * const dir = await makeFetchDir("/var/tmp/diskpipe"); // "/var/tmp/diskpipe/fetch-4242@3f2a9c1b-9c1b…"
 * ```
 */
export async function makeFetchDir(workRoot: string): Promise<string> {
  const dir = join(workRoot, `${FETCH_DIR_PREFIX}${OWNER_TAG}-${randomBytes(6).toString("hex")}`);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  return dir;
}

/**
 * Waits for `work`, or rejects with the signal's reason as soon as it aborts.
 *
 * @example
 * ```ts
 * declare const lease: { ready: Promise<string> };
 * const done = await untilAborted(lease.ready, ctx.signal);
 * ```
 */
export function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const stop = () => reject(signal.reason);
    signal.addEventListener("abort", stop, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener("abort", stop));
  });
}
