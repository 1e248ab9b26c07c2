import { QUIESCE_MS, settle, type CachePolicy, type Warmup } from "./caches.ts";
import { run } from "./exec.ts";

/** One side of a comparison. */
export interface Side {
  label: string;
  /** Untimed, before the caches settle (and before every side's run): removes what this side wrote. */
  reset?(): Promise<void>;
  /** The timed work. May report the peak RSS of the process it measured (KiB). */
  run(): Promise<{ peakKb?: number } | void>;
}

/** What the runs of one side measured. */
export interface Measured {
  label: string;
  /** Wall time of each run, in ms, in run order. */
  ms: number[];
  /** Peak RSS of each run that reported one, in KiB. */
  peakKb: number[];
}

/** Options of {@link alternate}. */
export interface AlternateOptions {
  runs: number;
  policy: CachePolicy;
  warmups: Warmup[];
  /** End each timed run with `sync`, so data a side left in the page cache is charged to it. */
  durable: boolean;
  /** Pause before each timed run (default QUIESCE_MS; 0 for runs that do no I/O). */
  quiesceMs?: number;
  log: (line: string) => void;
}

/**
 * Runs the sides in turn, A, B, A, B, … (`runs` times each), with {@link settle} before every
 * timed run, and returns each side's times.
 *
 * @example
 * ```ts
 * const [a, b] = await alternate([diskpipeSide, qemuSide], { runs: 5, policy: "cold", warmups, durable: true, log });
 * ```
 */
export async function alternate(sides: Side[], options: AlternateOptions): Promise<Measured[]> {
  const measured = sides.map((side): Measured => ({ label: side.label, ms: [], peakKb: [] }));
  for (let i = 0; i < options.runs; i++) {
    for (const [k, side] of sides.entries()) {
      // Every side's leftovers go before any run, so the disk holds one run's output at a time.
      for (const each of sides) await each.reset?.();
      await settle(options.policy, options.warmups, options.quiesceMs ?? QUIESCE_MS);
      const started = performance.now();
      const extra = await side.run();
      if (options.durable) await run("sync", []);
      const ms = performance.now() - started;
      measured[k].ms.push(ms);
      if (extra?.peakKb !== undefined) measured[k].peakKb.push(extra.peakKb);
      options.log(
        `  run ${i + 1}/${options.runs} ${side.label}: ${(ms / 1000).toFixed(2)} s${extra?.peakKb ? `, peak RSS ${(extra.peakKb / 1024).toFixed(0)} MiB` : ""}`,
      );
    }
  }
  for (const side of sides) await side.reset?.();
  return measured;
}
