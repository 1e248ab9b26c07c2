import { randomUUID } from "node:crypto";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import type { JobContext } from "./context.ts";
import type { FormatRegistry } from "./formats.ts";
import type { JobEvent, JobSpec, Stage } from "./job.ts";
import type { QemuImg } from "./qemu-img.ts";
import { OWNER_TAG } from "./io/temp.ts";
import { safeText } from "./redact.ts";

/** The context of a running job plus what only the driver may touch. */
export interface RunningJob extends JobContext {
  stage: Stage;
  readonly warnings: string[];
  readonly controller: AbortController;
  runCleanups(): Promise<void>;
}

/** What a job context is built from. */
export interface JobContextInit {
  spec: JobSpec;
  workRoot: string;
  qemu: QemuImg;
  formats: FormatRegistry;
  emit: (event: JobEvent) => void;
  id?: string;
}

const PROGRESS_INTERVAL_MS = 200;

/**
 * Creates the context of one job: its work directory, abort signal, event helpers and
 * cleanup list.
 *
 * @example
 * ```ts
 * declare const spec: JobSpec, qemu: QemuImg, formats: FormatRegistry;
 * const job = await createJobContext({ spec, workRoot: "/var/tmp/diskpipe", qemu, formats, emit: console.log });
 * ```
 */
export async function createJobContext(init: JobContextInit): Promise<RunningJob> {
  const id = init.id ?? randomUUID().slice(0, 8);
  await mkdir(init.workRoot, { recursive: true, mode: 0o700 });
  const workDir = await mkdtemp(join(init.workRoot, `job-${OWNER_TAG}-${id}-`));
  const controller = new AbortController();
  init.spec.signal?.addEventListener("abort", () => controller.abort(init.spec.signal?.reason), { once: true });
  if (init.spec.signal?.aborted) controller.abort(init.spec.signal.reason);
  const cleanups: Array<() => void | Promise<void>> = [];
  const warnings: string[] = [];
  let lastProgress = 0;
  let progressStart = 0;
  let progressStage: Stage | undefined;

  const job: RunningJob = {
    id,
    spec: init.spec,
    workDir,
    signal: controller.signal,
    controller,
    qemu: init.qemu,
    formats: init.formats,
    stage: "resolve",
    warnings,
    warn(text) {
      const message = safeText(text);
      warnings.push(message);
      init.emit({ type: "warning", jobId: id, message });
    },
    progress(bytes, total) {
      const now = performance.now();
      if (progressStage !== job.stage) {
        progressStage = job.stage;
        progressStart = now;
        lastProgress = 0;
      }
      const finished = total !== undefined && bytes >= total;
      if (!finished && now - lastProgress < PROGRESS_INTERVAL_MS) return;
      lastProgress = now;
      const seconds = (now - progressStart) / 1000;
      init.emit({
        type: "progress",
        jobId: id,
        stage: job.stage,
        bytes,
        ...(total !== undefined && { total, percent: total > 0 ? Math.min(100, (bytes / total) * 100) : 100 }),
        ...(seconds > 0 && { rate: Math.round(bytes / seconds) }),
      });
    },
    onCleanup(fn) {
      cleanups.push(fn);
    },
    async runCleanups() {
      for (const fn of cleanups.reverse())
        await Promise.resolve()
          .then(fn)
          .catch(() => {});
      await rm(workDir, { recursive: true, force: true });
    },
  };
  return job;
}
