import { constants } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import tar from "tar-stream";
import { quote } from "../../plugin-api.ts";
import type { OvfFile } from "./descriptor.ts";
import { OvaRefusal } from "./refusal.ts";

/**
 * A plain descriptor and the files beside it in `dir`, as the tar stream of the OVA they would
 * make: the descriptor, its manifest (`<stem>.mf`) and certificate (`<stem>.cert`) when present,
 * then each referenced file (a chunked one as `href.000000000`, `href.000000001`, …, as many as
 * its declared size needs; more than `maxEntries` members in all are refused before any file is
 * opened). Each file is opened without following links and must be a regular file; it is read
 * from the descriptor that was checked, at the size it had when opened (a file that shrinks
 * meanwhile is refused, `archive-entry`). The appliance reader then checks everything it checks in an OVA.
 *
 * @example
 * ```ts
 * declare const descriptor: Buffer, files: OvfFile[];
 * const archive = besideArchive("/srv/vms", "web-01.ovf", descriptor, files, 4096);
 * ```
 */
export function besideArchive(
  dir: string,
  name: string,
  descriptor: Buffer,
  files: readonly OvfFile[],
  maxEntries: number,
): AsyncIterable<Uint8Array> {
  const counts = files.map((file) => memberCount(file));
  const members = counts.reduce((sum, count) => sum + count, 1);
  if (members > maxEntries)
    throw besideRefusal(
      `the descriptor names ${members - 1} files and chunks: with it, more than the ${maxEntries} members an appliance may have`,
    );
  const pack = tar.pack();
  const stem = name.replace(/\.ovf$/i, "");
  const add = async (member: string, required: boolean): Promise<void> => {
    const opened = await openBeside(dir, member, required);
    if (!opened) return;
    const { handle, size } = opened;
    try {
      if (size === 0) await whole(pack, member, Buffer.alloc(0));
      else
        await pipeline(
          // Stryker disable next-line BooleanLiteral: the finally closes the handle either way, and closing a closed FileHandle resolves
          handle.createReadStream({ start: 0, end: size - 1, autoClose: false }),
          async function* (bytes: AsyncIterable<Buffer>) {
            let read = 0;
            for await (const chunk of bytes) {
              read += chunk.length;
              yield chunk;
            }
            // A writer cut it shorter meanwhile: said before its member ends early.
            if (read < size) throw besideRefusal(`${quote(member)} beside the descriptor shrank while it was read`);
          },
          pack.entry({ name: member, size, mode: 0o600 }),
        );
    } finally {
      await handle.close();
    }
  };
  (async () => {
    await whole(pack, name, descriptor);
    await add(`${stem}.mf`, false);
    await add(`${stem}.cert`, false);
    for (const [index, file] of files.entries()) {
      if (file.chunkSize === undefined) await add(file.href, true);
      // Exactly the chunks its declared size needs, from .000000000 on (others beside it are not its).
      else
        for (let chunk = 0; chunk < (counts[index] ?? 0); chunk++)
          await add(`${file.href}.${String(chunk).padStart(9, "0")}`, true);
    }
    pack.finalize();
  })().catch((error: unknown) => pack.destroy(error as Error));
  return pack as AsyncIterable<Uint8Array>;
}

/** The members a file takes: one, or for a chunked file the chunks its declared size needs (at least one). */
function memberCount(file: OvfFile): number {
  return file.chunkSize === undefined ? 1 : Math.max(1, Math.ceil((file.size ?? 0) / file.chunkSize));
}

/** Adds a member whose bytes are all at hand. */
function whole(pack: tar.Pack, name: string, bytes: Buffer): Promise<void> {
  return new Promise((resolve, reject) =>
    pack.entry({ name, size: bytes.length, mode: 0o600 }, bytes, (error) => (error ? reject(error) : resolve())),
  );
}

/** Opens `dir/member`: a regular file, not through a link; absent and not `required`: undefined. */
async function openBeside(
  dir: string,
  member: string,
  required: boolean,
): Promise<{ handle: FileHandle; size: number } | undefined> {
  let handle: FileHandle;
  try {
    handle = await open(join(dir, member), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" && !required) return undefined;
    if (code === "ENOENT") throw besideRefusal(`${quote(member)}, which the descriptor names, is not beside it`);
    if (code === "ELOOP") throw besideRefusal(`${quote(member)} beside the descriptor is a symbolic link`);
    if (code === "ENAMETOOLONG") throw besideRefusal(`${quote(member)} is longer than a file name beside it can be`);
    // A socket cannot be opened at all: it is refused as any other file that is not a regular one.
    if (code === "ENXIO") throw besideRefusal(`${quote(member)} beside the descriptor is not a regular file`);
    throw error;
  }
  const stats = await handle.stat();
  if (!stats.isFile()) {
    await handle.close();
    throw besideRefusal(`${quote(member)} beside the descriptor is not a regular file`);
  }
  return { handle, size: stats.size };
}

function besideRefusal(message: string): OvaRefusal {
  return new OvaRefusal("archive-entry", message);
}
