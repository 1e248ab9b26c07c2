import crypto from "node:crypto";
import fsp from "node:fs/promises";
import { syncBuiltinESMExports } from "node:module";
import { createServer, type Server } from "node:net";

/** The error `promise` rejects with; fails when it resolves. */
export async function failureOf(promise: Promise<unknown>): Promise<NodeJS.ErrnoException> {
  const error: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof Error)) throw new Error("expected a failure, it succeeded");
  return error as NodeJS.ErrnoException;
}

/** Runs `work` with `object[name]` replaced, also for the modules that imported it by name (live bindings). */
async function swapped<O extends object, K extends keyof O, T>(
  object: O,
  name: K,
  replacement: O[K],
  work: () => Promise<T>,
): Promise<T> {
  const real = object[name];
  object[name] = replacement;
  syncBuiltinESMExports();
  try {
    return await work();
  } finally {
    object[name] = real;
    syncBuiltinESMExports();
  }
}

/** Runs `work` with `fs/promises.link` replaced, as on a file system that refuses hard links. */
export function withLink<T>(link: (from: string, to: string) => Promise<void>, work: () => Promise<T>): Promise<T> {
  return swapped(fsp, "link", link as typeof fsp.link, work);
}

/** Runs `work` with `crypto.randomBytes` returning `bytes`, so a temporary name is known in advance. */
export function withRandomBytes<T>(bytes: Buffer, work: () => Promise<T>): Promise<T> {
  return swapped(crypto, "randomBytes", ((size: number) => bytes.subarray(0, size)) as typeof crypto.randomBytes, work);
}

/** A server listening on a Unix socket at `path` (a socket file there until it is closed). */
export function listening(path: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(path, () => resolve(server));
  });
}
