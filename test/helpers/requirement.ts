/**
 * A skip reason for node:test (`{ skip: requirement(…) }`), or false. When `CI` is set the
 * missing requirement fails the test file instead: CI runs as root with every tool installed,
 * so a skip there would hide a regression behind a passing run.
 *
 * @example
 * ```ts
 * describe("block device sink", { skip: requirement(probeDevice ? false : "needs root and a free loop device") }, () => {});
 * ```
 */
export function requirement(missing: string | false): string | false {
  if (missing && process.env.CI)
    throw new Error(`${missing}: CI must run this test (it runs as root with every tool installed)`);
  return missing;
}
