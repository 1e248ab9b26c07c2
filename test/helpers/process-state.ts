import { readdirSync, readlinkSync } from "node:fs";
import { requirement } from "./requirement.ts";

/** How many descriptors of this process are open on `path`. */
export function descriptorsOn(path: string): number {
  return readdirSync("/proc/self/fd").filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`) === path;
    } catch {
      return false;
    }
  }).length;
}

/** A skip reason unless this process is root (it may then act as another user and mount). */
export function needsRoot(why: string): string | false {
  return requirement(process.getuid?.() === 0 ? false : `needs root (${why})`);
}

/** Runs `work` with the effective uid `uid` (root only), then becomes root again. */
export async function asUser<T>(uid: number, work: () => Promise<T>): Promise<T> {
  process.seteuid!(uid);
  try {
    return await work();
  } finally {
    process.seteuid!(0);
  }
}

/** Runs `work` as on a platform without user ids (Windows): `process.geteuid` absent. */
export async function withoutUids<T>(work: () => Promise<T>): Promise<T> {
  const geteuid = process.geteuid;
  process.geteuid = undefined;
  try {
    return await work();
  } finally {
    process.geteuid = geteuid;
  }
}
