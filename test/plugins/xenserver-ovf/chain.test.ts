import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { validateChain } from "../../../src/plugins/xenserver-ovf/chain.ts";
import { ChainRejection } from "../../../src/plugins/xenserver-ovf/rejection.ts";
import type { VhdInfo } from "../../../src/plugins/xenserver-ovf/vhd.ts";

const id = (n: number) => `00000000-0000-0000-0000-${String(n).padStart(12, "0")}`;
const disk = (label: string, over: Partial<VhdInfo>): VhdInfo => ({
  label,
  type: "differencing",
  size: 1 << 20,
  uniqueId: id(0),
  creatorApp: "tap",
  ...over,
});

function rejects(members: VhdInfo[], pattern: RegExp): void {
  assert.throws(
    () => validateChain(members),
    (error: unknown) => error instanceof ChainRejection && error.code === "vhd-chain" && pattern.test(error.message),
  );
}

describe("validateChain", () => {
  const base = disk("2.vhd", { type: "dynamic", uniqueId: id(2) });
  const middle = disk("1.vhd", { uniqueId: id(1), parentId: id(2) });
  const leaf = disk("0.vhd", { uniqueId: id(0), parentId: id(1) });

  it("accepts a sound chain and a lone base", () => {
    validateChain([leaf, middle, base]);
    validateChain([{ ...base, type: "fixed" }]);
  });

  it("rejects an empty chain", () => rejects([], /no VHD/));
  it("rejects a parent id that is not the next member's id", () =>
    rejects([{ ...leaf, parentId: id(9) }, middle, base], /^0\.vhd: its parent is .*9.*1\.vhd is/));
  it("rejects a differencing base", () =>
    rejects([leaf, middle], /^1\.vhd: the base of the chain is a differencing disk/));
  it("rejects a dynamic disk above the base", () =>
    rejects([leaf, { ...middle, type: "dynamic" }, base], /^1\.vhd: a dynamic disk can only be the base/));
  it("rejects differing sizes", () => rejects([{ ...leaf, size: 2 << 20 }, middle, base], /^0\.vhd: virtual size/));
  it("rejects a repeated unique id", () =>
    rejects([{ ...leaf, uniqueId: id(2), parentId: id(1) }, middle, base], /^2\.vhd: unique id .* repeats 0\.vhd/));
});
