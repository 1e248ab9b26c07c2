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
 * then each referenced file (a chunked one as `href.000000000`, `href.000000001`, … while they
 * exist). Each file is opened without following links and must be a regular file; it is read
 * from the descriptor that was checked, at the size it had when opened (a file that shrinks
 * meanwhile fails the stream). The appliance reader then checks everything it checks in an OVA.
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
  const pack = tar.pack();
  const stem = name.replace(/\.ovf$/i, "");
  const add = async (member: string, required: boolean): Promise<boolean> => {
    const opened = await openBeside(dir, member, required);
    if (!opened) return false;
    const { handle, size } = opened;
    try {
      if (size === 0) await whole(pack, member, Buffer.alloc(0));
      else
        await pipeline(
          handle.createReadStream({ start: 0, end: size - 1, autoClose: false }),
          pack.entry({ name: member, size, mode: 0o600 }),
        );
    } finally {
      await handle.close();
    }
    return true;
  };
  (async () => {
    await whole(pack, name, descriptor);
    await add(`${stem}.mf`, false);
    await add(`${stem}.cert`, false);
    let entries = 0;
    for (const file of files) {
      if (file.chunkSize === undefined) {
        await add(file.href, true);
        continue;
      }
      // Chunks exist from .000000000 on; the appliance reader refuses a file with too few of them.
      for (let chunk = 0; entries <= maxEntries; chunk++, entries++)
        if (!(await add(`${file.href}.${String(chunk).padStart(9, "0")}`, chunk === 0))) break;
    }
    pack.finalize();
  })().catch((error: unknown) => pack.destroy(error as Error));
  return pack as AsyncIterable<Uint8Array>;
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
