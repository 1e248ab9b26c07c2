import { quote } from "../../plugin-api.ts";
import { isMemberName } from "./descriptor.ts";
import { OvaRefusal } from "./refusal.ts";

/** The largest manifest read: a line per member, a few hundred members at most. */
export const MAX_MANIFEST_BYTES = 64 * 1024;

/** The digests a manifest line may give, as node:crypto names them, with their hex lengths. */
const ALGORITHMS: Record<string, { name: string; hexLength: number }> = {
  SHA1: { name: "sha1", hexLength: 40 },
  SHA256: { name: "sha256", hexLength: 64 },
  SHA512: { name: "sha512", hexLength: 128 },
};

/** One member's expected digest. */
export interface ManifestEntry {
  /** The node:crypto hash name: `sha1`, `sha256` or `sha512`. */
  algorithm: string;
  /** Lower-case hex. */
  digest: string;
}

/**
 * Reads an OVF manifest (`.mf`): lines `SHA256(member)= hex` (or SHA1, SHA512), one per member
 * of the appliance. A line that is not of that form, a name that is not a bare member name, or
 * a member listed twice refuses the appliance.
 *
 * @example
 * ```ts
 * const digests = parseManifest("SHA256(vm.ovf)= 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\n");
 * digests.get("vm.ovf")?.algorithm; // "sha256"
 * ```
 */
export function parseManifest(text: string): Map<string, ManifestEntry> {
  if (Buffer.byteLength(text) > MAX_MANIFEST_BYTES)
    throw new OvaRefusal("ova-manifest-invalid", `the manifest is larger than ${MAX_MANIFEST_BYTES} bytes`);
  const entries = new Map<string, ManifestEntry>();
  for (const [index, raw] of text.split("\n").entries()) {
    const line = raw.trim(); // also drops the CR of a CRLF end
    if (line === "") continue;
    const match = /^(SHA1|SHA256|SHA512)\((.+)\)\s*=\s*([0-9a-fA-F]+)$/.exec(line);
    const algorithm = match?.[1] === undefined ? undefined : ALGORITHMS[match[1]];
    // Stryker disable next-line StringLiteral: without a match `algorithm` is undefined and the line is refused before these are read
    const [name, digest] = [match?.[2] ?? "", match?.[3] ?? ""];
    if (!algorithm || digest.length !== algorithm.hexLength)
      throw new OvaRefusal("ova-manifest-invalid", `manifest line ${index + 1} is not "SHA256(member)= digest"`);
    if (!isMemberName(name))
      throw new OvaRefusal("ova-href-unsafe", `the manifest names ${quote(name)}, not a member name`);
    if (entries.has(name)) throw new OvaRefusal("ova-manifest-invalid", `the manifest lists ${quote(name)} twice`);
    entries.set(name, { algorithm: algorithm.name, digest: digest.toLowerCase() });
  }
  return entries;
}
