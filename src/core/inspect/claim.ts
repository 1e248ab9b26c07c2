import type { Problem } from "../errors.ts";
import { printable } from "./bytes.ts";
import { problem } from "./problem.ts";

/**
 * qemu driver names callers use for the core's conventional names; a plugin's aliases are
 * resolved by the format registry before a claim reaches the inspector.
 */
const ALIASES: Record<string, string> = { vpc: "vhd" };

/** What each claim accepts besides its own format; `format:variant` pins a variant. */
const BUILTIN_RULES: Record<string, readonly string[]> = {
  iso: ["iso", "raw:gpt", "raw:mbr"],
};

function normalize(name: string): string {
  const lower = name.trim().toLowerCase();
  return ALIASES[lower] ?? lower;
}

function accepted(entry: string, format: string, variant: string | undefined): boolean {
  const [wantFormat, wantVariant] = normalize(entry).split(":", 2) as [string, string | undefined];
  if (wantFormat !== format) return false;
  return wantVariant === undefined || wantVariant === (variant ?? "").toLowerCase();
}

/**
 * The claimed-versus-detected rule. A claim accepts the same format (any variant): "raw"
 * accepts raw images with or without a GPT/MBR table, "vhd" (or "vpc") accepts vhd. "iso"
 * also accepts a raw disk with a GPT or MBR table (hybrid images). `accepts`, when given,
 * replaces the rule: it lists acceptable detections as `format` (any variant) or
 * `format:variant` (e.g. `raw:gpt`). A claim no detector produces, with no `accepts`, is a
 * mismatch. Returns the `format-mismatch` problem, or null when the claim holds.
 *
 * @example
 * ```ts
 * checkClaim("raw", { format: "qcow2" });                        // { code: "format-mismatch", … }
 * checkClaim("iso", { format: "raw", variant: "gpt" });          // null
 * checkClaim("ami", { format: "qcow2" }, ["raw", "qcow2"]);      // null
 * ```
 */
export function checkClaim(claimed: string, result: { format: string; variant?: string }, accepts?: string[]): Problem | null {
  const claim = normalize(claimed);
  const format = result.format.toLowerCase();
  const rule = accepts ?? BUILTIN_RULES[claim] ?? [claim];
  if (rule.some((entry) => accepted(entry, format, result.variant))) return null;
  const seen = result.variant ? `${format} (${printable(result.variant, 40)})` : format;
  return problem("format-mismatch", `the image was claimed to be ${printable(claim, 40)} but is ${seen}`);
}
