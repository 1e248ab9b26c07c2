import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { quote } from "../../src/plugin-api.ts";

describe("quote", () => {
  it("quotes as JSON and escapes C0, DEL, C1, separators and bidirectional controls", () => {
    assert.equal(quote("disk\u001b[31m\n"), '"disk\\u001b[31m\\n"');
    assert.equal(
      quote("a\u007fb\u0085c\u009bd\u2028e\u2029f\u202ag\u202eh\u2066i\u2069j"),
      '"a\\u007fb\\u0085c\\u009bd\\u2028e\\u2029f\\u202ag\\u202eh\\u2066i\\u2069j"',
    );
    // What is not a control stays as it is, and the result is still a JSON string.
    assert.equal(quote('d\u00efsk \u00a0\u202f\u2065 "x"\\'), '"d\u00efsk \u00a0\u202f\u2065 \\"x\\"\\\\"');
    const evil = "\u202eevil\u009b\u0000";
    assert.equal(JSON.parse(quote(evil)), evil);
  });

  it("cuts the value to 80 characters, or to the length given", () => {
    assert.equal(quote("x".repeat(80)), `"${"x".repeat(80)}"`);
    assert.equal(quote("x".repeat(81)), `"${"x".repeat(80)}…"`);
    assert.equal(quote("abcdef", 3), '"abc…"');
    assert.equal(quote("abc", 3), '"abc"');
  });
});
