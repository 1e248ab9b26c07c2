import type { z } from "zod";
import { DiskpipeError } from "../core/errors.ts";
import { NotRegularError, readSmallFile } from "../core/io/open-regular.ts";
import { sizeSchema } from "../core/config.ts";
import { lazySchema, zod } from "../core/lazy-zod.ts";

/** Sidecars are small; a larger one is refused unread. */
const MAX_SIDECAR_BYTES = 64 * 1024;

/**
 * The sidecar schema (zod): unknown keys are errors, so typos are caught. Built, and zod
 * loaded, when first used.
 *
 * @example
 * ```ts
 * sidecarSchema.parse({ from: "vmdk", maxSize: "10G" }); // { from: "vmdk", maxSize: 10737418240 }
 * ```
 */
export const sidecarSchema = lazySchema(() => {
  const z = zod();
  return z
    .object({
      /** The claimed source format; detection must agree. */
      from: z
        .string()
        .regex(/^[a-z0-9][a-z0-9-]*$/, "a format name is lower-case letters, digits and dashes")
        .optional(),
      /** A container the image arrives in (e.g. "ovf"). */
      container: z
        .string()
        .regex(/^[a-z0-9][a-z0-9-]*$/, "a container name is lower-case letters, digits and dashes")
        .optional(),
      /** `sha256:HEX` or `sha512:HEX` the file must hash to. */
      checksum: z
        .string()
        .regex(/^(sha256:[0-9a-fA-F]{64}|sha512:[0-9a-fA-F]{128})$/, "expected sha256:HEX or sha512:HEX")
        .optional(),
      /** Largest virtual size accepted: bytes, or a size such as "10G". It can only lower the operator's. */
      maxSize: sizeSchema().optional(),
      /**
       * The only plugin options a spool user may set: never a host path, never a security
       * setting (passphrase files, ciphers, key-derivation work are the operator's).
       */
      options: z
        .object({
          /** The target's subformat (vmdk streamOptimized, vhd fixed, …). */
          subformat: z
            .string()
            .regex(/^[A-Za-z0-9_-]{1,40}$/, "a subformat is letters, digits, _ and -")
            .optional(),
          /** A compressed output (`--compress`), for the targets that offer one (qcow2, vmdk). */
          compress: z.boolean().optional(),
          /** A LUKS key by id, in the directory the operator configured (luks({ keyDirectory })). */
          keyId: z
            .string()
            .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, "a key id is letters, digits, ., _ and -, not starting with .")
            .optional(),
        })
        .strict()
        .optional(),
    })
    .strict();
});

/**
 * A validated sidecar: what `<name>.json` beside a dropped file claims about it.
 *
 * @example
 * ```ts
 * const sidecar: Sidecar = { from: "vmdk", maxSize: 10 * 1024 ** 3, options: { subformat: "fixed", keyId: "tenant-a" } };
 * ```
 */
export type Sidecar = z.output<typeof sidecarSchema>;

/**
 * Validates sidecar text. A bad sidecar is a usage error naming each bad field.
 *
 * @example
 * ```ts
 * parseSidecar('{"from":"vmdk","maxSize":"10G"}', "disk.vmdk.json"); // { from: "vmdk", maxSize: 10737418240 }
 * ```
 */
export function parseSidecar(text: string, label: string): Sidecar {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    // The parser's message quotes the text: never echo what a sidecar holds (it may be a link's target).
    throw new DiskpipeError("usage", `bad sidecar ${label}: not JSON`, { stage: "sidecar" });
  }
  const parsed = sidecarSchema.safeParse(json);
  if (!parsed.success) {
    const fields = parsed.error.issues.map(
      (issue) => `${issue.path.length ? issue.path.join(".") : "(root)"}: ${issue.message}`,
    );
    throw new DiskpipeError("usage", `bad sidecar ${label}: ${fields.join("; ")}`, { stage: "sidecar" });
  }
  return parsed.data;
}

/**
 * Reads and validates the sidecar at `path`; `undefined` when there is none. Only a regular
 * file of at most 64 KiB is read, never through a symbolic link and never waiting on a FIFO.
 *
 * @example
 * ```ts
 * const sidecar = await readSidecar("/srv/spool/work/m3x9k2ab-4f1c2e--disk.vmdk.json", "disk.vmdk.json");
 * ```
 */
export async function readSidecar(path: string, label: string): Promise<Sidecar | undefined> {
  let bytes: Buffer;
  try {
    bytes = await readSmallFile(path, MAX_SIDECAR_BYTES, { followLinks: false });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    if (error instanceof NotRegularError)
      throw new DiskpipeError(
        "usage",
        `bad sidecar ${label}: it is ${error.kind.startsWith("larger") ? error.kind : `a ${error.kind}`}, not a regular file`,
        { stage: "sidecar" },
      );
    throw new DiskpipeError(
      "io-failed",
      `cannot read sidecar ${label}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
      { stage: "sidecar" },
    );
  }
  return parseSidecar(bytes.toString("utf8"), label);
}
