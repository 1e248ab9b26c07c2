/** In-memory qcow2 images for the qcow2 detector's tests: a header, its extensions, a file size. */
import type { ImageReader } from "../../../src/core/io/reader.ts";
import { qcow2Detector, type Qcow2Header } from "../../../src/plugins/qcow2/detect.ts";
import type { Detection, HeaderFacts } from "../../../src/core/inspect/types.ts";
import { memoryReader, type Region } from "../../core/inspect/readers.ts";

export const EXT_BACKING_FORMAT = 0xe2792aca;
export const EXT_CRYPTO = 0x0537be77;
export const EXT_BITMAPS = 0x23852875;
export const EXT_DATA_FILE = 0x44415441;
export const INT64_MAX = 2n ** 63n - 1n;

/** The header fields the detector reads, as the builder writes them. */
export type Qcow2Fields = Qcow2Header;

/** One header extension: its type, and its data (padded to 8 bytes when written). */
export interface Extension {
  magic: number;
  data?: Uint8Array;
  /** The length field, when it must differ from the data's length. */
  length?: number;
}

/** What to build: fields over the defaults, extensions, the file size, extra regions. */
export interface Qcow2Spec extends Partial<Qcow2Fields> {
  extensions?: Extension[];
  /** Where the extensions start; by default right after the header. */
  extensionsAt?: number;
  fileSize?: number;
  regions?: Region[];
}

/**
 * A valid qcow2 v3 layout by default: a 1 MiB disk with 64 KiB clusters, the refcount table in
 * cluster 1, the L1 table (as long as the size needs) in cluster 2, the file three clusters long.
 */
export function qcow2Fields(spec: Qcow2Spec = {}): Qcow2Fields {
  const clusterBits = spec.clusterBits ?? 16;
  const cluster = 2n ** BigInt(clusterBits);
  const size = spec.size ?? 1n << 20n;
  const span = 1n << BigInt(2 * clusterBits - 3);
  return {
    version: 3,
    backingOffset: 0n,
    backingSize: 0,
    clusterBits,
    size,
    cryptMethod: 0,
    l1Size: Number((size + span - 1n) / span),
    l1Offset: 2n * cluster,
    refcountOffset: cluster,
    refcountClusters: 1,
    snapshots: 0,
    snapshotsOffset: 0n,
    incompatible: 0n,
    compatible: 0n,
    refcountOrder: 4,
    headerLength: 112,
    compressionType: 0,
    ...Object.fromEntries(
      Object.entries(spec).filter(([key]) => !["extensions", "extensionsAt", "fileSize", "regions"].includes(key)),
    ),
  };
}

/** The header's bytes (the 112 bytes of a v3 header; v2 images get the same buffer, read to 72). */
export function headerBytes(f: Qcow2Fields): Uint8Array {
  const b = Buffer.alloc(112);
  b.write("QFI\xfb", 0, "latin1");
  b.writeUInt32BE(f.version, 4);
  b.writeBigUInt64BE(f.backingOffset, 8);
  b.writeUInt32BE(f.backingSize, 16);
  b.writeUInt32BE(f.clusterBits, 20);
  b.writeBigUInt64BE(f.size, 24);
  b.writeUInt32BE(f.cryptMethod, 32);
  b.writeUInt32BE(f.l1Size, 36);
  b.writeBigUInt64BE(f.l1Offset, 40);
  b.writeBigUInt64BE(f.refcountOffset, 48);
  b.writeUInt32BE(f.refcountClusters, 56);
  b.writeUInt32BE(f.snapshots, 60);
  b.writeBigUInt64BE(f.snapshotsOffset, 64);
  if (f.version === 2) return b.subarray(0, 72);
  b.writeBigUInt64BE(f.incompatible, 72);
  b.writeBigUInt64BE(f.compatible, 80);
  b.writeUInt32BE(f.refcountOrder, 96);
  b.writeUInt32BE(f.headerLength, 100);
  b.writeUInt8(f.compressionType, 104);
  return b;
}

/** Extensions laid out as qemu writes them: type, length, data padded to 8 bytes. */
export function extensionBytes(extensions: Extension[]): Uint8Array {
  const parts = extensions.map(({ magic, data = new Uint8Array(0), length = data.length }) => {
    const part = Buffer.alloc(8 + Math.ceil(data.length / 8) * 8);
    part.writeUInt32BE(magic, 0);
    part.writeUInt32BE(length, 4);
    part.set(data, 8);
    return part;
  });
  return Buffer.concat(parts);
}

/** A reader over the image `spec` describes. */
export function qcow2Reader(spec: Qcow2Spec = {}): ImageReader {
  const f = qcow2Fields(spec);
  const cluster = 2 ** f.clusterBits;
  const extensionsAt = spec.extensionsAt ?? (f.version === 2 ? 72 : f.headerLength);
  const regions: Region[] = [
    { offset: 0, bytes: headerBytes(f) },
    { offset: extensionsAt, bytes: extensionBytes(spec.extensions ?? []) },
    ...(spec.regions ?? []),
  ];
  return memoryReader(spec.fileSize ?? 3 * cluster, regions);
}

/** Runs the qcow2 detector on the image `spec` describes, recording what it tells `onHeader`. */
export async function detect(spec: Qcow2Spec = {}): Promise<Detection & { headers: HeaderFacts[] }> {
  const headers: HeaderFacts[] = [];
  const found = await qcow2Detector.detect(qcow2Reader(spec), { onHeader: (h) => headers.push(h) });
  if (!found) throw new Error("not detected as qcow2");
  return { ...found, headers };
}

/** The problem codes of a detection, in order. */
export async function codes(spec: Qcow2Spec = {}): Promise<string[]> {
  return (await detect(spec)).problems.map((p) => p.code);
}

/** The problem messages of a detection, in order. */
export async function messages(spec: Qcow2Spec = {}): Promise<string[]> {
  return (await detect(spec)).problems.map((p) => p.message);
}

/** Latin-1 text as bytes. */
export function text(s: string): Uint8Array {
  return Buffer.from(s, "latin1");
}
