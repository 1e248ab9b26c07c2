import fsp from "node:fs/promises";
import { syncBuiltinESMExports } from "node:module";

/** What a test does to the file system around a call of `realpath`. */
export interface RealpathHook {
  before?: (path: string) => void;
  after?: (path: string) => void;
}

/**
 * Runs `work` with `hook` called around each `fs/promises.realpath` of the code under test,
 * so a test changes the file system at that exact moment (between a descriptor's open and the
 * resolution of its path, or right after). Modules that imported `realpath` by name see the
 * hook through their live binding.
 */
export async function onRealpath<T>(hook: RealpathHook, work: () => Promise<T>): Promise<T> {
  const real = fsp.realpath as (path: string, options?: unknown) => Promise<string>;
  fsp.realpath = (async (path: string, options?: unknown) => {
    hook.before?.(path);
    const resolved = await real(path, options);
    hook.after?.(path);
    return resolved;
  }) as typeof fsp.realpath;
  syncBuiltinESMExports();
  try {
    return await work();
  } finally {
    fsp.realpath = real as typeof fsp.realpath;
    syncBuiltinESMExports();
  }
}
