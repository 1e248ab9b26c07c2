import { InvalidArgumentError, Option } from "commander";

/** The exit codes, shown after every command's help. */
export const EXIT_HELP = `
Exit codes: 0 success, 1 failure, 2 usage error, 3 image rejected (unsafe, or not what was claimed).`;

/**
 * `--compress`, as `convert` and `submit` take it.
 *
 * @example
 * ```ts
 * import { Command } from "commander";
 * new Command("x").addOption(compressOption());
 * ```
 */
export const compressOption = () =>
  new Option("--compress", "compress the output (qcow2: zstd where qemu-img has it, else zlib; vmdk: streamOptimized)");

/**
 * `--container`, as `convert` and `submit` take it.
 *
 * @example
 * ```ts
 * import { Command } from "commander";
 * new Command("x").addOption(containerOption());
 * ```
 */
export const containerOption = () =>
  new Option(
    "--container <kind>",
    "the image arrives in a container: gz, xz, zst, bz2, tar (compressed, found by magic anyway; --from then names the image inside), ova (an appliance: its disks become <stem>-disk<N>.<ext>, its machine <stem>.ovf.json; found by its bytes anyway), ovf (a XenServer VHD chain tarball)",
  );

/**
 * The `--quiet` flag, described for its command.
 *
 * @example
 * ```ts
 * import { Command } from "commander";
 * new Command("x").addOption(quietOption("only failures"));
 * ```
 */
export const quietOption = (what: string) => new Option("-q, --quiet", what).conflicts("verbose");
/**
 * The `--verbose` flag: stage and hook timings.
 *
 * @example
 * ```ts
 * import { Command } from "commander";
 * new Command("x").addOption(verboseOption());
 * ```
 */
export const verboseOption = () =>
  new Option("-v, --verbose", "also print how long each stage and each plugin hook of a job took");

/**
 * Parses a flag's value as a whole number of at least 1 (commander reports the error).
 *
 * @example
 * ```ts
 * import { Command } from "commander";
 * new Command("x").option("-j, --jobs <n>", "jobs at once", integer);
 * ```
 */
export function integer(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError("expected a whole number of at least 1");
  return n;
}
