import { UsageError } from "./errors.ts";

const UNITS: Record<string, number> = { "": 1, B: 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4, P: 1024 ** 5 };

/**
 * Parses a size given in bytes or with a binary suffix (K, M, G, T, P; "KiB"/"KB" also read as 1024).
 *
 * @example
 * ```ts
 * parseSize("10G"); // 10737418240
 * parseSize(512);   // 512
 * ```
 */
export function parseSize(value: string | number): number {
  if (typeof value === "number") {
    if (Number.isSafeInteger(value) && value >= 0) return value;
    throw new UsageError(`invalid size ${value}: expected a whole number of bytes`);
  }
  const match = /^\s*(\d+(?:\.\d+)?)\s*([KMGTP]?)(?:i?B)?\s*$/i.exec(value);
  if (!match) throw new UsageError(`invalid size "${value}": expected bytes or a number with K, M, G or T`);
  const bytes = Math.floor(Number(match[1]) * UNITS[match[2].toUpperCase()]);
  if (!Number.isSafeInteger(bytes)) throw new UsageError(`size "${value}" is too large`);
  return bytes;
}

/**
 * Formats bytes for people, in binary units.
 *
 * @example
 * ```ts
 * formatSize(1536); // "1.5 KiB"
 * ```
 */
export function formatSize(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1).replace(/\.0$/, "")} ${units[unit]}`;
}

/**
 * Formats a duration in milliseconds for people: whole hours in hours, whole seconds in
 * seconds, anything else in milliseconds.
 *
 * @example
 * ```ts
 * formatDuration(7_200_000); // "2 h"
 * formatDuration(90_000); // "90 s"
 * ```
 */
export function formatDuration(ms: number): string {
  return ms % 3_600_000 === 0 ? `${ms / 3_600_000} h` : ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}
