import type { Problem } from "../errors.ts";
import { printable } from "./bytes.ts";
import { problem } from "./problem.ts";

/** Claims arrive in their conventional names: the format registry resolves aliases (vpc → vhd) first. */
function normalize(name: string): string {
  return name.trim().toLowerCase();
}

function accepted(entry: string, format: string, variant: string | undefined): boolean {
  const [wantFormat, wantVariant] = normalize(entry).split(":", 2) as [string, string | undefined];
  if (wantFormat !== format) return false;
  return wantVariant === undefined || wantVariant === (variant ?? "").toLowerCase();
}

/**
 * The claimed-versus-detected rule. A claim accepts the same format (any variant): "raw"
 * accepts raw images with or without a GPT/MBR table. `accepts`, when given (a format's
 * `FormatDefinition.accepts`: the iso plugin's lists hybrid `raw:gpt` and `raw:mbr`),
 * replaces the rule: it lists acceptable detections as `format` (any variant) or
 * `format:variant` (e.g. `raw:gpt`). A claim no detector produces, with no `accepts`, is a
 * mismatch. Returns the `format-mismatch` problem, or null when the claim holds.
 *
 * @example
 * ```ts
 * checkClaim("raw", { format: "qcow2" });                        // { code: "format-mismatch", … }
 * checkClaim("iso", { format: "raw", variant: "gpt" }, ["iso", "raw:gpt"]); // null
 * checkClaim("ami", { format: "qcow2" }, ["raw", "qcow2"]);      // null
 * ```
 */
export function checkClaim(
  claimed: string,
  result: { format: string; variant?: string },
  accepts?: string[],
): Problem | null {
  const claim = normalize(claimed);
  const format = result.format.toLowerCase();
  const rule = accepts ?? [claim];
  if (rule.some((entry) => accepted(entry, format, result.variant))) return null;
  const seen = result.variant ? `${format} (${printable(result.variant, 40)})` : format;
  return problem("format-mismatch", `the image was claimed to be ${printable(claim, 40)} but is ${seen}`);
}
