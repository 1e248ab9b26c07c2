import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { runPhase } from "../../../src/core/inspect/run.ts";
import type { Detection, Detector } from "../../../src/core/inspect/types.ts";
import type { Found } from "../../../src/core/inspect/verdict.ts";
import { memoryReader } from "./readers.ts";

/** A promise with its settle functions outside. */
function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void; reject: (error: unknown) => void } {
  let resolve: (value: T) => void = () => undefined;
  let reject: (error: unknown) => void = () => undefined;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Where a promise stands once every pending callback has run (detectors here answer within that turn). */
async function state<T>(promise: Promise<T>): Promise<{ value: T } | { error: unknown } | "pending"> {
  const outcome = promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  const turn = new Promise<"pending">((resolve) => setImmediate(() => resolve("pending")));
  return Promise.race([outcome, turn]);
}

/** A detector that answers `detection` (or what `answer` gives). */
function detector(name: string, answer: Detection | null | (() => Promise<Detection | null>)): Detector {
  return { name, detect: typeof answer === "function" ? answer : async () => answer };
}

const reader = memoryReader(0, []);

describe("runPhase", () => {
  test("no detectors: resolves false at once", async () => {
    const found: Found[] = [];
    assert.deepEqual(await state(runPhase([], 0, reader, {}, found, () => true)), { value: false });
    assert.deepEqual(found, []);
  });

  test("every detector runs with the reader and context; matches get their run order", async () => {
    const seen: unknown[] = [];
    const context = { inChainContainer: true };
    const spy = (name: string, detection: Detection | null): Detector => ({
      name,
      detect: async (r, c) => (seen.push([name, r === reader, c]), detection),
    });
    const found: Found[] = [];
    const run = runPhase(
      [
        spy("a", null),
        spy("b", { format: "b", problems: [] }),
        spy("c", null),
        spy("d", { format: "d", problems: [] }),
      ],
      7,
      reader,
      context,
      found,
      () => false,
    );
    assert.deepEqual(await state(run), { value: false });
    assert.deepEqual(
      found.map((f) => [f.detector.name, f.order, f.detection.format]),
      [
        ["b", 8, "b"],
        ["d", 10, "d"],
      ],
    );
    assert.deepEqual(
      seen,
      ["a", "b", "c", "d"].map((name) => [name, true, context]),
    );
  });

  test("resolves true as soon as the matches settle, without waiting for the rest; later matches are ignored", async () => {
    const slow = deferred<Detection | null>();
    const headers: string[] = [];
    const found: Found[] = [];
    const context = { onHeader: (h: { format: string }) => headers.push(h.format) };
    const detectors = [
      detector("slow", () => slow.promise),
      detector("fast", { format: "fast", virtualSize: 1, problems: [] }),
    ];
    const run = runPhase(detectors, 0, reader, context, found, (f) => f.length === 1);
    assert.deepEqual(await state(run), { value: true });
    slow.resolve({ format: "slow", virtualSize: 2, problems: [] });
    await state(slow.promise);
    assert.deepEqual(
      found.map((f) => f.detector.name),
      ["fast"],
    );
    assert.deepEqual(headers, ["fast"]);
  });

  test("settles is asked after each match only; none settling waits for every detector", async () => {
    const slow = deferred<Detection | null>();
    const asked: number[] = [];
    const found: Found[] = [];
    const detectors = [
      detector("none", null),
      detector("slow", () => slow.promise),
      detector("one", { format: "one", problems: [] }),
    ];
    const run = runPhase(detectors, 0, reader, {}, found, (f) => (asked.push(f.length), false));
    assert.equal(await state(run), "pending");
    assert.deepEqual(asked, [1]);
    slow.resolve(null);
    assert.deepEqual(await state(run), { value: false });
    assert.deepEqual(asked, [1]);
  });

  test("onHeader hears each match with a virtual size, with its details or {}", async () => {
    const headers: unknown[] = [];
    const detectors = [
      detector("sized", { format: "a", virtualSize: 0, problems: [] }),
      detector("detailed", { format: "b", virtualSize: 5, problems: [], details: { k: 1 } }),
      detector("unsized", { format: "c", problems: [] }),
    ];
    await runPhase(detectors, 0, reader, { onHeader: (h) => headers.push(h) }, [], () => false);
    assert.deepEqual(headers, [
      { format: "a", virtualSize: 0, details: {} },
      { format: "b", virtualSize: 5, details: { k: 1 } },
    ]);
    assert.deepEqual(await state(runPhase(detectors, 0, reader, {}, [], () => false)), { value: false });
  });

  test("a detector that throws, even synchronously, rejects the run; a second error is ignored", async () => {
    const boom = new Error("read failed");
    const late = deferred<Detection | null>();
    const sync: Detector = {
      name: "sync",
      detect: () => {
        throw boom;
      },
    };
    const run = runPhase(
      [detector("late", () => late.promise), sync, detector("ok", null)],
      0,
      reader,
      {},
      [],
      () => false,
    );
    assert.deepEqual(await state(run), { error: boom });
    late.reject(new Error("second"));
    await state(late.promise);
    assert.deepEqual(await state(run), { error: boom });
  });

  test("a match after a rejection is not collected", async () => {
    const late = deferred<Detection | null>();
    const found: Found[] = [];
    const failure = new Error("x");
    const run = runPhase(
      [detector("late", () => late.promise), detector("bad", () => Promise.reject(failure))],
      0,
      reader,
      {},
      found,
      () => false,
    );
    assert.deepEqual(await state(run), { error: failure });
    late.resolve({ format: "late", problems: [] });
    await state(late.promise);
    assert.deepEqual(found, []);
  });
});
