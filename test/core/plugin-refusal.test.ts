import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { PluginRefusal } from "../../src/core/plugin-refusal.ts";
import { Refusal } from "../../src/plugins/compressed/refusal.ts";
import { ChainRejection } from "../../src/plugins/xenserver-ovf/rejection.ts";

describe("PluginRefusal", () => {
  it("keeps its code and message, is named after the plugin's subclass, and each plugin's checks see only its own", () => {
    const refusal = new Refusal("truncated", "the stream is cut short");
    assert.equal(refusal.code, "truncated");
    assert.equal(refusal.message, "the stream is cut short");
    assert.equal(refusal.name, "Refusal");
    assert.ok(refusal instanceof PluginRefusal && refusal instanceof Error);
    const chain = new ChainRejection("vhd-chain", "1.vhd is not the parent of 0.vhd");
    assert.equal(chain.name, "ChainRejection");
    assert.ok(!(chain instanceof Refusal), "a compressed-plugin check does not take the XenServer plugin's refusal");
  });
});
