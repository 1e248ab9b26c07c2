import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import { DiskpipeError } from "../core/errors.ts";
import type { UserConfig } from "../core/config.ts";

const CANDIDATES = ["plugins.config.ts", "plugins.config.mts", "plugins.config.mjs", "plugins.config.js"];

/** The configuration file the CLI uses: `--config FILE`, else one in the working directory, else none. */
export function findConfigFile(explicit: string | undefined, cwd = process.cwd()): string | undefined {
  if (explicit) {
    const path = resolve(cwd, explicit);
    if (!existsSync(path)) throw new DiskpipeError("config-invalid", `configuration file ${explicit} does not exist`);
    return path;
  }
  return CANDIDATES.map((name) => resolve(cwd, name)).find((path) => existsSync(path));
}

/**
 * Loads a configuration module: native `import()` where the runtime reads it (JavaScript, or
 * TypeScript on Deno), jiti otherwise (TypeScript on Node 20). `diskpipe` imports inside it
 * resolve to this installation.
 *
 * @example
 * ```ts
 * const config = await loadConfigFile("/srv/plugins.config.ts");
 * ```
 */
export async function loadConfigFile(path: string): Promise<UserConfig> {
  const module = (await importModule(path)) as { default?: UserConfig };
  if (!module.default || typeof module.default !== "object") {
    throw new DiskpipeError(
      "config-invalid",
      `${path} must export a configuration as default (export default defineConfig({ … }))`,
    );
  }
  return module.default;
}

/**
 * `diskpipe`, `diskpipe/plugin` and `diskpipe/plugins` as this installation's modules: the files
 * its package exports name (the bundle the CLI itself runs from, so a plugin and the CLI share
 * one copy of each module).
 */
function aliases(): Record<string, string> {
  const { resolve } = createRequire(import.meta.url);
  return Object.fromEntries(["diskpipe/plugins", "diskpipe/plugin", "diskpipe"].map((name) => [name, resolve(name)]));
}

/** Imports a JavaScript or TypeScript module of the user's, with `diskpipe` resolving to this installation. */
export async function importModule(path: string): Promise<unknown> {
  const nativeTs = "Deno" in globalThis || Boolean((process.features as { typescript?: unknown }).typescript);
  if (!/\.m?ts$/.test(path) || nativeTs) return import(pathToFileURL(path).href);
  const { createJiti } = await import("jiti");
  const jiti = createJiti(import.meta.url, { alias: aliases(), moduleCache: false });
  return jiti.import(path);
}
