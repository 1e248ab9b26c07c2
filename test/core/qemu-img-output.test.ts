import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { DiskpipeError } from "../../src/core/errors.ts";
import { mapSchema, measureSchema, parseJson, qemuInfoSchema } from "../../src/core/qemu-img-output.ts";

/** The error parseJson throws for `text` against `schema`. */
function refusal(schema: Parameters<typeof parseJson>[0], text: string): DiskpipeError {
  try {
    parseJson(schema, text, "info");
  } catch (error) {
    return error as DiskpipeError;
  }
  throw new Error(`parseJson accepted ${text}`);
}

describe("qemu-img output: validated before use", () => {
  it("parseJson: what is not JSON, or not the expected shape, is a qemu-img-failed error naming the command", () => {
    const notJson = refusal(qemuInfoSchema(), "qemu-img: oops");
    assert.equal(notJson.code, "qemu-img-failed");
    assert.equal(notJson.message, "qemu-img info printed something that is not JSON");
    const shape = refusal(qemuInfoSchema(), JSON.stringify({ format: "qcow2" }));
    assert.equal(shape.code, "qemu-img-failed");
    assert.match(shape.message, /^qemu-img info output was not as expected: .*virtual-size/s);
  });

  it("info: sizes are whole and not negative; the fields diskpipe reads are typed; other fields are kept", () => {
    const info = parseJson(
      qemuInfoSchema(),
      JSON.stringify({
        format: "qcow2",
        "virtual-size": 1024,
        "backing-filename": "/etc/passwd",
        extra: 1,
        "format-specific": { type: "qcow2", data: { "data-file": "/x" } },
      }),
      "info",
    );
    assert.equal(info["backing-filename"], "/etc/passwd");
    assert.equal(info["format-specific"]?.data?.["data-file"], "/x");
    assert.equal((info as Record<string, unknown>).extra, 1);
    for (const bad of [
      { "virtual-size": -1 },
      { "virtual-size": 1.5 },
      { "virtual-size": "1" },
      { "virtual-size": 1, "actual-size": -1 },
      { "virtual-size": 1, "backing-filename": 7 },
      { "virtual-size": 1, "dirty-flag": "yes" },
      { "virtual-size": 1, "format-specific": { data: {} } },
      { "virtual-size": 1, "format-specific": { type: "vmdk", data: { "create-type": 3 } } },
    ]) {
      assert.equal(
        refusal(qemuInfoSchema(), JSON.stringify({ format: "raw", ...bad })).code,
        "qemu-img-failed",
        JSON.stringify(bad),
      );
    }
  });

  it("measure: both sizes required, whole and not negative", () => {
    assert.deepEqual(parseJson(measureSchema(), '{"required":1,"fully-allocated":2}', "measure"), {
      required: 1,
      "fully-allocated": 2,
    });
    for (const bad of [
      '{"required":1}',
      '{"required":-1,"fully-allocated":2}',
      '{"required":1,"fully-allocated":2.5}',
    ]) {
      assert.equal(refusal(measureSchema(), bad).code, "qemu-img-failed", bad);
    }
  });

  it("map: an array of extents with whole offsets and lengths and boolean data/zero", () => {
    const extents = parseJson(mapSchema(), '[{"start":0,"length":512,"data":true,"zero":false,"depth":0}]', "map");
    assert.equal(extents.length, 1);
    for (const bad of [
      '{"start":0}',
      '[{"start":-1,"length":1,"data":true,"zero":false}]',
      '[{"start":0,"length":1,"data":"yes","zero":false}]',
      '[{"start":0,"length":1,"data":true}]',
    ]) {
      assert.equal(refusal(mapSchema(), bad).code, "qemu-img-failed", bad);
    }
  });
});
