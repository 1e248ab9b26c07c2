import assert from "node:assert/strict";
import {
  appendFileSync,
  chmodSync,
  mkdirSync,
  readdirSync,
  readlinkSync,
  renameSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { besideArchive } from "../../../src/plugins/ova/beside.ts";
import type { OvfFile } from "../../../src/plugins/ova/descriptor.ts";
import { OvaRefusal } from "../../../src/plugins/ova/refusal.ts";
import { tempDir } from "../../helpers/images.ts";
import { asUser, needsRoot } from "../../helpers/process-state.ts";

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
  return membersOf(Buffer.concat(parts));
}

/** Each member's name and length, in order, as the tar `tar` holds them. */
function membersOf(tar: Buffer): Map<string, number> {
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

/** Reads the whole archive of `files` beside `name` in `dir`: its members, or the error it failed with. */
async function archiveOf(
  dir: string,
  name: string,
  files: OvfFile[],
  maxEntries = 4096,
): Promise<Map<string, number> | OvaRefusal> {
  const parts: Buffer[] = [];
  try {
    for await (const chunk of besideArchive(dir, name, Buffer.from("<Envelope/>"), files, maxEntries))
      parts.push(Buffer.from(chunk));
  } catch (error) {
    assert.ok(error instanceof OvaRefusal, String(error));
    return error;
  }
  return membersOf(Buffer.concat(parts));
}

/** What besideArchive takes from the directory: which names, how many, which kinds of file. */
describe("besideArchive: the members it reads", () => {
  const { dir, cleanup } = tempDir("diskpipe-ovf-beside-members-");
  after(cleanup);
  let count = 0;
  const fresh = (files: Record<string, Buffer> = {}) => {
    const path = join(dir, `case${++count}`);
    mkdirSync(path);
    for (const [name, data] of Object.entries(files)) writeFileSync(join(path, name), data);
    return path;
  };
  const plain = (href: string, size: number): OvfFile => ({ id: href, href, size, gzip: false });

  it("counts the descriptor, each file and each chunk against the bound, refusing past it before reading", async () => {
    const folder = fresh({
      "a.img": Buffer.alloc(10, 1),
      "b.img": Buffer.alloc(10, 2),
      "c.img.000000000": Buffer.alloc(4, 3),
      "c.img.000000001": Buffer.alloc(4, 3),
      "c.img.000000002": Buffer.alloc(2, 3),
    });
    const files = [plain("a.img", 10), plain("b.img", 10), { ...plain("c.img", 10), chunkSize: 4 }];
    // The descriptor, two files and three chunks: six members, exactly the bound.
    const members = await archiveOf(folder, "vm.ovf", files, 6);
    assert.ok(members instanceof Map, String(members));
    assert.deepEqual(
      [...members],
      [
        ["vm.ovf", 11],
        ["a.img", 10],
        ["b.img", 10],
        ["c.img.000000000", 4],
        ["c.img.000000001", 4],
        ["c.img.000000002", 2],
      ],
    );
    assert.throws(
      () => besideArchive(folder, "vm.ovf", Buffer.from("<Envelope/>"), files, 5),
      (error) =>
        error instanceof OvaRefusal && error.code === "archive-entry" && / 5 files and chunks/.test(error.message),
    );
    // Plain files count one each: three of them and the descriptor are over a bound of three.
    assert.throws(
      () => besideArchive(folder, "vm.ovf", Buffer.from("<Envelope/>"), files.slice(0, 2).concat(plain("d", 1)), 3),
      (error) => error instanceof OvaRefusal && error.code === "archive-entry",
    );
  });

  it("takes an empty file as an empty member", async () => {
    const members = await archiveOf(fresh({ "empty.img": Buffer.alloc(0) }), "vm.ovf", [plain("empty.img", 0)]);
    assert.ok(members instanceof Map, String(members));
    assert.equal(members.get("empty.img"), 0);
  });

  it("takes the manifest and certificate named after the descriptor's whole stem, and no others", async () => {
    const folder = fresh({
      "a.ovfx.mf": Buffer.from("m"),
      "a.ovfx.cert": Buffer.from("c"),
      "ax.mf": Buffer.from("other"),
      "disk.img": Buffer.alloc(3),
    });
    const members = await archiveOf(folder, "a.ovfx.OVF", [plain("disk.img", 3)]);
    assert.ok(members instanceof Map, String(members));
    assert.deepEqual([...members.keys()], ["a.ovfx.OVF", "a.ovfx.mf", "a.ovfx.cert", "disk.img"]);
  });

  it("refuses a chunk its declared size needs that is not beside it", async () => {
    const folder = fresh({ "disk.img.000000000": Buffer.alloc(4) });
    const error = await archiveOf(folder, "vm.ovf", [{ ...plain("disk.img", 8), chunkSize: 4 }]);
    assert.ok(error instanceof OvaRefusal, "the archive did not fail");
    assert.equal(error.code, "archive-entry");
    assert.match(error.message, /^"disk\.img\.000000001", which the descriptor names, is not beside it$/);
  });

  it("refuses a manifest or certificate beside it that is a link or not a regular file", async () => {
    const linked = fresh({ "disk.img": Buffer.alloc(3), "real.mf": Buffer.from("m") });
    symlinkSync(join(linked, "real.mf"), join(linked, "vm.mf"));
    const link = await archiveOf(linked, "vm.ovf", [plain("disk.img", 3)]);
    assert.ok(link instanceof OvaRefusal, "a linked manifest was taken");
    assert.match(link.message, /^"vm\.mf" beside the descriptor is a symbolic link$/);

    const folder = fresh({ "disk.img": Buffer.alloc(3) });
    mkdirSync(join(folder, "vm.cert"));
    const directory = await archiveOf(folder, "vm.ovf", [plain("disk.img", 3)]);
    assert.ok(directory instanceof OvaRefusal, "a directory was taken as the certificate");
    assert.match(directory.message, /^"vm\.cert" beside the descriptor is not a regular file$/);
  });

  it(
    "passes on as it is an open's failure that no refusal names (permission denied)",
    { skip: needsRoot("to read as another user") },
    async () => {
      const folder = fresh({ "disk.img": Buffer.alloc(3) });
      chmodSync(join(folder, "disk.img"), 0o600);
      const error = await asUser(65534, async () => {
        try {
          for await (const chunk of besideArchive(
            folder,
            "vm.ovf",
            Buffer.from("<Envelope/>"),
            [plain("disk.img", 3)],
            9,
          ))
            void chunk;
        } catch (e) {
          return e;
        }
        return undefined;
      });
      assert.ok(!(error instanceof OvaRefusal), String(error));
      assert.equal((error as NodeJS.ErrnoException | undefined)?.code, "EACCES");
    },
  );

  it("refuses a socket beside it as a file that is not a regular one", async () => {
    const folder = fresh();
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(join(folder, "disk.img"), resolve));
    try {
      const error = await archiveOf(folder, "vm.ovf", [plain("disk.img", 3)]);
      assert.ok(error instanceof OvaRefusal, "a socket was taken");
      assert.equal(error.code, "archive-entry");
      assert.match(error.message, /^"disk\.img" beside the descriptor is not a regular file$/);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
