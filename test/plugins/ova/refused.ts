import assert from "node:assert/strict";

/**
 * Asserts that `read(text)` throws a refusal with exactly `code` and `message` (the failure
 * names the input).
 *
 * @example
 * ```ts
 * refusedBy(parseManifest, "SHA256(a)= 00", "ova-manifest-invalid", "…");
 * ```
 */
export function refusedBy(read: (text: string) => unknown, text: string, code: string, message: string): void {
  assert.throws(
    () => read(text),
    (error: Error & { code?: string }) => {
      assert.equal(error.code, code);
      assert.equal(error.message, message);
      return true;
    },
    JSON.stringify(text.slice(0, 80)),
  );
}
