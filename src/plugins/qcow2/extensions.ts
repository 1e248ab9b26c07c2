import { asciiField, printable, readAt, u32be, type ImageReader, type Problem } from "../../plugin-api.ts";
import type { Qcow2Header } from "./detect.ts";
import { qcow2Problem } from "./problems.ts";

/** The length of a version 2 header, where the extensions of a v2 image start. */
export const V2_HEADER_LENGTH = 72;
/** Header extensions must end within this window; qemu's own images use a few hundred bytes. */
const EXTENSION_WINDOW = 64 * 1024;

const EXT_BACKING_FORMAT = 0xe2792aca;
const EXT_CRYPTO = 0x0537be77;
const EXT_BITMAPS = 0x23852875;
const EXT_DATA_FILE = 0x44415441;

/** What the header extensions say: their problems and the facts the detector reports. */
export interface Extensions {
  problems: Problem[];
  backingFormat?: string;
  encryptionHeader?: boolean;
  bitmaps?: boolean;
}

/**
 * Walks the header extensions the way qemu does, within a bounded window.
 *
 * @example
 * ```ts
 * declare const header: Qcow2Header;
 * const { problems, backingFormat } = await readExtensions(reader, header);
 * ```
 */
export async function readExtensions(reader: ImageReader, h: Qcow2Header): Promise<Extensions> {
  const out: Extensions = { problems: [] };
  const corrupt = (why: string) => qcow2Problem("qcow2-corrupt-header", `qcow2 header extensions are corrupt: ${why}`);
  // Stryker disable next-line ConditionalExpression: parseHeader sets a v2 header's length to V2_HEADER_LENGTH, so both branches agree for v2
  const start = h.version >= 3 ? h.headerLength : V2_HEADER_LENGTH;
  const end = h.backingOffset !== 0n ? Number(h.backingOffset) : 2 ** h.clusterBits;
  const span = end - start;
  // Stryker disable next-line ConditionalExpression,EqualityOperator: with a span of 0 or less readAt reads nothing and the loop never runs, so the early return only saves work
  if (span <= 0) return out;
  const windowLength = Math.min(span, EXTENSION_WINDOW);
  const window = await readAt(reader, start, windowLength);
  const capped = span > EXTENSION_WINDOW;
  let offset = 0;
  while (offset < span) {
    if (capped && offset + 8 > window.length) {
      out.problems.push(corrupt(`they run past the first ${EXTENSION_WINDOW / 1024} KiB`));
      break;
    }
    const magic = u32be(window, offset);
    const length = u32be(window, offset + 4);
    offset += 8;
    // qemu checks the length before looking at the type, even for the end marker.
    if (offset > span || length > span - offset) {
      out.problems.push(corrupt("an extension is larger than the header area"));
      break;
    }
    if (magic === 0) break;
    if (capped && offset + length > window.length) {
      out.problems.push(corrupt(`they run past the first ${EXTENSION_WINDOW / 1024} KiB`));
      break;
    }
    if (magic === EXT_DATA_FILE) {
      const name = printable(asciiField(window, offset, length));
      out.problems.push(
        qcow2Problem("qcow2-data-file", `qcow2 names an external data file${name ? ` "${name}"` : ""}`),
      );
    } else if (magic === EXT_BACKING_FORMAT) {
      out.backingFormat = printable(asciiField(window, offset, Math.min(length, 32)));
    } else if (magic === EXT_CRYPTO) {
      out.encryptionHeader = true;
    } else if (magic === EXT_BITMAPS) {
      out.bitmaps = true;
    }
    offset += Math.ceil(length / 8) * 8;
  }
  return out;
}
