import { createHash, type Hash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import tar from "tar-stream";
import { byteLimit, quote, type ImageRegion } from "../../plugin-api.ts";
import { isMemberName, parseDescriptor, type OvfDescriptor, type OvfDisk } from "./descriptor.ts";
import { ApplianceFiles, type MemberPlace } from "./files.ts";
import { MAX_MANIFEST_BYTES, parseManifest, type ManifestEntry } from "./manifest.ts";
import { OvaRefusal } from "./refusal.ts";
import { MAX_DESCRIPTOR_BYTES } from "./xml.ts";

/** Default bound on the number of members (chunked disks have one per chunk). */
export const DEFAULT_MAX_ENTRIES = 4096;
/** Default bound on the sum of the members' sizes: 2 TiB. */
export const DEFAULT_MAX_TOTAL_BYTES = 2 ** 41;
/** The largest signing certificate read (it is reported, never trusted). */
const MAX_CERTIFICATE_BYTES = 64 * 1024;

/**
 * Options of {@link extractAppliance}.
 *
 * @example
 * ```ts
 * const options: ExtractOptions = { maxEntries: 64, maxTotalBytes: 2 ** 40, signal: AbortSignal.timeout(60_000) };
 * ```
 */
export interface ExtractOptions {
  maxEntries?: number;
  maxTotalBytes?: number;
  /** The largest disk capacity accepted (the job's `--max-size`); a larger one is refused before any disk is written. */
  maxDiskSize?: number;
  /**
   * When the source is a file nobody else can change during the job (the job's pinned image):
   * disks stored plainly in it (neither gzip-compressed nor chunked) are read where they lie,
   * as byte ranges of the file, instead of being copied out.
   */
  inPlace?: boolean;
  signal?: AbortSignal;
}

/**
 * An appliance's disks, extracted into a fresh directory of the work directory.
 *
 * @example
 * ```ts
 * declare const appliance: ExtractedAppliance;
 * for (const { disk, path } of appliance.disks) console.log(disk.id, path);
 * ```
 */
export interface ExtractedAppliance {
  /** The directory that holds the disks; the caller removes it when done. */
  dir: string;
  descriptor: OvfDescriptor;
  /** Each disk's file (decompressed, chunks joined), or the range of the archive that holds it, in the descriptor's order. */
  disks: Array<{ disk: OvfDisk; path: string; region?: ImageRegion }>;
  /** Whether a manifest was present (every member then had to match its digest). */
  verified: boolean;
  /** Whether a signing certificate (`.cert`) was present: reported, never trusted. */
  certificate: boolean;
}

/**
 * Extracts an OVA (a tar: the `.ovf` descriptor first, then optionally the `.mf` manifest and
 * a `.cert`, then the files the descriptor references) into a new directory of `workDir`.
 * Every member is a regular file with a bare member name, listed once; with a manifest, every
 * member's digest is checked as it streams (`checksum-mismatch` on a wrong or missing one).
 * Disk files are written under names diskpipe makes, gunzipped when the descriptor says so,
 * chunks joined in order, each bounded by its disk's capacity. On any failure the directory
 * and everything in it are removed.
 *
 * @example
 * ```ts
 * const appliance = await extractAppliance("vm.ova", ctx.workDir, { signal: ctx.signal });
 * ```
 */
export async function extractAppliance(
  source: string | AsyncIterable<Uint8Array>,
  workDir: string,
  options: ExtractOptions = {},
): Promise<ExtractedAppliance> {
  const maxEntries = options.maxEntries ?? DEFAULT_MAX_ENTRIES;
  const maxTotalBytes = options.maxTotalBytes ?? DEFAULT_MAX_TOTAL_BYTES;
  const dir = await mkdtemp(join(workDir, "ova-"));
  const inPlace = options.inPlace === true && typeof source === "string" ? source : undefined;
  const input =
    typeof source === "string"
      ? createReadStream(source)
      : // Stryker disable next-line ObjectLiteral,BooleanLiteral: in byte or object mode, the same bytes reach the extractor
        Readable.from(source, { objectMode: false });
  let descriptor: { parsed: OvfDescriptor; bytes: Buffer; name: string; files: ApplianceFiles } | undefined;
  const extract = tar.extract();
  const feeding = pipeline(
    [
      input,
      byteLimit(maxTotalBytes + (maxEntries + 2) * 1024, (limit) =>
        entryRefusal(`the archive is larger than ${limit} bytes`),
      ),
      extract,
    ],
    {
      signal: options.signal,
    },
  );
  feeding.catch(() => undefined);
  try {
    const seen = new Set<string>();
    let manifest: Map<string, ManifestEntry> | undefined;
    let certificate = false;
    let filesStarted = false;
    let declared = 0;
    for await (const entry of extract) {
      const { name, type, size = 0 } = entry.header;
      if (seen.size >= maxEntries) throw entryRefusal(`the archive holds more than ${maxEntries} members`);
      if (type !== "file") throw entryRefusal(`${quote(name)} is a ${String(type)}, not a regular file`);
      if (!isMemberName(name)) throw entryRefusal(`${quote(name)} is not a bare member name`);
      if (seen.has(name)) throw entryRefusal(`${quote(name)} appears twice`);
      seen.add(name);
      declared += size;
      if (declared > maxTotalBytes) throw entryRefusal(`the members declare more than ${maxTotalBytes} bytes`);
      if (!descriptor) {
        if (!/\.ovf$/i.test(name)) throw entryRefusal(`the first member is ${quote(name)}, not the .ovf descriptor`);
        const bytes = await readMember(
          entry as AsyncIterable<Uint8Array>,
          size,
          MAX_DESCRIPTOR_BYTES,
          "the OVF descriptor",
        );
        const parsed = parseDescriptor(bytes.toString("utf8"));
        descriptor = { parsed, bytes, name, files: new ApplianceFiles(parsed, dir, options.maxDiskSize) };
        continue;
      }
      if (/\.mf$/i.test(name) || /\.cert$/i.test(name)) {
        if (filesStarted) throw entryRefusal(`${quote(name)} must follow the descriptor, before the files`);
        if (/\.cert$/i.test(name)) {
          if (certificate) throw entryRefusal("the archive holds two certificates");
          await readMember(entry as AsyncIterable<Uint8Array>, size, MAX_CERTIFICATE_BYTES, "the certificate");
          certificate = true;
          continue;
        }
        if (manifest) throw entryRefusal("the archive holds two manifests");
        manifest = parseManifest(
          (await readMember(entry as AsyncIterable<Uint8Array>, size, MAX_MANIFEST_BYTES, "the manifest")).toString(
            "utf8",
          ),
        );
        const { hash, expected } = digestOf(manifest, descriptor.name);
        if (hash.update(descriptor.bytes).digest("hex") !== expected) throw mismatch(descriptor.name);
        continue;
      }
      filesStarted = true;
      const member = await descriptor.files.take(
        name,
        inPlace === undefined ? undefined : placeOf(inPlace, entry.header, size),
      );
      const hash = manifest && digestOf(manifest, name);
      for await (const chunk of entry as AsyncIterable<Uint8Array>) {
        hash?.hash.update(chunk);
        await member.write(chunk);
      }
      if (hash && hash.hash.digest("hex") !== hash.expected) throw mismatch(name);
    }
    await feeding;
    if (!descriptor) throw entryRefusal("the archive holds no member");
    const disks = await descriptor.files.finish();
    for (const listed of manifest?.keys() ?? [])
      if (!seen.has(listed)) throw entryRefusal(`${quote(listed)} is listed in the manifest but absent`);
    return { dir, descriptor: descriptor.parsed, disks, verified: manifest !== undefined, certificate };
  } catch (error) {
    input.destroy();
    // A member the extractor destroyed (the archive ends inside it) fails without a cause: the extractor's failure is it.
    // Stryker disable next-line OptionalChaining: nothing thrown here is undefined (a source that throws it ends in a premature close)
    const destroyed = (error as { code?: unknown } | undefined)?.code === "STREAM_DESTROYED";
    const cause = destroyed
      ? await feeding.then(
          // Stryker disable next-line ArrowFunction: the extractor destroys a member only when it fails
          () => error,
          (failure: unknown) => failure,
        )
      : error;
    await descriptor?.files.close();
    await rm(dir, { recursive: true, force: true });
    throw translate(cause);
  }
}

/** Where the member's data starts in the archive (the extractor notes it), when it says. */
function placeOf(archive: string, header: object, size: number): MemberPlace | undefined {
  const offset = (header as { byteOffset?: unknown }).byteOffset;
  return typeof offset === "number" && Number.isSafeInteger(offset) ? { archive, offset, size } : undefined;
}

function digestOf(manifest: Map<string, ManifestEntry>, name: string): { hash: Hash; expected: string } {
  const entry = manifest.get(name);
  if (!entry) throw new OvaRefusal("checksum-mismatch", `the manifest has no digest for ${quote(name)}`);
  return { hash: createHash(entry.algorithm), expected: entry.digest };
}

async function readMember(
  entry: AsyncIterable<Uint8Array>,
  size: number,
  limit: number,
  what: string,
): Promise<Buffer> {
  if (size > limit) throw entryRefusal(`${what} is larger than ${limit} bytes`);
  const parts: Uint8Array[] = [];
  for await (const chunk of entry) parts.push(chunk);
  return Buffer.concat(parts);
}

function translate(error: unknown): unknown {
  if (error instanceof OvaRefusal) return error;
  // Stryker disable next-line OptionalChaining: nothing thrown here is undefined (a source that throws it ends in a premature close)
  const message = String((error as { message?: unknown } | undefined)?.message ?? error);
  if (message === "Unexpected end of data") return new OvaRefusal("truncated", "the archive is cut short");
  if (/tar header|Header exceeds|Invalid header/i.test(message))
    return entryRefusal(`not a valid tar archive: ${message}`);
  return error;
}

function mismatch(name: string): OvaRefusal {
  return new OvaRefusal("checksum-mismatch", `${quote(name)} does not match its digest in the manifest`);
}

function entryRefusal(message: string): OvaRefusal {
  return new OvaRefusal("archive-entry", message);
}
