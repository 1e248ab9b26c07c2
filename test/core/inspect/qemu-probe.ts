/**
 * qemu's own format probe, for parity tests: `qemu-img info` without `-f` on a private copy of
 * an image, under the CPU and address-space limits diskpipe always uses. The copy is called
 * "image" in a fresh mkdtemp directory, so no probe that looks at the file name can apply and a
 * descriptor's relative extent names resolve inside that otherwise empty directory. qemu-img
 * info opens images read-only.
 */
import { execFile } from "node:child_process";
import { chmodSync, constants, copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type { InspectResult } from "../../../src/core/inspect/types.ts";

const run = promisify(execFile);
const LIMITS = ["--cpu=8", "--as=1073741824"];
/** Formats the inspector reports that qemu reads with its raw driver. */
const READ_AS_RAW = new Set(["raw", "iso"]);

/** How often a probe cut short by its wall-clock timeout (a busy machine, not qemu's answer) is run again. */
const ATTEMPTS = 3;

/** What qemu's probe made of an image: the format it opened it as, or why it could not open it. */
export type QemuProbe = { format: string } | { error: string };

/**
 * Runs qemu's probe on a private copy of `path`.
 *
 * @example
 * ```ts
 * const probe = await qemuProbe("disk.img");
 * if ("format" in probe) console.log(probe.format); // "raw", "vmdk", …
 * ```
 */
export async function qemuProbe(path: string): Promise<QemuProbe> {
  const dir = mkdtempSync(join(tmpdir(), "diskpipe-probe-"));
  try {
    const copy = join(dir, "image");
    copyFileSync(path, copy, constants.COPYFILE_EXCL);
    chmodSync(copy, 0o600);
    return await probeCopy(copy);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function probeCopy(copy: string): Promise<QemuProbe> {
  for (let attempt = 1; ; attempt++) {
    try {
      const { stdout } = await run("prlimit", [...LIMITS, "--", "qemu-img", "info", "--output=json", copy], {
        maxBuffer: 4 * 1024 * 1024,
        timeout: 30_000 * attempt,
      });
      const info = JSON.parse(stdout) as { format?: unknown };
      return typeof info.format === "string" ? { format: info.format } : { error: "qemu-img info named no format" };
    } catch (error) {
      const { stderr, killed } = error as { stderr?: unknown; killed?: boolean };
      if (killed === true && attempt < ATTEMPTS) continue;
      if (killed === true)
        throw new Error(
          `qemu-img info ran out of time ${ATTEMPTS} times: the machine is too busy to compare with qemu's probe`,
        );
      return { error: (typeof stderr === "string" && stderr.trim()) || String(error) };
    }
  }
}

/**
 * True when the inspector judged the image safe to hand qemu as raw (raw, GPT/MBR, ISO).
 *
 * @example
 * ```ts
 * if (calledRaw(await inspectFile(path))) checked++;
 * ```
 */
export function calledRaw(result: InspectResult): boolean {
  return result.safe && READ_AS_RAW.has(result.format);
}

/**
 * The parity rule: an image the inspector calls raw and safe must be raw to qemu's probe too (a
 * qemu error means its probe chose a format whose driver then refused the image). Returns
 * what went wrong, or undefined.
 *
 * @example
 * ```ts
 * assert.equal(parityFailure(result, await qemuProbe(path)), undefined);
 * ```
 */
export function parityFailure(result: InspectResult, probe: QemuProbe): string | undefined {
  if (!calledRaw(result)) return undefined;
  if ("format" in probe && probe.format === "raw") return undefined;
  const qemu = "format" in probe ? `opens it as ${probe.format}` : `cannot open it (${probe.error})`;
  return `the inspector calls it ${result.format} and safe, but qemu's probe ${qemu}`;
}
