/**
 * The size qemu gives a byte length read as a disk: it counts whole 512-byte sectors, rounding
 * a file's length up (so a raw file of 1000001 bytes is a 1000448-byte disk).
 *
 * @example
 * ```ts
 * qemuLength(1000001); // 1000448
 * ```
 */
export function qemuLength(bytes: number): number {
  return Math.ceil(bytes / 512) * 512;
}
