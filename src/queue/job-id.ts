import { createHash } from "node:crypto";
import { UsageError } from "../core/errors.ts";
import type { QueueMessage } from "./message.ts";

/** An explicit job id: a letter first (BullMQ refuses ids that are whole numbers), then at most 99 of letters, digits, `.`, `_`, `-`. */
const EXPLICIT_ID = /^[A-Za-z][A-Za-z0-9._-]{0,99}$/;

/**
 * The id a message is queued under: the one given (`--id`), else one derived from the
 * message itself, so that submitting the same job twice while the first is still known to the
 * queue adds nothing. Keys are sorted, so the order fields were written in does not matter.
 *
 * @example
 * ```ts
 * declare const message: QueueMessage;
 * jobIdFor(message); // "dp-4f1c2e9a0b7d3c5e6f708192"
 * jobIdFor(message, "migration-vm-0042"); // "migration-vm-0042"
 * ```
 */
export function jobIdFor(message: QueueMessage, explicit?: string): string {
  if (explicit !== undefined) {
    if (!EXPLICIT_ID.test(explicit))
      throw new UsageError(
        `job id ${JSON.stringify(explicit).slice(0, 120)}: a letter, then letters, digits, ., _ and - (at most 100)`,
      );
    return explicit;
  }
  return `dp-${createHash("sha256").update(canonical(message)).digest("hex").slice(0, 24)}`;
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}
