import fc from "fast-check";
import type { Region } from "./readers.ts";

/** A real image as the inspector reads it: the regions it read, to mutate in memory. */
export interface Seed {
  name: string;
  path: string;
  size: number;
  regions: Region[];
}

/** A byte write: region index, position (biased to the first 512 bytes), value. */
export const mutation = fc.record({
  region: fc.nat(),
  position: fc.oneof(fc.nat({ max: 511 }), fc.nat()),
  bytes: fc.oneof(
    fc.uint8Array({ minLength: 1, maxLength: 1 }),
    fc.uint8Array({ minLength: 4, maxLength: 4 }),
    fc.uint8Array({ minLength: 8, maxLength: 8 }),
    fc.constantFrom(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff), new Uint8Array(8)),
  ),
});
export type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;

/** Applies mutations to copies of the seed's regions; `keep` protects a leading byte range of the image. */
export function mutate(s: Seed, mutations: Mutation[], keep = 0): Region[] {
  const regions = s.regions.map((r) => ({ offset: r.offset, bytes: r.bytes.slice() }));
  for (const m of mutations) {
    const r = regions[m.region % regions.length]!;
    if (r.bytes.length === 0) continue;
    const position = m.position % r.bytes.length;
    for (let i = 0; i < m.bytes.length && position + i < r.bytes.length; i++) {
      if (r.offset + position + i >= keep) r.bytes[position + i] = m.bytes[i]!;
    }
  }
  return regions;
}

/** Writes `bytes` at image offset `at` into whichever regions hold it. */
export function write(regions: Region[], at: number, bytes: Uint8Array): void {
  for (const r of regions) {
    for (let i = 0; i < bytes.length; i++) {
      const p = at + i - r.offset;
      if (p >= 0 && p < r.bytes.length) r.bytes[p] = bytes[i]!;
    }
  }
}

/** A big-endian 64-bit field. */
export function be64(value: bigint): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, value);
  return b;
}
