import { tmpdir } from "node:os";

/** The cases the bench knows, in the order it runs them. `flags`, `queue`, `compressed` and `ova` run only when asked for. */
export const CASES = [
  "convert",
  "cinder",
  "http",
  "batch",
  "copy",
  "inspect",
  "memory",
  "snapshot",
  "checksum",
  "flags",
  "queue",
  "compressed",
  "ova",
] as const;

/** Cases that run only when `--only` names them (they build their own images, or study rather than compare). */
const ON_REQUEST: readonly string[] = ["flags", "queue", "compressed", "ova"];

/** One of {@link CASES}. */
export type CaseName = (typeof CASES)[number];

/** The bench's command line, parsed. */
export interface BenchArgs {
  /** Timed runs of each side (alternating A, B, A, B, …). */
  runs: number;
  /** The cases to run (default: all but `flags` and `queue`). */
  only: CaseName[];
  /** Small images for a smoke run. */
  quick: boolean;
  /** Parent of the work directory (default /var/tmp). */
  dir: string;
  /** Keep the work directory at the end (for debugging). */
  keep: boolean;
  /**
   * How the page cache stands before each run: "cold" (dropped; root only), "warm" (the images
   * read once before every run), or both, each case run under each. Default: cold as root, else warm.
   */
  caches: Array<"cold" | "warm">;
}

/** The usage text of `npm run bench -- --help`. */
export const USAGE = `npm run bench [-- --runs N] [--only CASE[,CASE…]] [--caches cold|warm|both] [--quick] [--dir DIR] [--keep]

  --runs N     timed runs of each side, alternating A, B, A, B… (default 7, at least 1)
  --only CASE  run only these cases: ${CASES.join(", ")} (flags: the qemu-img flag study, queue: the shared
               queue on a redis-server it starts on 127.0.0.1, compressed: .xz/.zst over HTTP and decompression
               rates, ova: a 2-disk OVA; these four only on request)
  --caches C   cold: page cache dropped before every run (root only; the default as root); warm: the
               images read once before every run (the default otherwise); both: every case under each,
               rows marked "cold" and "warm"
  --quick      small images (256 MiB virtual, 128 MiB of data) for a smoke run
  --dir DIR    where the work directory is made (default ${defaultDir()}); it is removed at the end
  --keep       keep the work directory`;

function defaultDir(): string {
  return process.platform === "linux" ? "/var/tmp" : tmpdir();
}

/**
 * Parses the bench's arguments; throws an Error with a message for the user on a bad flag.
 *
 * @example
 * ```ts
 * parseArgs(["--runs", "7", "--only", "convert,copy"]); // { runs: 7, only: ["convert", "copy"], … }
 * ```
 */
export function parseArgs(argv: string[]): BenchArgs {
  const args: BenchArgs = {
    runs: 7,
    only: CASES.filter((c) => !ON_REQUEST.includes(c)),
    quick: false,
    dir: defaultDir(),
    keep: false,
    caches: process.getuid?.() === 0 ? ["cold"] : ["warm"],
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = (): string => {
      const next = argv[++i];
      if (next === undefined) throw new Error(`${flag} needs a value`);
      return next;
    };
    if (flag === "--runs") {
      args.runs = Number(value());
      if (!Number.isInteger(args.runs) || args.runs < 1) throw new Error("--runs takes a whole number of at least 1");
    } else if (flag === "--only") {
      const names = value()
        .split(",")
        .map((name) => name.trim())
        .filter(Boolean);
      const unknown = names.filter((name) => !(CASES as readonly string[]).includes(name));
      if (unknown.length > 0) throw new Error(`unknown case ${unknown.join(", ")} (known: ${CASES.join(", ")})`);
      args.only = names as CaseName[];
    } else if (flag === "--caches") {
      const mode = value();
      if (mode !== "cold" && mode !== "warm" && mode !== "both") throw new Error("--caches takes cold, warm or both");
      args.caches = mode === "both" ? ["cold", "warm"] : [mode];
    } else if (flag === "--quick") {
      args.quick = true;
    } else if (flag === "--dir") {
      args.dir = value();
    } else if (flag === "--keep") {
      args.keep = true;
    } else {
      throw new Error(`unknown flag ${flag}`);
    }
  }
  return args;
}
