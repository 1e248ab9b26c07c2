import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { ImageRejectedError, type Problem } from "../../../src/core/errors.ts";
import { rejectUnsafe } from "../../../src/core/inspect/reject-unsafe.ts";
import type { InspectResult } from "../../../src/core/inspect/types.ts";
import { failure } from "../../helpers/failure.ts";
import { inspectFile } from "../../helpers/inspect.ts";
import { makeBackedQcow2, tempDir } from "../../helpers/images.ts";

const SIZE = 2 * 1024 * 1024;

describe("rejectUnsafe: the error that refuses an image", () => {
  const { dir, cleanup } = tempDir();
  after(cleanup);

  const unsafe = (problems: Problem[]): InspectResult => ({
    format: "qcow2",
    virtualSize: SIZE,
    actualSize: SIZE,
    safe: false,
    problems,
    matches: ["qcow2"],
    details: {},
  });

  it("lets a safe result through", () => {
    assert.equal(rejectUnsafe({ ...unsafe([]), safe: true }, "disk.qcow2"), undefined);
  });

  it("names each problem's code after its message, except the code the error itself carries", async () => {
    const problems = [
      { code: "format-mismatch", message: "the image was claimed to be raw but is qcow2" },
      { code: "qcow2-backing-file", message: "qcow2 names a backing file" },
    ];
    const error = await failure(Promise.resolve().then(() => rejectUnsafe(unsafe(problems), "disk.img")));
    assert.ok(error instanceof ImageRejectedError);
    assert.equal(error.code, "format-mismatch");
    assert.equal(error.exitCode, 3);
    assert.equal(error.stage, "inspect");
    assert.equal(
      error.message,
      "disk.img rejected: the image was claimed to be raw but is qcow2; qcow2 names a backing file [qcow2-backing-file]",
    );
    assert.deepEqual(error.problems, problems);
  });

  it("an image-rejected error names every problem's code", async () => {
    const problems = [{ code: "too-large", message: "virtual size 2 exceeds the limit of 1 bytes" }];
    const error = await failure(Promise.resolve().then(() => rejectUnsafe(unsafe(problems), "big.qcow2")));
    assert.equal(error.code, "image-rejected");
    assert.equal(error.stage, "inspect");
    assert.equal(error.message, "big.qcow2 rejected: virtual size 2 exceeds the limit of 1 bytes [too-large]");
  });

  it("says the stage it is given (a container plugin's unpack)", async () => {
    const problems = [{ code: "too-large", message: "virtual size 2 exceeds the limit of 1 bytes" }];
    const error = await failure(Promise.resolve().then(() => rejectUnsafe(unsafe(problems), "big.qcow2", "unpack")));
    assert.equal(error.stage, "unpack");
    assert.equal(error.code, "image-rejected");
  });

  it("refuses a real backed qcow2 claimed as raw with both findings", async () => {
    const result = await inspectFile(makeBackedQcow2(dir), { claimed: "raw" });
    const error = await failure(Promise.resolve().then(() => rejectUnsafe(result, "evil.qcow2")));
    assert.equal(error.code, "format-mismatch");
    assert.equal(
      error.message,
      "evil.qcow2 rejected: qcow2 names a backing file, which qemu-img would open from the host [qcow2-backing-file]; the image was claimed to be raw but is qcow2 (v3)",
    );
  });
});
