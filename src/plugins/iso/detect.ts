import {
  asciiField,
  problemOf,
  qemuLength,
  readAt,
  u16le,
  u32le,
  u8,
  type Detection,
  type Detector,
  type ImageReader,
  type Problem,
} from "../../plugin-api.ts";

/**
 * The problem codes the iso detector reports besides the common `truncated`: none.
 *
 * @example
 * ```ts
 * isoProblemCodes.length; // 0
 * ```
 */
export const isoProblemCodes = [] as const;

const problem = problemOf(isoProblemCodes);

const SYSTEM_AREA = 32 * 1024;
const DESCRIPTOR_SIZE = 2048;
/** The volume recognition sequence is short; 16 descriptors covers every real layout. */
const MAX_DESCRIPTORS = 16;
const IDENTIFIERS = new Set(["CD001", "BEA01", "NSR02", "NSR03", "TEA01", "BOOT2", "CDW02"]);
const PRIMARY_VOLUME = 1;

async function detectIso(reader: ImageReader): Promise<Detection | null> {
  let primary: Uint8Array | undefined;
  let iso9660 = false;
  let udf = false;
  for (let i = 0; i < MAX_DESCRIPTORS; i++) {
    const descriptor = await readAt(reader, SYSTEM_AREA + i * DESCRIPTOR_SIZE, DESCRIPTOR_SIZE);
    const id = asciiField(descriptor, 1, 5);
    if (!IDENTIFIERS.has(id)) break;
    if (id === "CD001") {
      iso9660 = true;
      if (!primary && u8(descriptor, 0) === PRIMARY_VOLUME) primary = descriptor;
    }
    if (id === "NSR02" || id === "NSR03") udf = true;
  }
  if (!iso9660 && !udf) return null;
  const fileSize = await reader.size();
  const details: Record<string, unknown> = { iso9660, udf };
  const problems: Problem[] = [];
  if (primary) {
    const blocks = u32le(primary, 80);
    const blockSize = u16le(primary, 128);
    const volumeSize = blocks * blockSize;
    Object.assign(details, { volumeId: asciiField(primary, 40, 32).trim(), blockSize, volumeSize });
    if (volumeSize > fileSize)
      problems.push(problem("truncated", "ISO is truncated: the volume is larger than the file"));
  }
  return { format: "iso", variant: iso9660 ? "iso9660" : "udf", virtualSize: qemuLength(fileSize), problems, details };
}

/**
 * Detects ISO 9660 (`CD001`) and UDF (`NSR02`/`NSR03`) volumes from the recognition sequence
 * after the 32 KiB system area. qemu reads them as raw, so the virtual size is the file size (in whole sectors);
 * the volume size goes in the details.
 *
 * @example
 * ```ts
 * const found = await isoDetector.detect(reader, {});
 * found?.details?.volumeSize; // 3600000
 * ```
 */
export const isoDetector: Detector = { name: "iso", phase: "head", detect: detectIso };
