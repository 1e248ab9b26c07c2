import { createRequire } from "node:module";
import type * as Zod from "zod";

/** zod's `z` namespace. */
export type Z = typeof Zod.z;

let loaded: Z | undefined;

/**
 * zod, loaded on first use. Importing it costs about 100 ms (bench: the import-cost table),
 * as much as everything else `diskpipe inspect` loads together, so nothing imports it at start:
 * schemas are built when something is first validated. It is required synchronously (zod's
 * CommonJS build, one instance for all of diskpipe) so that validation stays synchronous.
 *
 * @example
 * ```ts
 * const schema = lazy(() => zod().object({ jobs: zod().number() }));
 * schema().parse({ jobs: 2 });
 * ```
 */
export function zod(): Z {
  loaded ??= (createRequire(import.meta.url)("zod") as typeof Zod).z;
  return loaded;
}

/**
 * A value built once, on first call (a schema built when zod is first needed).
 *
 * @example
 * ```ts
 * const infoSchema = lazy(() => zod().looseObject({ format: zod().string() }));
 * ```
 */
export function lazy<T>(build: () => T): () => T {
  let value: { built: T } | undefined;
  return () => (value ??= { built: build() }).built;
}

/**
 * A schema exported as a value but built (and zod loaded) only when first used: every
 * property read and method call goes to the real schema.
 *
 * @example
 * ```ts
 * export const sidecarSchema = lazySchema(() => zod().object({ from: zod().string().optional() }));
 * sidecarSchema.parse({ from: "vmdk" }); // loads zod now
 * ```
 */
export function lazySchema<T extends object>(build: () => T): T {
  const real = lazy(build);
  return new Proxy({} as T, {
    get: (_target, key) => {
      const schema = real();
      const value: unknown = Reflect.get(schema, key, schema);
      return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(schema) : value;
    },
    has: (_target, key) => Reflect.has(real(), key),
    ownKeys: () => Reflect.ownKeys(real()),
    getOwnPropertyDescriptor: (_target, key) => {
      const descriptor = Reflect.getOwnPropertyDescriptor(real(), key);
      return descriptor && { ...descriptor, configurable: true };
    },
    getPrototypeOf: () => Reflect.getPrototypeOf(real()),
  });
}
