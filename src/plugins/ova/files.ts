import { join } from "node:path";
import { quote, type ImageRegion } from "../../plugin-api.ts";
import type { OvfDescriptor, OvfDisk, OvfFile } from "./descriptor.ts";
import { DiskWriter } from "./disk-writer.ts";
import { InPlaceDisk } from "./in-place.ts";
import { OvaRefusal } from "./refusal.ts";

/** What a disk file may grow to beyond its capacity: sparse or compressed formats' metadata. */
const slack = (capacity: number) => Math.ceil(capacity / 8) + 64 * 1024 * 1024;
/** All disks together may store this much data (zeros are holes, not data) plus {@link EXPANSION}× the archive bytes read. */
const EXPANSION_FLOOR = 64 * 1024 * 1024;
const EXPANSION = 100;

/** One referenced file as its members arrive. */
interface Progress {
  file: OvfFile;
  /** The disk it holds, if a disk uses it (other files are counted and checked, not kept): written out, or left in the archive. */
  writer?: DiskWriter | InPlaceDisk;
  /** Members taken: 1 for a whole file, the number of chunks so far for a chunked one. */
  members: number;
  /** Stored bytes of the current member, and of all members so far. */
  current: number;
  stored: number;
}

/**
 * Where a member's bytes lie in the archive file, when the archive is a file the disks may be
 * read from in place (the job's pinned, fetched image).
 *
 * @example
 * ```ts
 * const at: MemberPlace = { archive: "/work/job/vm.ova", offset: 3072, size: 355_620_864 };
 * ```
 */
export interface MemberPlace {
  archive: string;
  /** The offset of the member's first byte. */
  offset: number;
  size: number;
}

/**
 * The referenced files of an appliance as its members arrive: which file (and chunk) a member
 * is, in order; disk files written through {@link DiskWriter}s into `dir`, or, stored plainly
 * in an archive file (`at` given, neither gzip nor chunks), left there ({@link InPlaceDisk}); what every disk may
 * write bounded by its capacity (and every capacity by `maxDiskSize` when the caller gives one),
 * and the data all disks store (all-zero blocks are holes and cost nothing) by 64 MiB + 100×
 * the archive bytes read so far: a gzip member of repeated non-zero bytes, which expands about
 * 1000×, is refused as a bomb, while the zeros of a sparse disk cost only the CPU to gunzip.
 *
 * @example
 * ```ts
 * declare const descriptor: OvfDescriptor, chunk: Uint8Array;
 * const files = new ApplianceFiles(descriptor, "/work/job/ova-x", undefined);
 * const member = await files.take("vm-disk1.vmdk");
 * await member.write(chunk);
 * const disks = await files.finish();
 * ```
 */
export class ApplianceFiles {
  readonly #descriptor: OvfDescriptor;
  readonly #dir: string;
  readonly #open = new Map<string, Progress>();
  /** Bytes of the referenced files read from the archive, and bytes of data the disks stored. */
  #read = 0;
  #data = 0;

  constructor(descriptor: OvfDescriptor, dir: string, maxDiskSize: number | undefined) {
    this.#descriptor = descriptor;
    this.#dir = dir;
    for (const disk of descriptor.disks)
      if (disk.capacity > (maxDiskSize ?? Infinity))
        throw new OvaRefusal(
          "disk-too-large",
          `disk ${quote(disk.id)} has a capacity of ${disk.capacity} bytes, more than the ${maxDiskSize} allowed`,
        );
  }

  /** Starts the member `name`: a referenced file, or its next chunk; `at`: where it lies in an archive file. */
  async take(name: string, at?: MemberPlace): Promise<{ write: (chunk: Uint8Array) => Promise<void> }> {
    // Stryker disable next-line ArrayDeclaration: without a match, base and digits are undefined from any short array
    const [, base, digits] = /^(.+)\.(\d{9})$/.exec(name) ?? [];
    const file = this.#descriptor.files.find((candidate) =>
      candidate.chunkSize === undefined ? candidate.href === name : candidate.href === base,
    );
    if (!file) throw refusal(`${quote(name)} is not a file the descriptor references`);
    const index = file.chunkSize === undefined ? 0 : Number(digits);
    const progress = this.#open.get(file.href) ?? (await this.#start(file, at));
    if (progress.members !== index) throw refusal(`${quote(name)} comes out of order`);
    if (index > 0 && progress.current !== file.chunkSize)
      throw refusal(`a chunk of ${quote(file.href)} before ${quote(name)} is not ${file.chunkSize} bytes`);
    progress.members++;
    progress.current = 0;
    return {
      write: async (bytes) => {
        progress.current += bytes.length;
        progress.stored += bytes.length;
        this.#read += bytes.length;
        if (progress.current > (file.chunkSize ?? Infinity))
          throw refusal(`${quote(name)} is larger than the ${file.chunkSize}-byte chunks of its file`);
        await progress.writer?.write(bytes);
      },
    };
  }

  /** Checks every file that arrived against its declared size, and finishes the disks in the descriptor's order. */
  async finish(): Promise<Array<{ disk: OvfDisk; path: string; region?: ImageRegion }>> {
    for (const { file, stored } of this.#open.values())
      if (file.size !== undefined && stored !== file.size)
        throw new OvaRefusal(
          "truncated",
          `${quote(file.href)} holds ${stored} bytes, not the ${file.size} the descriptor declares`,
        );
    const disks: Array<{ disk: OvfDisk; path: string; region?: ImageRegion }> = [];
    for (const disk of this.#descriptor.disks) {
      const writer = this.#open.get(disk.file.href)?.writer;
      if (!writer) throw refusal(`${quote(disk.file.href)}, the file of disk ${quote(disk.id)}, is not in the archive`);
      await writer.finish();
      disks.push({ disk, path: writer.path, ...(writer instanceof InPlaceDisk && { region: writer.region }) });
    }
    return disks;
  }

  /** Closes every disk file, whatever happens to each (the caller then removes the directory). */
  async close(): Promise<void> {
    const writers = [...this.#open.values()].map((progress) => progress.writer);
    await Promise.allSettled(writers.map((writer) => (writer instanceof DiskWriter ? writer.close() : undefined)));
  }

  async #start(file: OvfFile, at: MemberPlace | undefined): Promise<Progress> {
    const index = this.#descriptor.disks.findIndex((candidate) => candidate.file === file);
    const disk = this.#descriptor.disks[index];
    const progress: Progress = { file, members: 0, current: 0, stored: 0 };
    this.#open.set(file.href, progress);
    if (disk && at && !file.gzip && file.chunkSize === undefined)
      progress.writer = new InPlaceDisk(
        at.archive,
        file.href,
        { offset: at.offset, length: at.size },
        disk.capacity + slack(disk.capacity),
      );
    else if (disk)
      progress.writer = await DiskWriter.create(join(this.#dir, `disk${index + 1}.${disk.format}`), {
        gzip: file.gzip,
        limit: disk.capacity + slack(disk.capacity),
        onStored: (bytes) => this.#spend(bytes),
      });
    return progress;
  }

  #spend(bytes: number): void {
    this.#data += bytes;
    const most = EXPANSION_FLOOR + EXPANSION * this.#read;
    if (this.#data > most)
      throw new OvaRefusal(
        "decompression-bomb",
        `the disks hold more than ${most} bytes of data, ${EXPANSION} times the ${this.#read} bytes read beyond the first 64 MiB`,
      );
  }
}

function refusal(message: string): OvaRefusal {
  return new OvaRefusal("archive-entry", message);
}
