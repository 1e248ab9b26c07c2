import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { checkExamples, formatProblem } from "../scripts/check-examples.mjs";

describe("the @example blocks under src/", () => {
  it("type-check, sit on public exports only, and every exported function, class and non-data const of the public API's modules has one", () => {
    const { problems, examples } = checkExamples();
    assert.ok(examples > 0, "no @example block found under src/");
    assert.equal(
      problems.length,
      0,
      `${problems.length} problem(s) with @example blocks (node scripts/check-examples.mjs):\n${problems.map(formatProblem).join("\n")}`,
    );
  });
});
