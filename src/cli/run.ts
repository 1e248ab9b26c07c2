import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { UsageError } from "../core/errors.ts";
import { importModule } from "./load-config.ts";

/**
 * `diskpipe run SCRIPT [ARGS…]`: runs a user's TypeScript or JavaScript file with `diskpipe`
 * importable and no build step. The script sees `process.argv.slice(2)` = ARGS, as under
 * `deno run -A SCRIPT ARGS…`.
 *
 * @example
 * ```ts
 * await runScript("examples/batch.ts", ["in", "out", "raw"]);
 * ```
 */
export async function runScript(script: string, args: string[]): Promise<number> {
  const path = resolve(script);
  if (!existsSync(path)) throw new UsageError(`script ${script} does not exist`);
  process.argv = [process.argv[0], path, ...args];
  process.exitCode = undefined;
  await importModule(path);
  return Number(process.exitCode ?? 0);
}
