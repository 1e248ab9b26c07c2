import { createHash } from "node:crypto";

/**
 * The content hash written from its definition alone, over a disk's raw bytes, to check the
 * product against: 64 KiB blocks (the last may be short), block i's sha256 into stream i mod 4,
 * sha256 over the four stream digests in order.
 */
export function referenceContentHash(disk: Buffer): string {
  const streams = [0, 1, 2, 3].map(() => createHash("sha256"));
  const blockSize = 65536;
  for (let i = 0; i * blockSize < disk.length; i++) {
    streams[i % 4].update(
      createHash("sha256")
        .update(disk.subarray(i * blockSize, (i + 1) * blockSize))
        .digest(),
    );
  }
  const outer = createHash("sha256");
  for (const stream of streams) outer.update(stream.digest());
  return `blk-sha256:${outer.digest("hex")}`;
}
