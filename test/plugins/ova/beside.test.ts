import assert from "node:assert/strict";
import { appendFileSync, mkdirSync, readdirSync, readlinkSync, renameSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { besideArchive } from "../../../src/plugins/ova/beside.ts";
import type { OvfFile } from "../../../src/plugins/ova/descriptor.ts";
import { OvaRefusal } from "../../../src/plugins/ova/refusal.ts";
import { tempDir } from "../../helpers/images.ts";

const MiB = 2 ** 20;
const SIZE = 8 * MiB;

/** Whether this process holds `path` open (the archive has opened the file and reads it). */
function isOpen(path: string): boolean {
  return readdirSync("/proc/self/fd").some((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`) === path;
    } catch {
      return false;
    }
  });
}

/**
 * Reads the archive of one file beside a descriptor, and once that file is open calls
 * `meanwhile` (a writer changing it); returns each member's name and length as the tar holds them.
 */
async function readWhile(dir: string, meanwhile: (path: string) => void): Promise<Map<string, number>> {
  const path = join(dir, "disk.vmdk");
  writeFileSync(path, Buffer.alloc(SIZE, 7));
  const file: OvfFile = { id: "file1", href: "disk.vmdk", size: SIZE, gzip: false };
  const archive = besideArchive(dir, "vm.ovf", Buffer.from("<Envelope/>"), [file], 4096);
  const parts: Buffer[] = [];
  let changed = false;
  for await (const chunk of archive) {
    parts.push(Buffer.from(chunk));
    if (!changed && isOpen(path)) {
      meanwhile(path);
      changed = true;
    }
  }
  assert.ok(changed, "the file was never seen open");
  const tar = Buffer.concat(parts);
  const members = new Map<string, number>();
  for (let at = 0; at + 512 <= tar.length && tar[at] !== 0;) {
    const name = tar
      .subarray(at, at + 100)
      .toString("utf8")
      .replace(/\0.*$/s, "");
    const size = parseInt(
      tar
        .subarray(at + 124, at + 136)
        .toString("latin1")
        .trim(),
      8,
    );
    members.set(name, size);
    at += 512 + Math.ceil(size / 512) * 512;
  }
  return members;
}

/** A file beside a descriptor that a writer changes while it is read. About 1 s. */
describe("besideArchive: files changed while they are read", () => {
  const { dir, cleanup } = tempDir("diskpipe-ovf-beside-race-");
  after(cleanup);
  let count = 0;
  const fresh = () => {
    const path = join(dir, `case${++count}`);
    mkdirSync(path);
    return path;
  };

  it("refuses in one line, naming it, a file cut shorter while it is read", async () => {
    const error = await readWhile(fresh(), (path) => truncateSync(path, 1000)).then(
      () => assert.fail("the archive did not fail"),
      (e: unknown) => e,
    );
    assert.ok(error instanceof OvaRefusal, String(error));
    assert.equal(error.code, "archive-entry");
    assert.match(error.message, /"disk\.vmdk" beside the descriptor shrank while it was read/);
  });

  it("takes a file that grows at the size it had when opened", async () => {
    const members = await readWhile(fresh(), (path) => appendFileSync(path, Buffer.alloc(MiB, 9)));
    assert.equal(members.get("disk.vmdk"), SIZE);
  });

  it("reads the file it opened when another is renamed over it", async () => {
    const dir = fresh();
    const members = await readWhile(dir, (path) => {
      writeFileSync(join(dir, "other"), Buffer.alloc(MiB, 1));
      renameSync(join(dir, "other"), path);
    });
    assert.equal(members.get("disk.vmdk"), SIZE);
  });
});
