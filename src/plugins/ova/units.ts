import { quote } from "../../plugin-api.ts";
import { OvaRefusal } from "./refusal.ts";

/** Older descriptors' unit words, as bytes. */
const WORDS: Record<string, number> = {
  byte: 1,
  bytes: 1,
  kilobytes: 2 ** 10,
  megabytes: 2 ** 20,
  gigabytes: 2 ** 30,
  terabytes: 2 ** 40,
};

/**
 * A decimal integer from a descriptor, which must be positive (or zero when `zero` allows) and
 * exactly representable.
 *
 * @example
 * ```ts
 * positiveInteger("4096", "the size of file1"); // 4096
 * ```
 */
export function positiveInteger(text: string, what: string, zero = false): number {
  const trimmed = text.trim();
  const value = /^\d{1,16}$/.test(trimmed) ? Number(trimmed) : Number.NaN;
  if (!Number.isSafeInteger(value) || (value === 0 && !zero))
    throw new OvaRefusal("ova-descriptor-invalid", `${what} is ${quote(text)}, not a count`);
  return value;
}

/**
 * How many bytes `quantity` `units` are: DSP0004's programmatic units (`byte * 2^30`,
 * `byte * 10^9`) or the older words (`MegaBytes`, `GigaBytes`). The result must be an exact
 * integer below 2^53.
 *
 * @example
 * ```ts
 * bytesOf("16", "byte * 2^30", "the capacity of disk1"); // 17179869184
 * ```
 */
export function bytesOf(quantity: string, units: string, what: string): number {
  const count = positiveInteger(quantity, what);
  const multiplier = multiplierOf(units.trim().toLowerCase());
  if (multiplier === undefined) throw new OvaRefusal("ova-descriptor-invalid", `${what} has the units ${quote(units)}`);
  const bytes = count * multiplier;
  if (!Number.isSafeInteger(bytes)) throw new OvaRefusal("ova-descriptor-invalid", `${what} is too large`);
  return bytes;
}

function multiplierOf(units: string): number | undefined {
  if (Object.hasOwn(WORDS, units)) return WORDS[units];
  const power = /^bytes?\s*\*\s*(2|10)\s*\^\s*(\d{1,2})$/.exec(units);
  if (!power) return undefined;
  const [base, exponent] = [Number(power[1]), Number(power[2])];
  // The base is 2 or 10 (the pattern says so): up to 2^50 and 10^15.
  return exponent <= (base === 2 ? 50 : 15) ? base ** exponent : undefined;
}
