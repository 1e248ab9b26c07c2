/**
 * Test helpers for format plugin authors (`diskpipe/testing`): run the inspector on a file
 * with a plugin's formats registered beside the standard ones, exactly as a pipeline would,
 * and compare the verdict with what the test expects. Works with any test runner.
 *
 * @example
 * ```ts
 * import { test } from "node:test";
 * import { expectVerdict } from "diskpipe/testing";
 * declare function myFormat(): Plugin; // your plugin
 *
 * test("a crafted header is refused", async () => {
 *   await expectVerdict(myFormat(), "fixtures/bad.myfmt", { format: "myfmt", safe: false, problems: ["myfmt-corrupt-header"] });
 * });
 * ```
 * @module
 */
import { tmpdir } from "node:os";
import type { InspectOptions, InspectResult } from "./core/inspect/types.ts";
import { standardInspector } from "./standard-formats.ts";
import type { Plugin } from "./core/plugin.ts";

/** What a test expects of a verdict; fields left out are not compared. */
export interface ExpectedVerdict {
  format: string;
  safe: boolean;
  variant?: string;
  virtualSize?: number;
  /** The problem codes, in any order, each once. */
  problems?: string[];
}

/**
 * Inspects a local file with `plugins` registered beside the standard formats (their
 * detectors, aliases and `accepts` rules), as a pipeline with that configuration would.
 *
 * @example
 * ```ts
 * declare function myFormat(): Plugin;
 * const result = await inspectWithPlugins([myFormat()], "disk.myfmt", { claimed: "myfmt" });
 * ```
 */
export function inspectWithPlugins(
  plugins: Plugin[],
  path: string,
  options: Omit<InspectOptions, "detectors"> = {},
): Promise<InspectResult> {
  return standardInspector(plugins, tmpdir()).inspect(path, options);
}

/**
 * Inspects `path` with `plugin` registered and throws an Error naming every difference
 * between the verdict and `expected`; resolves with the verdict when they agree.
 *
 * @example
 * ```ts
 * declare function myFormat(): Plugin;
 * await expectVerdict(myFormat(), "disk.myfmt", { format: "myfmt", safe: true, virtualSize: 8 * 1024 ** 2 });
 * ```
 */
export async function expectVerdict(
  plugin: Plugin,
  path: string,
  expected: ExpectedVerdict,
  options: Omit<InspectOptions, "detectors"> = {},
): Promise<InspectResult> {
  const result = await inspectWithPlugins([plugin], path, options);
  const codes = [...new Set(result.problems.map((p) => p.code))].sort();
  const differences: string[] = [];
  const compare = (name: string, got: unknown, want: unknown) => {
    if (want !== undefined && JSON.stringify(got) !== JSON.stringify(want))
      differences.push(`${name}: expected ${JSON.stringify(want)}, got ${JSON.stringify(got)}`);
  };
  compare("format", result.format, expected.format);
  compare("safe", result.safe, expected.safe);
  compare("variant", result.variant, expected.variant);
  compare("virtualSize", result.virtualSize, expected.virtualSize);
  compare("problems", codes, expected.problems && [...new Set(expected.problems)].sort());
  if (differences.length > 0) {
    const found = result.problems.map((p) => `${p.code}: ${p.message}`).join("; ") || "none";
    throw new Error(`the verdict on ${path} is not the expected one: ${differences.join("; ")} (problems: ${found})`);
  }
  return result;
}
