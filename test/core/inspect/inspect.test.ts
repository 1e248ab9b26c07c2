import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { builtinDetectors, problemCodes } from "../../../src/core/inspect/index.ts";
import { inspectFile, standardDetectors } from "../../helpers/inspect.ts";
import { registerFormats } from "../../../src/core/inspector.ts";
import { luks, ploop } from "../../../src/plugins/index.ts";
import { withStandardFormats } from "../../../src/standard-formats.ts";
import type { CorpusImage } from "./corpus.ts";
import { cachedCorpus } from "./corpus-cache.ts";
import { qemuInfo } from "./corpus-tools.ts";
import { withPlugins } from "./plugin-detectors.ts";

let dir: string;
let corpus: CorpusImage[];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "diskpipe-inspect-"));
  corpus = await cachedCorpus(dir);
});

after(() => rmSync(dir, { recursive: true, force: true }));

function codes(problems: { code: string }[]): string[] {
  return [...new Set(problems.map((p) => p.code))].sort();
}

describe("good images", () => {
  test("match qemu-img's format and virtual size, and are safe", async (t) => {
    const good = corpus.filter((image) => image.driver);
    assert.ok(good.length >= 30, `only ${good.length} good images`);
    for (const image of good)
      await t.test(image.name, async () => {
        const result = await inspectFile(image.path, withPlugins(image.options));
        const label = `${image.name}: ${JSON.stringify(result.problems)}`;
        assert.deepEqual(codes(result.problems), [], label);
        assert.equal(result.safe, true, label);
        assert.equal(result.format, image.format, label);
        assert.equal(result.variant, image.variant, label);
        const info = qemuInfo(image.path, image.driver!);
        assert.equal(result.virtualSize, info["virtual-size"], `${image.name}: virtual size`);
      });
  });

  test("actual size is the file size", async () => {
    const image = corpus.find((i) => i.name === "v3.qcow2")!;
    const result = await inspectFile(image.path);
    const { statSync } = await import("node:fs");
    assert.equal(result.actualSize, statSync(image.path).size);
    assert.deepEqual(result.matches, ["qcow2"]);
  });

  test("an ISO hybrid's MBR does not make a polyglot and is noted in the details", async () => {
    const result = await inspectFile(corpus.find((i) => i.name === "hybrid.iso")!.path);
    assert.deepEqual(result.matches, ["iso", "partition"]);
    assert.equal(result.details.partitionTable, "mbr");
  });
});

describe("hostile images", () => {
  test("are rejected with exactly the expected codes", async (t) => {
    const hostile = corpus.filter((image) => image.codes.length > 0);
    assert.ok(hostile.length >= 25, `only ${hostile.length} hostile images`);
    for (const image of hostile)
      await t.test(image.name, async () => {
        const result = await inspectFile(image.path, withPlugins(image.options));
        const label = `${image.name}: ${JSON.stringify(result.problems)}`;
        assert.equal(result.safe, false, label);
        assert.deepEqual(codes(result.problems), image.codes, label);
        assert.equal(result.format, image.format, label);
      });
  });

  test("together they exercise every problem code of the core and the shipped plugins", () => {
    const covered = new Set([...corpus.flatMap((image) => image.codes), "too-large", "format-mismatch"]);
    const all = [...problemCodes, ...registerFormats(withStandardFormats([ploop(), luks()])).formats.problemCodes()];
    assert.deepEqual(
      all.filter((code) => !covered.has(code)),
      [],
    );
    assert.ok(all.includes("qcow2-backing-file") && all.includes("ploop-corrupt-header"), all.join(" "));
  });

  test("a polyglot lists every format it matched", async () => {
    const iso = await inspectFile(corpus.find((i) => i.name === "iso-qcow2.iso")!.path);
    assert.deepEqual(iso.details.polyglot, ["qcow2", "iso"]);
    const vhd = await inspectFile(corpus.find((i) => i.name === "qcow2-vhd.qcow2")!.path);
    assert.deepEqual(vhd.matches, ["qcow2", "vhd"]);
  });
});

describe("options", () => {
  test("maxSize rejects a larger virtual size with too-large", async () => {
    const image = corpus.find((i) => i.name === "v3.qcow2")!;
    const result = await inspectFile(image.path, { maxSize: 1024 * 1024 });
    assert.deepEqual(codes(result.problems), ["too-large"]);
    assert.equal((await inspectFile(image.path, { maxSize: 4 * 1024 * 1024 })).safe, true);
  });

  test("claims: mismatch, built-in rule, accepts override", async () => {
    const path = (name: string) => corpus.find((i) => i.name === name)!.path;
    assert.deepEqual(codes((await inspectFile(path("v3.qcow2"), { claimed: "raw" })).problems), ["format-mismatch"]);
    assert.equal((await inspectFile(path("v3.qcow2"), { claimed: "qcow2" })).safe, true);
    assert.equal((await inspectFile(path("gpt.raw"), { claimed: "raw" })).safe, true);
    assert.equal((await inspectFile(path("gpt.raw"), { claimed: "iso" })).safe, true);
    assert.equal((await inspectFile(path("dynamic.vhd"), { claimed: "vpc" })).safe, true);
    assert.deepEqual(codes((await inspectFile(path("v3.qcow2"), { claimed: "ami" })).problems), ["format-mismatch"]);
    assert.equal((await inspectFile(path("v3.qcow2"), { claimed: "ami", accepts: ["raw", "qcow2"] })).safe, true);
    assert.deepEqual(codes((await inspectFile(path("gpt.raw"), { claimed: "ami", accepts: ["raw:mbr"] })).problems), [
      "format-mismatch",
    ]);
  });

  test("plugin detectors run with the built-ins", async () => {
    const image = corpus.find((i) => i.name === "data.raw")!;
    const result = await inspectFile(image.path, {
      detectors: [{ name: "always", detect: async () => ({ format: "always", virtualSize: 1, problems: [] }) }],
    });
    assert.equal(result.format, "always");
    assert.equal(result.virtualSize, 1);
    const both = await inspectFile(corpus.find((i) => i.name === "v3.qcow2")!.path, {
      detectors: [{ name: "always", detect: async () => ({ format: "always", problems: [] }) }],
    });
    assert.deepEqual(codes(both.problems), ["polyglot"]);
  });

  test("a missing file rejects with ENOENT", async () => {
    await assert.rejects(inspectFile(join(dir, "no-such-file")), { code: "ENOENT" });
  });

  test("the core's detectors: the refusals, then the stand-ins for the format plugins, all reading the head", () => {
    assert.deepEqual(
      builtinDetectors.map((d) => `${d.name}:${d.phase}:${d.driver}:${d.standIn === true}`),
      [
        "qcow:head:qcow:true",
        "qed:head:undefined:false",
        "bochs:head:bochs:true",
        "cloop:head:cloop:true",
        "qcow2:head:qcow2:true",
        "vmdk:head:vmdk:true",
        "vhdx:head:vhdx:true",
        "vdi:head:vdi:true",
        "parallels:head:parallels:true",
        "luks:head:luks:true",
        "vhd:head:vpc:true",
      ],
    );
  });

  test("the standard formats' detectors, in the order a default pipeline runs them", () => {
    assert.deepEqual(
      standardDetectors.map((d) => `${d.name}:${d.phase}:${d.driver}`),
      [
        "partition:tail:raw",
        "qcow2:head:qcow2",
        "vmdk:head:vmdk",
        "vdi:head:vdi",
        "vhd:tail:vpc",
        "vhdx:head:vhdx",
        "iso:head:raw",
        "compressed:head:undefined",
        "ova:head:undefined",
        "ovf-descriptor:head:undefined",
      ],
    );
  });
});
