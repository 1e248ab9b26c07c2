import type { z } from "zod";
import { DiskpipeError } from "./errors.ts";
import { lazy, zod } from "./lazy-zod.ts";

/**
 * The subset of `qemu-img info --output=json` diskpipe relies on, validated (zod, built on first use).
 *
 * @example
 * ```ts
 * const info = parseJson(qemuInfoSchema(), '{"format":"qcow2","virtual-size":1073741824}', "info");
 * info["virtual-size"]; // 1073741824
 * ```
 */
export const qemuInfoSchema = lazy(() => {
  const z = zod();
  return z.looseObject({
    format: z.string(),
    "virtual-size": z.number().int().nonnegative(),
    "actual-size": z.number().int().nonnegative().optional(),
    "backing-filename": z.string().optional(),
    "full-backing-filename": z.string().optional(),
    "dirty-flag": z.boolean().optional(),
    "format-specific": z
      .looseObject({
        type: z.string(),
        data: z.looseObject({ "data-file": z.string().optional(), "create-type": z.string().optional() }).optional(),
      })
      .optional(),
  });
});

/** qemu-img's view of one image. */
export type QemuInfo = z.infer<ReturnType<typeof qemuInfoSchema>>;

/**
 * One extent of `qemu-img map --output=json`: `data` false means a hole (reads as zeroes
 * without being stored).
 *
 * @example
 * ```ts
 * const extent: QemuExtent = { start: 0, length: 8388608, data: true, zero: false };
 * ```
 */
export interface QemuExtent {
  start: number;
  length: number;
  data: boolean;
  zero: boolean;
}
/** Sizes `qemu-img measure` reports for a conversion. */
export interface QemuMeasure {
  required: number;
  fullyAllocated: number;
}

/**
 * `measure`'s answer, validated.
 *
 * @example
 * ```ts
 * parseJson(measureSchema(), '{"required":393216,"fully-allocated":1074135040}', "measure").required; // 393216
 * ```
 */
export const measureSchema = lazy(() =>
  zod().looseObject({
    required: zod().number().int().nonnegative(),
    "fully-allocated": zod().number().int().nonnegative(),
  }),
);

/**
 * `map`'s answer, validated.
 *
 * @example
 * ```ts
 * const extents = parseJson(mapSchema(), '[{"start":0,"length":65536,"data":true,"zero":false}]', "map");
 * ```
 */
export const mapSchema = lazy(() => {
  const z = zod();
  return z.array(
    z.looseObject({
      start: z.number().int().nonnegative(),
      length: z.number().int().nonnegative(),
      data: z.boolean(),
      zero: z.boolean(),
    }),
  );
});

/**
 * Parses qemu-img's JSON output against `schema`; anything else is a `qemu-img-failed` error.
 *
 * @example
 * ```ts
 * parseJson(measureSchema(), "qemu-img: Could not open", "measure"); // throws qemu-img-failed: "… is not JSON"
 * ```
 */
export function parseJson<S extends z.ZodType>(schema: S, text: string, command: string): z.infer<S> {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new DiskpipeError("qemu-img-failed", `qemu-img ${command} printed something that is not JSON`);
  }
  const parsed = schema.safeParse(data);
  if (!parsed.success)
    throw new DiskpipeError(
      "qemu-img-failed",
      `qemu-img ${command} output was not as expected: ${zod().prettifyError(parsed.error)}`,
    );
  return parsed.data;
}
