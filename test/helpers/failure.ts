import assert from "node:assert/strict";
import { isDiskpipeError, type DiskpipeError } from "../../src/core/errors.ts";

/** One mebibyte. */
export const MiB = 1024 * 1024;

/** Awaits work that must fail with a DiskpipeError, and returns that error for more assertions. */
export async function failure(work: Promise<unknown>): Promise<DiskpipeError> {
  try {
    await work;
  } catch (error) {
    assert.ok(isDiskpipeError(error), `expected a DiskpipeError, got ${String(error)}`);
    return error;
  }
  assert.fail("expected the job to fail");
}
