import { availableParallelism } from "node:os";
import type { RunningJob } from "./job-context.ts";
import type { SpaceShare } from "./stages/plan.ts";

/** The most disks of one appliance converted at once, whatever the number of cores. */
const MOST_AT_ONCE = 4;

/**
 * How many of an appliance's `count` disks are converted at once: one per core, at most four.
 * Reading a streamOptimized VMDK keeps one core busy (qemu-img inflates it in one thread), so a
 * second disk converts on the second core instead of waiting.
 *
 * @example
 * ```ts
 * disksAtOnce(3); // 2 on a two-core machine
 * ```
 */
export function disksAtOnce(count: number): number {
  return Math.max(1, Math.min(count, availableParallelism(), MOST_AT_ONCE));
}

/**
 * The job as one disk of its appliance sees it: its own request (the disk's destination),
 * image, inspection, plan and output, a signal that also ends when a sibling disk fails, and
 * a progress of its own (the caller sums the disks'); its id, work directory, warnings,
 * cleanups and events are the job's.
 *
 * @example
 * ```ts
 * declare const job: RunningJob;
 * const disk = diskJob(job, "out/vm-disk2.qcow2", job.signal, (bytes, total) => job.progress(bytes, total));
 * ```
 */
export function diskJob(
  job: RunningJob,
  destination: string,
  signal: AbortSignal,
  progress: RunningJob["progress"],
): RunningJob {
  const view = Object.create(job) as RunningJob;
  Object.defineProperties(view, {
    spec: { value: { ...job.spec, destination }, writable: true, enumerable: true },
    signal: { value: signal, enumerable: true },
    progress: { value: progress, enumerable: true },
  });
  return view;
}

/**
 * Sums the progress of several disks into the job's: each disk's bytes and total as it last
 * reported them.
 *
 * @example
 * ```ts
 * declare const job: RunningJob;
 * const sum = new SummedProgress(job, 2);
 * sum.of(0)(1024, 4096); // the job reports 1024 of 4096
 * ```
 */
export class SummedProgress {
  readonly #job: RunningJob;
  readonly #bytes: number[];
  readonly #totals: number[];

  constructor(job: RunningJob, count: number) {
    this.#job = job;
    // Stryker disable next-line ArrayDeclaration: a disk not yet heard from is a hole the sums skip, as they add its 0
    this.#bytes = new Array<number>(count).fill(0);
    // Stryker disable next-line ArrayDeclaration: a disk not yet heard from is a hole the sums skip, as they add its 0
    this.#totals = new Array<number>(count).fill(0);
  }

  /** The progress function of disk `index`. */
  of(index: number): RunningJob["progress"] {
    return (bytes, total) => {
      this.#bytes[index] = bytes;
      if (total !== undefined) this.#totals[index] = total;
      const sum = (values: number[]) => values.reduce((all, value) => all + value, 0);
      const totals = sum(this.#totals);
      this.#job.progress(sum(this.#bytes), totals > 0 ? totals : undefined);
    };
  }
}

/**
 * The space an appliance's outputs share while they are written side by side: each disk holds
 * its output's estimated bytes from its space check until its conversion ends (then the file
 * itself takes them), and each check counts what the others hold, so two disks that fit one
 * by one but not together are refused before either is written.
 *
 * @example
 * ```ts
 * const space = new SharedSpace();
 * space.of(0).hold(4096); // 0: nothing else held
 * space.of(1).hold(8192); // 4096: disk 0's output
 * ```
 */
export class SharedSpace {
  readonly #held = new Map<number, number>();

  /** The share of disk `index`. */
  of(index: number): SpaceShare {
    return {
      hold: (bytes) => {
        this.#held.set(index, bytes);
        let others = 0;
        for (const [disk, held] of this.#held) if (disk !== index) others += held;
        return others;
      },
      release: () => void this.#held.delete(index),
    };
  }
}
