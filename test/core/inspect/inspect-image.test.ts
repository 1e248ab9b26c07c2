import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import type { ImageReader } from "../../../src/core/io/reader.ts";
import { builtinDetectors } from "../../../src/core/inspect/index.ts";
import { inspectFile, inspectImage } from "../../helpers/inspect.ts";
import type { DetectContext, Detection, Detector } from "../../../src/core/inspect/types.ts";
import { memoryReader } from "./readers.ts";

const MiB = 1024 * 1024;
const zeros = () => memoryReader(MiB, []);

/** A plugin detector that records each call (its reader and context) and answers `detection`. */
function plugin(
  name: string,
  detection: Detection | null,
  phase?: "head" | "tail",
): Detector & { calls: { reader: ImageReader; context: DetectContext }[] } {
  const calls: { reader: ImageReader; context: DetectContext }[] = [];
  return {
    name,
    ...(phase && { phase }),
    calls,
    detect: async (reader, context) => (calls.push({ reader, context }), detection),
  };
}

describe("inspectImage", () => {
  test("an image of zeros is a safe raw image read to its end", async () => {
    assert.deepEqual(await inspectImage(zeros()), {
      format: "raw",
      virtualSize: MiB,
      actualSize: MiB,
      safe: true,
      problems: [],
      matches: [],
      details: {},
    });
    assert.equal(Object.isFrozen(builtinDetectors), true);
  });

  test("plugin detectors join their phase: untagged or head ones run with the head, tail ones after it", async () => {
    for (const phase of [undefined, "head"] as const) {
      const head = plugin("h", { format: "h", problems: [] }, phase);
      const tail = plugin("t", { format: "t", problems: [] }, "tail");
      const result = await inspectImage(zeros(), { detectors: [tail, head] });
      assert.deepEqual(result.matches, ["h", "t"]);
      assert.equal(result.format, "h");
      assert.equal(result.stoppedEarly, undefined);
      assert.deepEqual(result.details.polyglot, ["h", "t"]);
      assert.deepEqual([head.calls.length, tail.calls.length], [1, 1]);
    }
  });

  test("every tail detector is heard out, whatever the first tail match", async () => {
    const first = plugin("t1", { format: "t1", problems: [] }, "tail");
    const second = plugin("t2", { format: "t2", problems: [] }, "tail");
    const result = await inspectImage(zeros(), { detectors: [first, second] });
    assert.deepEqual(result.matches, ["t1", "t2"]);
    assert.deepEqual(
      result.problems.map((p) => p.code),
      ["polyglot"],
    );
  });

  test("detectors get the context: not in a chain container unless told, onHeader only when given", async () => {
    const probe = plugin("p", null);
    const tail = plugin("q", null, "tail");
    await inspectImage(zeros(), { detectors: [probe, tail] });
    assert.deepEqual(
      probe.calls.map((c) => c.context),
      [{ inChainContainer: false }],
    );
    assert.deepEqual(
      tail.calls.map((c) => c.context),
      [{ inChainContainer: false }],
    );
    const onHeader = () => undefined;
    await inspectImage(zeros(), { detectors: [probe], inChainContainer: true, onHeader });
    assert.deepEqual(probe.calls[1]?.context, { inChainContainer: true, onHeader });
  });

  test("onHeader hears a plugin's header with its size", async () => {
    const heard: unknown[] = [];
    await inspectImage(zeros(), {
      detectors: [plugin("p", { format: "p", virtualSize: 4096, problems: [], details: { a: 1 } })],
      onHeader: (h) => heard.push(h),
    });
    assert.deepEqual(heard, [{ format: "p", virtualSize: 4096, details: { a: 1 } }]);
  });

  test("a head rejection stops early: tail detectors never run, the size is given when known", async () => {
    const tail = plugin("t", { format: "t", problems: [] }, "tail");
    const bad = plugin("b", { format: "b", virtualSize: 1, problems: [{ code: "x", message: "y" }] });
    const result = await inspectImage(zeros(), { detectors: [bad, tail] });
    assert.deepEqual(result, {
      format: "b",
      virtualSize: 1,
      actualSize: MiB,
      safe: false,
      problems: [{ code: "x", message: "y" }],
      matches: ["b"],
      details: {},
      stoppedEarly: true,
    });
    assert.equal(tail.calls.length, 0);
  });

  test("a head rejection of a stream whose size never comes reports -1", async () => {
    const stream = { ...zeros(), size: () => new Promise<number>(() => undefined) };
    const result = await inspectImage(stream, {
      claimed: "h",
      detectors: [plugin("q", { format: "q", problems: [] })],
    });
    assert.deepEqual(
      [result.stoppedEarly, result.actualSize, result.problems.map((p) => p.code)],
      [true, -1, ["format-mismatch"]],
    );
  });

  test("a clean head is judged with the tail: a tail problem still rejects, without stoppedEarly", async () => {
    const tail = plugin("t", { format: "t", problems: [{ code: "late", message: "m" }] }, "tail");
    const result = await inspectImage(zeros(), { detectors: [tail] });
    assert.deepEqual(
      [result.format, result.safe, result.stoppedEarly, result.actualSize],
      ["t", false, undefined, MiB],
    );
  });

  test("once it has answered, the detectors' reader is closed to them, whichever way it ended", async () => {
    for (const detection of [null, { format: "b", problems: [{ code: "x", message: "y" }] }]) {
      const probe = plugin("p", detection);
      await inspectImage(zeros(), { detectors: [probe] });
      const reader = probe.calls[0]?.reader;
      assert.ok(reader);
      await assert.rejects(reader.read(0, 1), { message: "the inspection has finished" });
      await assert.rejects(reader.size(), { message: "the inspection has finished" });
    }
  });

  test("a detector's I/O error rejects the inspection, and the reader is closed to the others", async () => {
    const failure = new Error("disk gone");
    const probe = plugin("p", null);
    const broken: Detector = { name: "broken", detect: () => Promise.reject(failure) };
    await assert.rejects(inspectImage(zeros(), { detectors: [probe, broken] }), failure);
    await assert.rejects(probe.calls[0]?.reader.read(0, 1) ?? Promise.resolve(), {
      message: "the inspection has finished",
    });
  });

  test("the caller's reader is not closed", async () => {
    let closed = 0;
    await inspectImage({ ...zeros(), close: async () => void closed++ });
    assert.equal(closed, 0);
  });
});

/** File descriptors this process holds open. */
const openDescriptors = () => readdirSync("/proc/self/fd").length;

describe("inspectFile", () => {
  test("inspects a file and closes it, also when the inspection fails", async () => {
    const dir = mkdtempSync(join(tmpdir(), "diskpipe-inspect-file-"));
    try {
      const path = join(dir, "disk.raw");
      writeFileSync(path, Buffer.alloc(1000, 1));
      const before = openDescriptors();
      const result = await inspectFile(path, { claimed: "qcow2" });
      assert.deepEqual(
        [result.format, result.virtualSize, result.actualSize, result.problems.map((p) => p.code)],
        ["raw", 1024, 1000, ["format-mismatch"]],
      );
      assert.equal(openDescriptors(), before);
      const broken: Detector = { name: "broken", detect: () => Promise.reject(new Error("boom")) };
      await assert.rejects(inspectFile(path, { detectors: [broken] }), { message: "boom" });
      assert.equal(openDescriptors(), before);
      assert.equal((await inspectFile(path)).safe, true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
