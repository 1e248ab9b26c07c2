import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { coalesceChain } from "../../../src/plugins/xenserver-ovf/coalesce.ts";
import { VhdFile, type VhdInfo } from "../../../src/plugins/xenserver-ovf/vhd.ts";
import { randomWrites, removeTempDirs, rng, tempDir } from "./helpers.ts";
import { applyWrites, buildVhd, type VhdLayout } from "./vhd-writer.ts";
import { requirement } from "../../helpers/requirement.ts";

const MiB = 1024 * 1024;

function installed(tool: string): boolean {
  try {
    execFileSync(tool, ["--help"], { stdio: "ignore" });
    return true;
  } catch (error) {
    return (error as { code?: string }).code !== "ENOENT";
  }
}
const noQemu = requirement(
  installed("qemu-img") && installed("qemu-io") ? false : "qemu-img or qemu-io is not installed",
);
const noVhdi = requirement(installed("vhdiinfo") ? false : "vhdiinfo (libvhdi-utils) is not installed");

const run = (tool: string, ...args: string[]) => execFileSync(tool, args, { encoding: "utf8" });

/** This plugin's reading of a VHD as a raw disk. */
async function readWithPlugin(path: string): Promise<{ info: VhdInfo; raw: Buffer }> {
  const vhd = await VhdFile.open(path);
  try {
    await coalesceChain([vhd], `${path}.mine.raw`);
    return { info: vhd.info, raw: await readFile(`${path}.mine.raw`) };
  } finally {
    await vhd.close();
  }
}

/** qemu's reading of a VHD as a raw disk. */
async function readWithQemu(path: string): Promise<{ size: number; raw: Buffer }> {
  const info = JSON.parse(run("qemu-img", "info", "--output=json", "-f", "vpc", path)) as { "virtual-size": number };
  run("qemu-img", "convert", "-f", "vpc", "-O", "raw", path, `${path}.qemu.raw`);
  return { size: info["virtual-size"], raw: await readFile(`${path}.qemu.raw`) };
}

async function sameAsQemu(path: string): Promise<Buffer> {
  const mine = await readWithPlugin(path);
  const qemu = await readWithQemu(path);
  assert.equal(mine.info.size, qemu.size, "virtual size");
  assert.equal(mine.raw.length, qemu.raw.length);
  assert.ok(mine.raw.equals(qemu.raw), "qemu-img and the plugin read different bytes");
  return mine.raw;
}

function patterned(size: number, seed: number): Buffer {
  const data = Buffer.alloc(size);
  for (const write of randomWrites(rng(seed), size, 40, 3000)) data.set(write.data, write.offset);
  return data;
}

describe("cross-check with qemu-img", { skip: noQemu }, () => {
  after(removeTempDirs);

  it("reads a dynamic VHD made by qemu-img create and written by qemu-io as qemu does", async () => {
    const path = join(await tempDir(), "created.vhd");
    run("qemu-img", "create", "-q", "-f", "vpc", path, "9M");
    for (const [pattern, offset, length] of [
      ["0xab", 0, 65536],
      ["0x11", 2 * MiB - 4096, 8192],
      ["0x5c", 7 * MiB + 512, 1536],
    ] as const) {
      run("qemu-io", "-f", "vpc", "-c", `write -P ${pattern} ${offset} ${length}`, path);
    }
    const raw = await sameAsQemu(path);
    assert.equal(raw[0], 0xab);
    assert.equal(raw[7 * MiB + 512], 0x5c);
  });

  it("reads an empty dynamic VHD made by qemu-img create as zeroes", async () => {
    const path = join(await tempDir(), "empty.vhd");
    run("qemu-img", "create", "-q", "-f", "vpc", path, "20M");
    const raw = await sameAsQemu(path);
    assert.ok(raw.every((byte) => byte === 0));
  });

  for (const subformat of ["dynamic", "fixed"]) {
    it(`reads a ${subformat} VHD made by qemu-img convert -O vpc as qemu does`, async () => {
      const dir = await tempDir();
      const data = patterned(6 * MiB + 3 * 512, subformat.length);
      await writeFile(join(dir, "data.raw"), data);
      run(
        "qemu-img",
        "convert",
        "-f",
        "raw",
        "-O",
        "vpc",
        "-o",
        `subformat=${subformat}`,
        join(dir, "data.raw"),
        join(dir, "disk.vhd"),
      );
      const raw = await sameAsQemu(join(dir, "disk.vhd"));
      assert.ok(raw.subarray(0, data.length).equals(data), "the plugin reads back the data qemu wrote");
    });
  }

  for (const layout of [
    { type: "dynamic", size: 5 * MiB + 1024, blockSize: 512 * 1024, descending: true },
    { type: "dynamic", size: 4 * MiB },
    { type: "fixed", size: 3 * MiB + 512 },
  ] satisfies VhdLayout[]) {
    it(`reads the test writer's ${layout.type} VHD (XenServer creator) as qemu does`, async () => {
      const writes = randomWrites(rng(layout.size), layout.size, 20);
      const path = join(await tempDir(), "writer.vhd");
      await writeFile(path, buildVhd({ ...layout, writes }).bytes);
      const raw = await sameAsQemu(path);
      assert.ok(raw.equals(applyWrites(Buffer.alloc(layout.size), writes)));
    });
  }
});

/** The fields of `vhdiinfo`'s report, by label. */
function vhdiinfo(path: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const line of run("vhdiinfo", path).split("\n")) {
    const match = /^\t([^:\t]+?)\t+: (.*)$/.exec(line);
    if (match) fields[match[1]] = match[2];
  }
  return fields;
}

const mediaBytes = (field: string | undefined) => Number(/\((\d+) bytes\)/.exec(field ?? "")?.[1]);

describe("cross-check with vhdiinfo", { skip: noVhdi }, () => {
  after(removeTempDirs);

  it("agrees on a differencing disk's type, size, identifier, parent identifier and parent name", async () => {
    const dir = await tempDir();
    const base = buildVhd({ type: "dynamic", size: 3 * MiB + 512 });
    const leaf = buildVhd({
      type: "differencing",
      size: 3 * MiB + 512,
      parentId: base.uniqueId,
      parentName: "base-é.vhd",
      writes: [{ offset: 512, data: Buffer.alloc(512, 3) }],
    });
    await writeFile(join(dir, "leaf.vhd"), leaf.bytes);
    const info = await infoOf(join(dir, "leaf.vhd"));
    const theirs = vhdiinfo(join(dir, "leaf.vhd"));
    assert.equal(theirs["Disk type"], "Differential");
    assert.equal(info.type, "differencing");
    assert.equal(mediaBytes(theirs["Media size"]), info.size);
    assert.equal(theirs["Identifier"], info.uniqueId);
    assert.equal(theirs["Parent identifier"], info.parentId);
    assert.equal(theirs["Parent filename"], info.parentName);
    assert.equal(info.parentId, await infoOf(await writeAndPath(dir, "base.vhd", base.bytes)).then((i) => i.uniqueId));
  });

  it("agrees on the type, size and identifier of VHDs made by qemu-img", { skip: noQemu }, async () => {
    const dir = await tempDir();
    for (const [subformat, expected] of [
      ["dynamic", "Dynamic"],
      ["fixed", "Fixed"],
    ]) {
      const path = join(dir, `${subformat}.vhd`);
      run("qemu-img", "create", "-q", "-f", "vpc", "-o", `subformat=${subformat}`, path, "5M");
      const info = await infoOf(path);
      const theirs = vhdiinfo(path);
      assert.equal(theirs["Disk type"], expected);
      assert.equal(info.type, subformat);
      assert.equal(mediaBytes(theirs["Media size"]), info.size);
      assert.equal(theirs["Identifier"], info.uniqueId);
    }
  });
});

async function writeAndPath(dir: string, name: string, bytes: Uint8Array): Promise<string> {
  await writeFile(join(dir, name), bytes);
  return join(dir, name);
}

async function infoOf(path: string): Promise<VhdInfo> {
  const vhd = await VhdFile.open(path);
  await vhd.close();
  return vhd.info;
}
