import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { bochsDetector } from "../../../src/core/inspect/bochs.ts";
import { cloopDetector } from "../../../src/core/inspect/cloop.ts";
import { inspectImage } from "../../helpers/inspect.ts";
import { probeStandIns } from "../../../src/core/inspect/stand-ins.ts";
import { problem, problemCodes } from "../../../src/core/inspect/problem.ts";
import { memoryReader } from "./readers.ts";

const standIn = (driver: string) =>
  probeStandIns.find((d) => d.driver === driver) ?? assert.fail(`no stand-in for ${driver}`);
const parallelsDetector = standIn("parallels");
const luksDetector = standIn("luks");
const latin1 = (text: string) => new Uint8Array(Buffer.from(text, "latin1"));
/** Runs `detector` on an image of `size` bytes that starts with `head`. */
const detectOn = (detector: typeof bochsDetector, head: Uint8Array, size = 1024 * 1024) =>
  detector.detect(memoryReader(size, [{ offset: 0, bytes: head }]), {});

describe("problem codes", () => {
  test("the codes are exactly the ones the inspector documents, in the same order", () => {
    const source = readFileSync(new URL("../../../src/core/inspect/index.ts", import.meta.url), "utf8");
    const block = source.slice(source.indexOf("Problem codes"), source.indexOf("Parity with qemu"));
    const documented = [...block.matchAll(/^ \* {3}(\S+) {2,}/gm)].map((m) => m[1]);
    assert.equal(documented.length, 6);
    assert.deepEqual([...problemCodes], documented);
  });

  test("problem() builds a plain code and message", () => {
    assert.deepEqual(problem("polyglot", "two formats"), { code: "polyglot", message: "two formats" });
  });
});

describe("Bochs", () => {
  /** A Bochs header: magic, type, subtype and version. */
  function bochs(type: string, subtype: string, version: number): Uint8Array {
    const head = Buffer.alloc(512);
    head.write("Bochs Virtual HD Image", 0, "latin1");
    head.write(type, 32, 16, "latin1");
    head.write(subtype, 48, 16, "latin1");
    head.writeUInt32LE(version, 64);
    return new Uint8Array(head);
  }

  test("is always refused as unsupported, with its header facts", async () => {
    assert.deepEqual(await detectOn(bochsDetector, bochs("Redolog", "Growing", 0x00020000)), {
      format: "bochs",
      problems: [
        { code: "unsupported-format", message: "Bochs images are not accepted: diskpipe does not convert this format" },
      ],
      details: { type: "Redolog", subtype: "Growing", version: 0x00020000 },
    });
  });

  test("the magic alone is enough; the fields are read from their offsets, cut at 16 bytes", async () => {
    const found = await detectOn(bochsDetector, latin1("Bochs Virtual HD Image"));
    assert.deepEqual([found?.format, found?.details], ["bochs", { type: "", subtype: "", version: 0 }]);
    const long = await detectOn(bochsDetector, bochs("ABCDEFGHIJKLMNOPQRS", "x\ny", 7));
    assert.deepEqual(long?.details, { type: "ABCDEFGHIJKLMNOP", subtype: "x?y", version: 7 });
  });

  test("anything short of the whole magic is not Bochs", async () => {
    assert.equal(await detectOn(bochsDetector, latin1("Bochs Virtual HD Imag")), null);
    assert.equal(await detectOn(bochsDetector, latin1("Bochs Virtual HD Imagf")), null);
    assert.equal(await detectOn(bochsDetector, latin1("bochs Virtual HD Image")), null);
    assert.equal(await detectOn(bochsDetector, latin1(" Bochs Virtual HD Image")), null);
  });
});

describe("cloop", () => {
  const MAGIC = "#!/bin/sh\n#V2.0 Format\nmodprobe cloop file=$0 && mount -r -t iso9660 /dev/cloop $1\n";

  test("the V2.0 signature is refused as unsupported", async () => {
    assert.deepEqual(await detectOn(cloopDetector, latin1(`${MAGIC}more`)), {
      format: "cloop",
      variant: "v2.0",
      problems: [
        { code: "unsupported-format", message: "cloop images are not accepted: diskpipe does not convert this format" },
      ],
    });
    assert.equal((await detectOn(cloopDetector, latin1(MAGIC), MAGIC.length))?.format, "cloop");
  });

  test("every byte of the signature counts, to its last newline", async () => {
    assert.equal(await detectOn(cloopDetector, latin1(MAGIC.slice(0, -1)), MAGIC.length - 1), null);
    assert.equal(await detectOn(cloopDetector, latin1(`${MAGIC.slice(0, -1)} `)), null);
    assert.equal(await detectOn(cloopDetector, latin1(MAGIC.replace("V2.0", "V1.0"))), null);
    assert.equal(await detectOn(cloopDetector, latin1(MAGIC.replace("$1", "$2"))), null);
  });
});

describe("Parallels, when no plugin detects it", () => {
  const refusal = {
    code: "unsupported-format",
    message: "Parallels images (qemu's parallels driver) are not accepted: no loaded plugin converts this format",
  };

  test("either signature qemu probes is refused as unsupported, on the magic alone", async () => {
    for (const magic of ["WithoutFreeSpace", "WithouFreSpacExt"]) {
      assert.deepEqual(await detectOn(parallelsDetector, latin1(magic), 16), {
        format: "parallels",
        problems: [refusal],
      });
    }
    for (const near of ["WithoutFreeSpac", "WithoutFreeSpacf", "withoutFreeSpace", " WithouFreSpacExt"]) {
      assert.equal(await detectOn(parallelsDetector, latin1(near)), null, near);
    }
  });

  test("an inspection with the core's detectors alone never calls such an image raw", async () => {
    const result = await inspectImage(memoryReader(1024 * 1024, [{ offset: 0, bytes: latin1("WithouFreSpacExt") }]));
    assert.deepEqual([result.format, result.safe, result.problems], ["parallels", false, [refusal]]);
  });

  test("a plugin's detector for the parallels driver replaces the refusal; one for another driver does not", async () => {
    const image = () => memoryReader(1024 * 1024, [{ offset: 0, bytes: latin1("WithoutFreeSpace") }]);
    const declines = (driver: string) => ({ name: `plugin-${driver}`, driver, detect: async () => null });
    const replaced = await inspectImage(image(), { detectors: [declines("parallels")] });
    assert.deepEqual([replaced.format, replaced.safe, replaced.matches], ["raw", true, []]);
    const kept = await inspectImage(image(), { detectors: [declines("vpc")] });
    assert.deepEqual([kept.format, kept.safe], ["parallels", false]);
  });

  test("only the core's refusals of unconverted formats step aside, never a detector with checks", async () => {
    const qcow2 = new Uint8Array(Buffer.from("514649fb00000003", "hex"));
    const result = await inspectImage(memoryReader(1024 * 1024, [{ offset: 0, bytes: qcow2 }]), {
      detectors: [{ name: "lax", driver: "qcow2", detect: async () => null }],
    });
    assert.equal(result.format, "qcow2");
    assert.equal(result.safe, false);
  });
});

describe("LUKS, when no plugin detects it", () => {
  const refusal = {
    code: "unsupported-format",
    message: "LUKS images are not accepted: no loaded plugin converts this format",
  };

  test("the signature qemu probes is refused as unsupported, on the magic alone, whatever the version", async () => {
    for (const head of ["LUKS\xba\xbe", "LUKS\xba\xbe\0\x01", "LUKS\xba\xbe\0\x02"]) {
      assert.deepEqual(await detectOn(luksDetector, latin1(head)), { format: "luks", problems: [refusal] });
    }
    for (const near of ["LUKS\xba", "LUKS\xba\xbf", "luks\xba\xbe", " LUKS\xba\xbe"])
      assert.equal(await detectOn(luksDetector, latin1(near)), null, near);
  });

  test("is never called raw by the core's detectors alone, and steps aside for a plugin's detector of the luks driver", async () => {
    const image = () => memoryReader(1024 * 1024, [{ offset: 0, bytes: latin1("LUKS\xba\xbe\0\x01") }]);
    const alone = await inspectImage(image());
    assert.deepEqual([alone.format, alone.safe, alone.problems], ["luks", false, [refusal]]);
    const replaced = await inspectImage(image(), {
      detectors: [{ name: "plugin-luks", driver: "luks", detect: async () => ({ format: "luks", problems: [] }) }],
    });
    assert.deepEqual([replaced.format, replaced.safe, replaced.matches], ["luks", true, ["plugin-luks"]]);
  });
});

describe("the core's refusals of formats it does not convert", () => {
  const heads: Record<string, Uint8Array> = {
    bochs: latin1("Bochs Virtual HD Image"),
    cloop: latin1("#!/bin/sh\n#V2.0 Format\nmodprobe cloop file=$0 && mount -r -t iso9660 /dev/cloop $1\n"),
    qcow: new Uint8Array(Buffer.from("514649fb00000001", "hex")),
    parallels: latin1("WithoutFreeSpace"),
    luks: latin1("LUKS\xba\xbe\0\x01"),
  };

  test("each refuses as unsupported with the core alone, and steps aside for a plugin's detector of its own qemu driver only", async () => {
    for (const [driver, head] of Object.entries(heads)) {
      const image = () => memoryReader(1024 * 1024, [{ offset: 0, bytes: head }]);
      const alone = await inspectImage(image());
      assert.deepEqual([alone.format, alone.problems.map((p) => p.code)], [driver, ["unsupported-format"]], driver);
      const declines = (name: string) => ({ name: `plugin-${name}`, driver: name, detect: async () => null });
      const replaced = await inspectImage(image(), { detectors: [declines(driver)] });
      assert.deepEqual([replaced.format, replaced.safe], ["raw", true], `${driver}: a plugin for the driver took over`);
      const other = await inspectImage(image(), { detectors: [declines(driver === "qcow" ? "qcow2" : "qcow")] });
      assert.deepEqual([other.format, other.safe], [driver, false], `${driver}: a plugin for another driver did not`);
    }
  });
});
