import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { inspectImage } from "../../helpers/inspect.ts";
import { openFileReader } from "../../../src/core/io/reader.ts";
import { makeGpt, makeSparse, qemuImg } from "./corpus-tools.ts";
import { countingReader } from "./readers.ts";
import { withPlugins } from "./plugin-detectors.ts";

const GiB = 1024 ** 3;
const SIZE = 64 * GiB;
/**
 * The bound: every detector probes a few hundred bytes, and the matching one reads its headers
 * and tables (a 64 GiB VHD's block table is 128 KiB, VHDX's region and metadata tables 64 KiB
 * each). Nothing scales with the image, so 1 MiB leaves room to spare.
 */
const BOUND = 1024 * 1024;

let dir: string;
const images: Record<string, string> = {};

before(() => {
  dir = mkdtempSync(join(tmpdir(), "diskpipe-inspect-mem-"));
  images.raw = makeSparse(join(dir, "big.raw"), SIZE);
  images.gpt = makeGpt(join(dir, "big-gpt.raw"), SIZE);
  for (const [name, format, options] of [
    ["qcow2", "qcow2", []],
    ["vmdk", "vmdk", []],
    ["vhd", "vpc", ["-o", "force_size=on"]],
    ["vhdx", "vhdx", []],
    ["vdi", "vdi", []],
    ["ploop", "parallels", []],
  ] as const) {
    images[name] = join(dir, `big.${name}`);
    qemuImg("create", "-q", "-f", format, ...options, images[name]!, String(SIZE));
  }
});

after(() => rmSync(dir, { recursive: true, force: true }));

async function inspectCounting(path: string, claimed?: string) {
  const file = await openFileReader(path);
  const { reader, stats } = countingReader(file);
  try {
    return { result: await inspectImage(reader, withPlugins(claimed ? { claimed } : {})), stats };
  } finally {
    await file.close();
  }
}

test("64 GiB images are inspected reading under 1 MiB in reads of at most 1 MiB", async (t) => {
  for (const [name, path] of Object.entries(images)) {
    await t.test(name, async () => {
      const { result, stats } = await inspectCounting(path);
      assert.equal(result.safe, true, JSON.stringify(result.problems));
      assert.equal(result.virtualSize, SIZE);
      assert.ok(stats.bytes < BOUND, `${name}: read ${stats.bytes} bytes in ${stats.calls} reads`);
      assert.ok(stats.largest <= BOUND, `${name}: largest read ${stats.largest}`);
      t.diagnostic(`${name}: ${stats.bytes} bytes in ${stats.calls} reads`);
    });
  }
});

test("a 64 GiB qcow2 claimed as raw is rejected with format-mismatch", async () => {
  const { result, stats } = await inspectCounting(images.qcow2!, "raw");
  assert.equal(result.safe, false);
  assert.deepEqual(
    result.problems.map((p) => p.code),
    ["format-mismatch"],
  );
  assert.equal(result.format, "qcow2");
  assert.ok(stats.bytes < BOUND);
});
