import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import fc from "fast-check";
import { inspectFile, inspectImage } from "../../helpers/inspect.ts";
import type { InspectResult } from "../../../src/core/inspect/types.ts";
import { MAX_READ, openFileReader } from "../../../src/core/io/reader.ts";
import { editVmdkDescriptor, makeGpt, makeIso, makeMbr, makeSparse, patch, qemuImg } from "./corpus-tools.ts";
import { bochsImage, cloopImage, flatDescriptor } from "./probe-cases.ts";
import { editFile, probeEdit } from "./probe-fuzz.ts";
import { calledRaw, parityFailure, qemuProbe } from "./qemu-probe.ts";
import { capture, countingReader, memoryReader, type Region } from "./readers.ts";
import { withPlugins } from "./plugin-detectors.ts";
import { be64, mutate, mutation, write, type Seed } from "./property-mutations.ts";

const MiB = 1024 * 1024;
/** Multiplies every run count, for a longer fuzzing session: DISKPIPE_PROPERTY_SCALE=20. */
const SCALE = Number(process.env.DISKPIPE_PROPERTY_SCALE ?? 1);
/** A mutated image must be judged within this time (they take a few milliseconds). */
const TIME_BOUND_MS = 1000;

let dir: string;
const seeds: Record<string, Seed> = {};

/** Records what the inspector reads from a real image, plus the first and last 64 KiB. */
async function seed(name: string, path: string): Promise<Seed> {
  const file = await openFileReader(path);
  try {
    const size = await file.size();
    const { reader, stats } = countingReader(file);
    await inspectImage(reader, withPlugins());
    const ranges: [number, number][] = [
      ...stats.ranges,
      [0, Math.min(size, 65536)],
      [Math.max(0, size - 65536), Math.min(size, 65536)],
    ];
    return {
      name,
      path,
      size,
      regions: await capture(
        file,
        ranges.map(([o, l]) => [o, Math.min(l, size - o)]),
      ),
    };
  } finally {
    await file.close();
  }
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "diskpipe-inspect-prop-"));
  const data = makeSparse(join(dir, "data.raw"), 4 * MiB);
  const at = (name: string) => join(dir, name);
  const made: [string, string][] = [
    ["qcow2", "v3.qcow2"],
    ["qcow2:compat=0.10", "v2.qcow2"],
    ["vmdk", "sparse.vmdk"],
    ["vmdk:subformat=streamOptimized", "stream.vmdk"],
    ["vpc", "dynamic.vhd"],
    ["vpc:subformat=fixed", "fixed.vhd"],
    ["vhdx", "disk.vhdx"],
    ["vdi", "disk.vdi"],
    ["parallels", "disk.ploop"],
  ];
  for (const [spec, name] of made) {
    const [format, option] = spec.split(":") as [string, string | undefined];
    qemuImg("convert", "-f", "raw", "-O", format, ...(option ? ["-o", option] : []), data, at(name));
  }
  makeGpt(at("gpt.raw"), 4 * MiB);
  makeMbr(at("mbr.raw"), 4 * MiB);
  makeIso(at("plain.iso"));
  editVmdkDescriptor(copy(at("sparse.vmdk"), at("flat-extent.vmdk")), (t) =>
    t.replace(/RW \d+ SPARSE "[^"]*"/, 'RW 8192 FLAT "/etc/passwd" 0'),
  );
  // Seeds for qemu's other probes; their descriptors name a fresh file, never a host one.
  writeFileSync(at("target.raw"), Buffer.alloc(4096));
  writeFileSync(at("spaces.vmdk"), `   \n${flatDescriptor(at("target.raw"))}`);
  writeFileSync(at("empty-line.raw"), `\n${flatDescriptor(at("target.raw"))}`);
  writeFileSync(at("probe.bochs"), bochsImage(2));
  writeFileSync(at("probe.cloop"), cloopImage());
  qemuImg("create", "-q", "-f", "qcow", at("probe.qcow"), "1M");
  const probeSeeds = ["data.raw", "spaces.vmdk", "empty-line.raw", "probe.bochs", "probe.cloop", "probe.qcow"];
  for (const name of [...made.map(([, n]) => n), "gpt.raw", "mbr.raw", "plain.iso", "flat-extent.vmdk", ...probeSeeds])
    seeds[name] = await seed(name, at(name));
});

after(() => rmSync(dir, { recursive: true, force: true }));

function copy(from: string, to: string): string {
  copyFileSync(from, to);
  return to;
}

async function judge(
  size: number,
  regions: Region[],
): Promise<{ result: InspectResult; ms: number; largest: number; bytes: number }> {
  const { reader, stats } = countingReader(memoryReader(size, regions));
  const started = performance.now();
  const result = await inspectImage(reader, withPlugins());
  return { result, ms: performance.now() - started, largest: stats.largest, bytes: stats.bytes };
}

test("mutated headers never make the inspector throw, hang or read unboundedly", async () => {
  const names = Object.keys(seeds);
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom(...names),
      fc.array(mutation, { minLength: 1, maxLength: 16 }),
      fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: undefined }),
      async (name, mutations, cut) => {
        const s = seeds[name]!;
        const size = cut === undefined ? s.size : Math.floor(s.size * cut);
        const { result, ms, largest, bytes } = await judge(size, mutate(s, mutations));
        assert.ok(ms < TIME_BOUND_MS, `${name}: ${ms} ms`);
        assert.ok(largest <= MAX_READ);
        assert.ok(bytes <= 32 * MiB, `${name}: read ${bytes} bytes`);
        assert.equal(result.safe, result.problems.length === 0);
        assert.ok(Number.isFinite(result.virtualSize));
      },
    ),
    { numRuns: 400 * SCALE },
  );
});

test("a qcow2 with a backing file offset or the data-file bit set is never safe", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom("v3.qcow2", "v2.qcow2"),
      fc.array(mutation, { maxLength: 12 }),
      fc.bigInt({ min: 1n, max: 2n ** 64n - 1n }),
      fc.boolean(),
      async (name, mutations, backingOffset, dataFileBit) => {
        const s = seeds[name]!;
        const regions = mutate(s, mutations, 8);
        if (dataFileBit && name === "v3.qcow2") write(regions, 72, be64(4n));
        else write(regions, 8, be64(backingOffset));
        const { result } = await judge(s.size, regions);
        assert.equal(result.safe, false, JSON.stringify(result));
      },
    ),
    { numRuns: 300 * SCALE },
  );
});

test("a VMDK whose descriptor names a flat extent is never safe", async () => {
  const s = seeds["flat-extent.vmdk"]!;
  await fc.assert(
    fc.asyncProperty(fc.array(mutation, { maxLength: 12 }), async (mutations) => {
      const { result } = await judge(s.size, mutate(s, mutations, 4));
      assert.equal(result.safe, false, JSON.stringify(result));
    }),
    { numRuns: 300 * SCALE },
  );
});

test("whenever a mutated image is judged safe, qemu-img agrees on size and sees no external file", async (t) => {
  const drivers: Record<string, string> = {
    qcow2: "qcow2",
    vmdk: "vmdk",
    vhd: "vpc",
    vhdx: "vhdx",
    vdi: "vdi",
    ploop: "parallels",
    raw: "raw",
    iso: "raw",
  };
  const names = ["v3.qcow2", "sparse.vmdk", "dynamic.vhd", "disk.vhdx", "disk.vdi", "disk.ploop"];
  let n = 0;
  const seen = { safe: 0, refusedByQemu: 0, rejected: 0, refusals: [] as string[] };
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom(...names),
      fc.array(mutation, { minLength: 1, maxLength: 3 }),
      async (name, mutations) => {
        const s = seeds[name]!;
        const path = join(dir, `mutant-${n++}`);
        copyFileSync(s.path, path);
        for (const r of mutate(s, mutations)) patch(path, r.offset, r.bytes);
        try {
          const result = await inspectFile(path, withPlugins());
          if (!result.safe) return void seen.rejected++;
          seen.safe++;
          let info: {
            "virtual-size": number;
            "backing-filename"?: string;
            "format-specific"?: { data?: Record<string, unknown> };
          };
          try {
            info = JSON.parse(qemuImg("info", "--output=json", "-f", drivers[result.format]!, path));
          } catch (error) {
            // qemu refuses what the inspector accepted: conversion would fail, safely.
            seen.refusedByQemu++;
            if (seen.refusals.length < 5)
              seen.refusals.push(`${name}: ${String((error as { stderr?: string }).stderr ?? error).trim()}`);
            return;
          }
          assert.equal(info["virtual-size"], result.virtualSize, `${name} as ${result.format}`);
          assert.equal(info["backing-filename"], undefined);
          assert.equal(info["format-specific"]?.data?.["data-file"], undefined);
          assert.equal(result.actualSize, statSync(path).size);
        } finally {
          rmSync(path, { force: true });
        }
      },
    ),
    { numRuns: 60 * SCALE },
  );
  t.diagnostic(JSON.stringify(seen));
  // A mutant qemu refuses proves nothing here: enough of them must have been compared with qemu's view.
  assert.ok(
    seen.safe - seen.refusedByQemu >= 20 * SCALE,
    `only ${seen.safe - seen.refusedByQemu} safe mutants were compared with qemu-img: ${JSON.stringify(seen)}`,
  );
});

test("a mutant the inspector calls raw is raw to qemu's own probe too", async (t) => {
  // flat-extent.vmdk names /etc/passwd: qemu is never pointed at it.
  const names = Object.keys(seeds).filter((name) => name !== "flat-extent.vmdk");
  const cut = fc.oneof(
    { weight: 3, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary: fc.nat({ max: 1100 }) },
  );
  let n = 0;
  const seen = { calledRaw: 0, other: 0 };
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom(...names),
      fc.array(mutation, { maxLength: 3 }),
      fc.array(probeEdit, { minLength: 1, maxLength: 4 }),
      cut,
      async (name, mutations, edits, size) => {
        const s = seeds[name]!;
        const path = join(dir, `probe-mutant-${n++}`);
        copyFileSync(s.path, path);
        try {
          for (const r of mutate(s, mutations)) patch(path, r.offset, r.bytes);
          editFile(path, edits, size);
          const result = await inspectFile(path, withPlugins());
          if (!calledRaw(result)) return void seen.other++;
          seen.calledRaw++;
          assert.equal(
            parityFailure(result, await qemuProbe(path)),
            undefined,
            `${name} with ${JSON.stringify(edits)}, cut ${size}`,
          );
        } finally {
          rmSync(path, { force: true });
        }
      },
    ),
    { numRuns: 150 * SCALE },
  );
  t.diagnostic(JSON.stringify(seen));
  assert.ok(seen.calledRaw >= 30 * SCALE, `only ${seen.calledRaw} mutants were called raw and probed`);
});
