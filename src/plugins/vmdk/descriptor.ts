import { printable } from "../../plugin-api.ts";

/**
 * One extent line of a VMDK descriptor.
 *
 * @example
 * ```ts
 * // RW 204800 SPARSE "disk.vmdk"
 * const extent: VmdkExtent = { access: "RW", sectors: 204800, type: "SPARSE", file: "disk.vmdk" };
 * ```
 */
export interface VmdkExtent {
  access: string;
  sectors: number;
  type: string;
  file?: string;
}

/**
 * What a VMDK descriptor says, and what in it is not allowed.
 *
 * @example
 * ```ts
 * declare const text: string, reject: () => never;
 * const d: VmdkDescriptor = parseVmdkDescriptor(text);
 * if (d.namesParent || d.unexpectedCount > 0) reject();
 * ```
 */
export interface VmdkDescriptor {
  /** createType from its key line. */
  createType?: string;
  /** createType as qemu reads it (the first occurrence of "createType" anywhere). */
  qemuCreateType?: string;
  extents: VmdkExtent[];
  /** qemu follows `parentFileNameHint` wherever the text contains it, even inside a comment. */
  namesParent: boolean;
  /** qemu refuses a descriptor where the first "CID" and "parentCID" are not followed by `=` and hex. */
  cidsReadable: boolean;
  /** The first few lines that are neither comments, known keys, `ddb.*` keys nor well-formed extents (1-based). */
  unexpected: { line: number; text: string }[];
  unexpectedCount: number;
}

const ACCESS = /^(RW|RDONLY|NOACCESS)\b/;
const EXTENT = /^(RW|RDONLY|NOACCESS)\s+(\d{1,15})\s+([A-Z]+)(?:\s+"([^"\r\n]*)"(?:\s+\d{1,15})?)?\s*$/;
const KEY = /^([A-Za-z][A-Za-z0-9_.]*)\s*=\s*(.*)$/;
const KNOWN_KEYS = new Set([
  "version",
  "encoding",
  "CID",
  "parentCID",
  // Stryker disable next-line StringLiteral: the createType key is handled before this set is consulted, which then excludes it, so its entry is never read
  "createType",
  "isNativeSnapshot",
  "parentFileNameHint",
]);
const MAX_REPORTED_LINES = 5;

function unquote(value: string): string {
  // Stryker disable next-line MethodExpression: the value comes from a trimmed line after the key regex's \s*, so it has no whitespace at either end to trim
  const v = value.trim();
  return v.length >= 2 && v.startsWith('"') && v.endsWith('"') ? v.slice(1, -1) : v;
}

/** qemu's vmdk_parse_description: finds the name anywhere, skips `="`, reads to the next quote. */
function qemuView(text: string, name: string): string | undefined {
  const at = text.indexOf(name);
  if (at < 0) return undefined;
  const start = at + name.length + 2;
  const end = text.indexOf('"', start);
  // Stryker disable next-line EqualityOperator: the search starts past the name, so a quote is never found at index 0
  return end < 0 ? undefined : text.slice(start, end);
}

/** qemu's vmdk_read_cid: the first occurrence of the name, one separator, then sscanf("%x"). */
function cidReadable(text: string, name: string): boolean {
  const at = text.indexOf(name);
  return (
    at >= 0 &&
    text[at + name.length] === "=" &&
    /^\s*[0-9a-fA-F]/.test(text.slice(at + name.length + 1, at + name.length + 64))
  );
}

/**
 * Parses a VMDK text descriptor (embedded in a sparse file or standing alone) into its
 * create type and extents, noting every line diskpipe does not expect.
 *
 * @example
 * ```ts
 * const d = parseVmdkDescriptor('# Disk DescriptorFile\nversion=1\ncreateType="monolithicFlat"\nRW 8 FLAT "/etc/passwd" 0\n');
 * d.extents[0]?.file; // "/etc/passwd"
 * ```
 */
export function parseVmdkDescriptor(text: string): VmdkDescriptor {
  const result: VmdkDescriptor = {
    qemuCreateType: qemuView(text, "createType"),
    extents: [],
    namesParent: text.includes("parentFileNameHint"),
    cidsReadable: cidReadable(text, "CID") && cidReadable(text, "parentCID"),
    unexpected: [],
    unexpectedCount: 0,
  };
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(/\r$/, "").trim();
    if (line === "" || line.startsWith("#")) continue;
    if (ACCESS.test(line)) {
      const m = EXTENT.exec(line);
      if (m) {
        result.extents.push({ access: m[1]!, sectors: Number(m[2]), type: m[3]!, file: m[4] });
        continue;
      }
    } else {
      const m = KEY.exec(line);
      if (m) {
        const key = m[1]!;
        if (key === "createType" && result.createType === undefined) {
          result.createType = unquote(m[2]!);
          continue;
        }
        if ((KNOWN_KEYS.has(key) && key !== "createType") || key.startsWith("ddb.")) continue;
      }
    }
    result.unexpectedCount++;
    if (result.unexpected.length < MAX_REPORTED_LINES)
      result.unexpected.push({ line: i + 1, text: printable(line, 60) });
  }
  return result;
}

/**
 * Latin-1 text of `bytes` up to the first NUL; `terminated` says whether a NUL was found.
 *
 * @example
 * ```ts
 * descriptorText(new Uint8Array([0x61, 0, 0x62])); // { text: "a", terminated: true }
 * ```
 */
export function descriptorText(bytes: Uint8Array): { text: string; terminated: boolean } {
  let end = bytes.indexOf(0);
  const terminated = end >= 0;
  if (!terminated) end = bytes.length;
  let text = "";
  // Stryker disable next-line EqualityOperator: one more pass at i === end appends the characters of an empty range, the empty string
  for (let i = 0; i < end; i += 8192) text += String.fromCharCode(...bytes.subarray(i, Math.min(end, i + 8192)));
  return { text, terminated };
}
