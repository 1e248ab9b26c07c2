/** LUKS1 headers built in memory for the LUKS detector's tests (layout of cryptsetup's on-disk format, big-endian). */
import type { Detection } from "../../../src/core/inspect/types.ts";
import { luksDetector } from "../../../src/plugins/luks/detect.ts";
import { memoryReader } from "../../core/inspect/readers.ts";

/** One key slot: state (0x00ac71f3 enabled, 0x0000dead disabled), PBKDF2 iterations, key-material sector, stripes. */
export interface LuksSlot {
  active: number;
  iterations: number;
  keyOffset: number;
  stripes: number;
}

/** The fields of a LUKS1 header the detector reads. */
export interface LuksSpec {
  version: number;
  cipher: string;
  mode: string;
  hash: string;
  /** Payload offset in 512-byte sectors. */
  payload: number;
  keyBytes: number;
  digestIterations: number;
  slots: LuksSlot[];
}

export const ENABLED = 0x00ac71f3;
export const DISABLED = 0x0000dead;
/** Sectors of key material for a 64-byte key: 64 × 4000 stripes = 500 sectors, rounded up to whole 4 KiB. */
export const SLOT_SECTORS_64 = 504;

/**
 * A sound header as qemu writes it: aes-xts-plain64 with a 64-byte key, sha256, slot 0 enabled,
 * the others disabled, slots one after another from sector 8, payload at sector 4096.
 */
export function luksSpec(change: Partial<LuksSpec> = {}): LuksSpec {
  const slots = Array.from({ length: 8 }, (_, i) => ({
    active: i === 0 ? ENABLED : DISABLED,
    iterations: i === 0 ? 10_000 : 0,
    keyOffset: 8 + i * SLOT_SECTORS_64,
    stripes: 4000,
  }));
  return {
    version: 1,
    cipher: "aes",
    mode: "xts-plain64",
    hash: "sha256",
    payload: 4096,
    keyBytes: 64,
    digestIterations: 1000,
    slots,
    ...change,
  };
}

/** {@link luksSpec} with some slots changed (by index). */
export function withSlots(change: Record<number, Partial<LuksSlot>>, spec: LuksSpec = luksSpec()): LuksSpec {
  return { ...spec, slots: spec.slots.map((slot, i) => ({ ...slot, ...change[i] })) };
}

/** The 592 bytes of the header. */
export function luksHeader(spec: LuksSpec): Uint8Array {
  const head = Buffer.alloc(592);
  head.write("LUKS\xba\xbe", 0, "latin1");
  head.writeUInt16BE(spec.version, 6);
  head.write(spec.cipher, 8, 32, "latin1");
  head.write(spec.mode, 40, 32, "latin1");
  head.write(spec.hash, 72, 32, "latin1");
  head.writeUInt32BE(spec.payload, 104);
  head.writeUInt32BE(spec.keyBytes, 108);
  head.writeUInt32BE(spec.digestIterations, 164);
  spec.slots.forEach((slot, i) => {
    const at = 208 + i * 48;
    head.writeUInt32BE(slot.active, at);
    head.writeUInt32BE(slot.iterations, at + 4);
    head.writeUInt32BE(slot.keyOffset, at + 40);
    head.writeUInt32BE(slot.stripes, at + 44);
  });
  return new Uint8Array(head);
}

/** Runs the LUKS detector on the header in a file of `size` bytes (by default 1 MiB past the payload). */
export function detectLuks(spec: LuksSpec, size = spec.payload * 512 + 1024 * 1024): Promise<Detection | null> {
  return luksDetector.detect(memoryReader(size, [{ offset: 0, bytes: luksHeader(spec) }]), {});
}
