/**
 * Mutations aimed at qemu's format probes, for parity fuzzing: each writes or inserts one
 * probe's token (a magic, a descriptor's version line, spaces, line ends, a comment mark) in
 * the first bytes of an image, where the probes look; a cut shortens the image.
 */
import { closeSync, fstatSync, ftruncateSync, openSync, readSync, writeSync } from "node:fs";
import fc from "fast-check";
import { CLOOP_MAGIC } from "./probe-cases.ts";

/** Edits stay within this many leading bytes (qemu probes 512). */
const WINDOW = 1024;

const TOKENS = [
  "version=1\n",
  "version=2\r\n",
  "version=3\n",
  "version=4\n",
  "   \n",
  "  \r\n",
  " ",
  "\n",
  "\r",
  "\t",
  "#",
  "# Disk DescriptorFile\n",
  "conectix",
  "QFI\xfb\0\0\0\x01",
  "QFI\xfb\0\0\0\x02",
  "QFI\xfb\0\0\0\x03",
  "KDMV",
  "COWD",
  "vhdxfile",
  "QED\0",
  "LUKS\xba\xbe\0\x01",
  "LUKS\xba\xbe\0\x02",
  "WithoutFreeSpace\x02\0\0\0",
  "WithouFreSpacExt\x02\0\0\0",
  "\x7f\x10\xda\xbe",
  "Bochs Virtual HD Image\0",
  "Redolog\0",
  "Growing\0",
  "\0\0\x02\0",
  "\0\0\x01\0",
  CLOOP_MAGIC,
  "\0",
];

/**
 * One probe-aimed edit: write (overwrite) or insert `token` at `at`, biased to the offsets the
 * probes read (0, the parallels version at 16, bochs fields at 32/48/64, vdi's signature at 0x40,
 * the end of the 512-byte probe window).
 *
 * @example
 * ```ts
 * fc.array(probeEdit, { minLength: 1, maxLength: 4 });
 * ```
 */
export const probeEdit = fc.record({
  insert: fc.boolean(),
  at: fc.oneof(fc.constantFrom(0, 0, 0, 4, 16, 32, 48, 64, 500, 502, 510), fc.nat({ max: 600 })),
  token: fc.constantFrom(...TOKENS),
});

/** A value of `probeEdit`. */
export type ProbeEdit = typeof probeEdit extends fc.Arbitrary<infer T> ? T : never;

/**
 * Applies edits to the first bytes of an image. Inserting shifts the rest of the window (bytes
 * pushed past it are dropped, so the file beyond stays put); an image shorter than the window
 * may grow up to it.
 *
 * @example
 * ```ts
 * editHead(Buffer.from("version=1\n"), [{ insert: true, at: 0, token: "  \n" }]); // "  \nversion=1\n"
 * ```
 */
export function editHead(head: Uint8Array, edits: ProbeEdit[]): Uint8Array {
  let bytes = Array.from(head);
  for (const edit of edits) {
    const token = Array.from(Buffer.from(edit.token, "latin1"));
    const at = Math.min(edit.at, bytes.length);
    if (edit.insert) bytes.splice(at, 0, ...token);
    else bytes.splice(at, token.length, ...token);
    bytes = bytes.slice(0, Math.max(head.length, Math.min(bytes.length, WINDOW)));
  }
  return Uint8Array.from(bytes);
}

/**
 * Edits a file's first bytes in place, then cuts it to `cut` bytes when given.
 *
 * @example
 * ```ts
 * editFile(path, [{ insert: false, at: 0, token: "conectix" }], 300);
 * ```
 */
export function editFile(path: string, edits: ProbeEdit[], cut?: number): void {
  const fd = openSync(path, "r+");
  try {
    const head = Buffer.alloc(Math.min(WINDOW, fstatSync(fd).size));
    readSync(fd, head, 0, head.length, 0);
    const edited = editHead(head, edits);
    writeSync(fd, edited, 0, edited.length, 0);
    if (cut !== undefined && cut < fstatSync(fd).size) ftruncateSync(fd, cut);
  } finally {
    closeSync(fd);
  }
}
