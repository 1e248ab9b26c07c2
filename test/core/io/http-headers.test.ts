import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { contentLength, parseContentRange, strongValidator } from "../../../src/core/io/http-headers.ts";

describe("http headers", () => {
  it("parses a Content-Range with a total or *, around spaces", () => {
    assert.deepEqual(parseContentRange("bytes 100-199/1000"), { start: 100, end: 199, total: 1000 });
    assert.deepEqual(parseContentRange("  bytes 0-0/1 "), { start: 0, end: 0, total: 1 });
    assert.deepEqual(parseContentRange("bytes 5-9/*"), { start: 5, end: 9 });
    assert.equal("total" in (parseContentRange("bytes 5-9/*") ?? {}), false);
  });

  it("refuses anything else as a Content-Range", () => {
    for (const header of [
      undefined,
      "",
      "bytes 1-2",
      "bytes */100",
      "items 1-2/3",
      "bytes -1-2/3",
      "bytes 1-2/3x",
      "xbytes 1-2/3",
      "bytes 1-2/3/4",
      "bytes 1.5-2/3",
      "bytes  1-2/3",
    ]) {
      assert.equal(parseContentRange(header), undefined, String(header));
    }
  });

  it("takes a Content-Length of digits only", () => {
    assert.equal(contentLength("0"), 0);
    assert.equal(contentLength("1234"), 1234);
    for (const header of [undefined, "", "-1", "1e3", " 12", "12 ", "0x10", "1,2", "12a"])
      assert.equal(contentLength(header), undefined, String(header));
  });

  it("keeps strong ETags only", () => {
    assert.equal(strongValidator('"abc"'), '"abc"');
    assert.equal(strongValidator('xW/"abc"'), 'xW/"abc"');
    assert.equal(strongValidator('W/"abc"'), undefined);
    assert.equal(strongValidator(""), undefined);
    assert.equal(strongValidator(undefined), undefined);
  });
});
