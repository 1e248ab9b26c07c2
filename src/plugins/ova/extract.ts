import { createHash, type Hash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import { Readable, Transform, type TransformCallback } from "node:stream";
import { pipeline } from "node:stream/promises";
import tar from "tar-stream";
import { isMemberName, parseDescriptor, type OvfDescriptor, type OvfDisk, type OvfFile } from "./descriptor.ts";
import { DiskWriter } from "./disk-writer.ts";
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
  /** Each disk's file (decompressed, chunks joined), in the descriptor's order. */
  disks: Array<{ disk: OvfDisk; path: string }>;
  /** Whether a manifest was present (every member then had to match its digest). */
  verified: boolean;
  /** Whether a signing certificate (`.cert`) was present: reported, never trusted. */
  certificate: boolean;
}

/** A disk file being written, and the chunk it expects next. */
interface Writing {
  writer: DiskWriter;
  file: OvfFile;
  nextChunk: number;
  /** Stored bytes received, over all its chunks (before decompression). */
  stored: number;
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
  const input = typeof source === "string" ? createReadStream(source) : Readable.from(source, { objectMode: false });
  const writing = new Map<string, Writing>();
  try {
    const extract = tar.extract();
    const feeding = pipeline([input, byteLimit(maxTotalBytes + (maxEntries + 2) * 1024), extract], {
      signal: options.signal,
    });
    feeding.catch(() => undefined);
    const seen = new Set<string>();
    let descriptor: { parsed: OvfDescriptor; bytes: Buffer } | undefined;
    let manifest: Map<string, ManifestEntry> | undefined;
    let certificate = false;
    let filesStarted = false;
    let declared = 0;
    for await (const entry of extract) {
      const { name, type, size = 0 } = entry.header;
      if (seen.size >= maxEntries) throw entryRefusal(`the archive holds more than ${maxEntries} members`);
      if (type !== "file") throw entryRefusal(`${show(name)} is a ${String(type)}, not a regular file`);
      if (!isMemberName(name)) throw entryRefusal(`${show(name)} is not a bare member name`);
      if (seen.has(name)) throw entryRefusal(`${show(name)} appears twice`);
      seen.add(name);
      declared += size;
      if (declared > maxTotalBytes) throw entryRefusal(`the members declare more than ${maxTotalBytes} bytes`);
      if (!descriptor) {
        if (!/\.ovf$/i.test(name)) throw entryRefusal(`the first member is ${show(name)}, not the .ovf descriptor`);
        const bytes = await readMember(
          entry as AsyncIterable<Uint8Array>,
          size,
          MAX_DESCRIPTOR_BYTES,
          "the OVF descriptor",
        );
        descriptor = { parsed: parseDescriptor(bytes.toString("utf8")), bytes };
        continue;
      }
      if (/\.mf$/i.test(name) || /\.cert$/i.test(name)) {
        if (filesStarted) throw entryRefusal(`${show(name)} must follow the descriptor, before the files`);
        if (/\.cert$/i.test(name)) {
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
        checkDigest(manifest, descriptorName(seen), descriptor.bytes);
        continue;
      }
      filesStarted = true;
      const target = await memberOf(descriptor.parsed, name, writing, dir);
      const hash = manifest && digestOf(manifest, name);
      for await (const chunk of entry as AsyncIterable<Uint8Array>) {
        hash?.hash.update(chunk);
        if (target) {
          target.stored += chunk.length;
          await target.writer.write(chunk);
        }
      }
      if (hash && hash.hash.digest("hex") !== hash.expected)
        throw new OvaRefusal("checksum-mismatch", `${show(name)} does not match its digest in the manifest`);
    }
    await feeding;
    if (!descriptor) throw entryRefusal("the archive holds no member");
    const disks = await finishDisks(descriptor.parsed, writing);
    for (const listed of manifest?.keys() ?? [])
      if (!seen.has(listed)) throw entryRefusal(`${show(listed)} is listed in the manifest but absent`);
    return { dir, descriptor: descriptor.parsed, disks, verified: manifest !== undefined, certificate };
  } catch (error) {
    input.destroy();
    for (const { writer } of writing.values()) await writer.close();
    await rm(dir, { recursive: true, force: true });
    throw translate(error);
  }
}

/**
 * The disk file a member belongs to (undefined: a referenced file no disk uses, such as an ISO,
 * which is checked against the manifest but not kept), started when it is its first member.
 */
async function memberOf(
  parsed: OvfDescriptor,
  name: string,
  open: Map<string, Writing>,
  dir: string,
): Promise<Writing | undefined> {
  const chunk = /^(.+)\.(\d{9})$/.exec(name);
  const file = parsed.files.find((candidate) =>
    candidate.chunkSize === undefined ? candidate.href === name : candidate.href === chunk?.[1],
  );
  if (!file) throw entryRefusal(`${show(name)} is not a file the descriptor references`);
  const index = file.chunkSize === undefined ? 0 : Number(chunk?.[2]);
  const current = open.get(file.href);
  if ((current?.nextChunk ?? 0) !== index) throw entryRefusal(`${show(name)} comes out of order`);
  const diskIndex = parsed.disks.findIndex((candidate) => candidate.file === file);
  const disk = parsed.disks[diskIndex];
  if (!disk) return undefined;
  if (current) {
    current.nextChunk++;
    return current;
  }
  // Data past the capacity, with room for a sparse or compressed format's metadata.
  const limit = disk.capacity + Math.ceil(disk.capacity / 8) + 64 * 1024 * 1024;
  const writer = await DiskWriter.create(join(dir, `disk${diskIndex + 1}.${disk.format}`), { gzip: file.gzip, limit });
  const started: Writing = { writer, nextChunk: 1, stored: 0, file };
  open.set(file.href, started);
  return started;
}

/** Finishes every disk file, in the descriptor's order; each must be complete. */
async function finishDisks(
  parsed: OvfDescriptor,
  open: Map<string, Writing>,
): Promise<Array<{ disk: OvfDisk; path: string }>> {
  const disks: Array<{ disk: OvfDisk; path: string }> = [];
  for (const disk of parsed.disks) {
    const writing = open.get(disk.file.href);
    if (!writing) throw entryRefusal(`${show(disk.file.href)}, the file of disk "${disk.id}", is not in the archive`);
    if (disk.file.size !== undefined && writing.stored !== disk.file.size)
      throw new OvaRefusal(
        "truncated",
        `${show(disk.file.href)} holds ${writing.stored} bytes, not the ${disk.file.size} the descriptor declares`,
      );
    await writing.writer.finish();
    disks.push({ disk, path: writing.writer.path });
  }
  return disks;
}

/** The name of the descriptor member: the first one seen. */
function descriptorName(seen: Set<string>): string {
  return seen.values().next().value ?? "";
}

function checkDigest(manifest: Map<string, ManifestEntry>, name: string, bytes: Buffer): void {
  const entry = manifest.get(name);
  if (!entry) throw new OvaRefusal("checksum-mismatch", `the manifest has no digest for ${show(name)}`);
  if (createHash(entry.algorithm).update(bytes).digest("hex") !== entry.digest)
    throw new OvaRefusal("checksum-mismatch", `${show(name)} does not match its digest in the manifest`);
}

function digestOf(manifest: Map<string, ManifestEntry>, name: string): { hash: Hash; expected: string } {
  const entry = manifest.get(name);
  if (!entry) throw new OvaRefusal("checksum-mismatch", `the manifest has no digest for ${show(name)}`);
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

function byteLimit(limit: number): Transform {
  let total = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
      total += chunk.length;
      if (total > limit) callback(entryRefusal(`the archive is larger than ${limit} bytes`));
      else callback(null, chunk);
    },
  });
}

function translate(error: unknown): unknown {
  if (error instanceof OvaRefusal) return error;
  const message = String((error as { message?: unknown } | undefined)?.message ?? error);
  if (message === "Unexpected end of data") return new OvaRefusal("truncated", "the archive is cut short");
  if (/tar header|Header exceeds|Invalid header/i.test(message))
    return entryRefusal(`not a valid tar archive: ${message}`);
  return error;
}

function entryRefusal(message: string): OvaRefusal {
  return new OvaRefusal("archive-entry", message);
}

function show(name: string): string {
  return JSON.stringify(name.length > 120 ? `${name.slice(0, 120)}…` : name);
}
