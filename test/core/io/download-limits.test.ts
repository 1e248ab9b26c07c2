import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ImageRejectedError } from "../../../src/core/errors.ts";
import { boundDownload, type SizeBounds } from "../../../src/core/io/download-limits.ts";
import type { HeaderFacts } from "../../../src/core/inspect/types.ts";

const MiB = 1024 * 1024;

/** Bounds that record what they were asked: twice --max-size, and 3 MiB more than a virtual size (none for "raw"). */
function recordingBounds(): SizeBounds & { asked: unknown[][] } {
  const asked: unknown[][] = [];
  return {
    asked,
    maxFileSizeFor: (maxSize) => (asked.push(["for", maxSize]), 2 * maxSize),
    maxFileSizeOf: (format, virtualSize, details) => (
      asked.push(["of", format, virtualSize, details]),
      format === "raw" ? undefined : virtualSize + 3 * MiB
    ),
  };
}

/** What `limit` was given: each bound with the error it would fail with. */
function limits(): { calls: [number, Error][]; limit: (bytes: number, error: () => Error) => void } {
  const calls: [number, Error][] = [];
  return { calls, limit: (bytes, error) => calls.push([bytes, error()]) };
}

/** The one problem of a rejection, with the error's code and stage. */
function rejection(error: Error | undefined): {
  code: string;
  problem: string | undefined;
  stage: string | undefined;
  message: string;
} {
  assert.ok(error instanceof ImageRejectedError);
  assert.equal(error.problems.length, 1);
  return { code: error.code, problem: error.problems[0]?.code, stage: error.stage, message: error.message };
}

describe("download limits", () => {
  it("bounds the download at once to what an image within --max-size can be", () => {
    const bounds = recordingBounds();
    const { calls, limit } = limits();
    boundDownload("https://h/x.img", bounds, 10 * MiB, limit);
    assert.deepEqual(bounds.asked, [["for", 10 * MiB]]);
    assert.equal(calls.length, 1);
    assert.equal(calls[0]?.[0], 20 * MiB);
    const found = rejection(calls[0]?.[1]);
    assert.deepEqual([found.code, found.problem, found.stage], ["image-rejected", "too-large", "fetch"]);
    assert.match(
      found.message,
      /^https:\/\/h\/x\.img rejected: the download passed what an image of at most 10 MiB \(--max-size\) can be$/,
    );
  });

  it("sets no bound before the header without --max-size", () => {
    const bounds = recordingBounds();
    const { calls, limit } = limits();
    boundDownload("u", bounds, undefined, limit);
    assert.deepEqual(calls, []);
    assert.deepEqual(bounds.asked, []);
  });

  it("bounds the download to what the header's format allows for its virtual size", () => {
    const bounds = recordingBounds();
    const { calls, limit } = limits();
    const onHeader = boundDownload("https://h/x.qcow2", bounds, undefined, limit);
    const header: HeaderFacts = { format: "qcow2", virtualSize: 5 * MiB, details: { clusterSize: 65536 } };
    onHeader(header);
    assert.deepEqual(bounds.asked, [["of", "qcow2", 5 * MiB, { clusterSize: 65536 }]]);
    assert.equal(calls[0]?.[0], 8 * MiB);
    const found = rejection(calls[0]?.[1]);
    assert.deepEqual([found.code, found.problem, found.stage], ["image-rejected", "file-too-large", "fetch"]);
    assert.match(
      found.message,
      /^https:\/\/h\/x\.qcow2 rejected: the download passed 8 MiB, more than a 5 MiB qcow2 image can be$/,
    );
  });

  it("sets no bound for a format without one", () => {
    const { calls, limit } = limits();
    boundDownload("u", recordingBounds(), 10 * MiB, limit)({ format: "raw", virtualSize: MiB, details: {} });
    assert.equal(calls.length, 1, "only the --max-size bound");
  });
});
