import {
  checkClaim,
  inspectFile as inspectFileWith,
  inspectImage as inspectImageWith,
} from "../../src/core/inspect/index.ts";
import type { InspectOptions, InspectResult } from "../../src/core/inspect/types.ts";
import type { ImageReader } from "../../src/core/io/reader.ts";
import { registerFormats } from "../../src/core/inspector.ts";
import { standardFormats } from "../../src/plugins/standard.ts";

const standard = registerFormats(standardFormats()).formats;

/** The standard formats' detectors, in the order a default pipeline runs them. */
export const standardDetectors = standard.detectors();

/**
 * `options` as a default pipeline completes them: the claim's alias resolved, its `accepts`,
 * the standard detectors (those not given already, as a registry's are) before the given ones.
 */
function withStandard(options: InspectOptions): InspectOptions {
  const { claimed, accepts } = standard.inspection(options.claimed);
  const given = options.detectors ?? [];
  const missing = standardDetectors.filter((d) => !given.some((g) => g.detect === d.detect));
  return { ...(accepts && { accepts }), ...options, ...(claimed && { claimed }), detectors: [...missing, ...given] };
}

/** The core's `inspectFile` with the standard formats, as a default pipeline inspects. */
export function inspectFile(path: string, options: InspectOptions = {}): Promise<InspectResult> {
  return inspectFileWith(path, withStandard(options));
}

/** The core's `inspectImage` with the standard formats, as a default pipeline inspects. */
export function inspectImage(reader: ImageReader, options: InspectOptions = {}): Promise<InspectResult> {
  return inspectImageWith(reader, withStandard(options));
}

/** What a default pipeline tells the inspector about a claim: its conventional name and what it accepts. */
export function standardClaim(claim: string): Pick<InspectOptions, "claimed" | "accepts"> {
  const { claimed, accepts } = standard.inspection(claim);
  return { ...(claimed && { claimed }), ...(accepts && { accepts }) };
}

/** The claim rule as a default pipeline applies it: aliases and `accepts` entries resolved by the standard registry. */
export function checkStandardClaim(
  claim: string,
  result: { format: string; variant?: string },
  accepts?: string[],
): ReturnType<typeof checkClaim> {
  const resolved = standardClaim(claim);
  return checkClaim(
    resolved.claimed ?? claim,
    result,
    accepts?.map((entry) => standard.canonicalEntry(entry)) ?? resolved.accepts,
  );
}
