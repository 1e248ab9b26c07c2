import { constants } from "node:fs";
import { access, lstat, rename, rm } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { DiskpipeError } from "../errors.ts";
import { directIoAt, supportsDirectIo } from "./direct-io.ts";
import { createExclusive, syncPath } from "./durable.ts";
import { sweepDeadTemps, tempPathBeside } from "./temp.ts";
import type { Sink, SinkDriver } from "./types.ts";

/**
 * Local paths (written under a temporary name beside the destination, fsynced, then given its
 * name: renamed over it with `overwrite`, else only if no file took the name meanwhile) and
 * existing block devices (written in place, O_DIRECT when the device supports it).
 *
 * @example
 * ```ts
 * const sink = await pathSink.open("out.qcow2", ctx);
 * // … convert into sink.target.path …
 * await sink.commit(ctx);
 * ```
 */
export const pathSink: SinkDriver = {
  name: "path",
  matches: (location) => !/^[a-z][a-z0-9+.-]*:\/\//i.test(location),
  async open(location, ctx) {
    const destination = resolve(location);
    const existing = await lstat(destination).catch(() => undefined);
    if (existing?.isBlockDevice()) return blockDeviceSink(destination);
    if (existing && !ctx.spec.overwrite) {
      throw new DiskpipeError("usage", `destination ${location} already exists (pass --force to replace it)`);
    }
    if (existing && !existing.isFile())
      throw new DiskpipeError("usage", `destination ${location} is not a regular file`);
    await access(dirname(destination), constants.W_OK).catch((error: NodeJS.ErrnoException) => {
      throw new DiskpipeError("io-failed", `cannot write to ${dirname(destination)}: ${error.code ?? error.message}`);
    });
    await sweptOnce(dirname(destination));
    const temp = tempPathBeside(destination);
    const overwrite = Boolean(ctx.spec.overwrite);
    const sink: Sink = {
      // Written straight to the disk when the file system allows it: the page cache gains
      // nothing from an output nobody reads next (bench: qemu-img convert -t none, 0.53×).
      target: { path: temp, blockDevice: false, directIo: await directIoAt(temp) },
      async commit() {
        await syncPath(temp);
        // Without --force the name is taken only if still free: a file that appeared since the
        // check above (another job of the same batch) is not replaced.
        if (overwrite) await rename(temp, destination);
        else {
          const created = await createExclusive(temp, destination);
          await rm(temp, { force: true });
          if (!created)
            throw new DiskpipeError(
              "usage",
              `destination ${location} appeared while converting (pass --force to replace it)`,
            );
        }
        await syncPath(dirname(destination));
      },
      abort: () => rm(temp, { force: true }),
    };
    return sink;
  },
};

const swept = new Map<string, Promise<unknown>>();

/** Removes, once per directory and process, the temporary outputs dead diskpipe runs of this host left there. */
function sweptOnce(directory: string): Promise<unknown> {
  let sweeping = swept.get(directory);
  if (!sweeping) {
    sweeping = sweepDeadTemps(directory).catch(() => undefined);
    swept.set(directory, sweeping);
  }
  return sweeping;
}

async function blockDeviceSink(device: string): Promise<Sink> {
  return {
    target: { path: device, blockDevice: true, directIo: await supportsDirectIo(device) },
    commit: () => syncPath(device),
    abort: async () => {},
  };
}
