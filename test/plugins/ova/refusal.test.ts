import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { PluginRefusal } from "../../../src/plugin-api.ts";
import { OVA_PROBLEM_CODES, OvaRefusal } from "../../../src/plugins/ova/refusal.ts";

describe("OvaRefusal", () => {
  it("lists the plugin's problem codes, which scripts match on", () => {
    assert.deepEqual(OVA_PROBLEM_CODES, [
      "ova-descriptor-invalid",
      "ova-manifest-invalid",
      "ova-href-unsafe",
      "ova-unsupported",
      "archive-entry",
      "truncated",
      "disk-too-large",
      "decompression-bomb",
      "checksum-mismatch",
      "ovf-files",
    ]);
  });

  it("is a plugin refusal with its code and message", () => {
    const refusal = new OvaRefusal("truncated", "the archive is cut short");
    assert.ok(refusal instanceof PluginRefusal);
    assert.equal(refusal.code, "truncated");
    assert.equal(refusal.message, "the archive is cut short");
  });
});
