import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { escapeControl, redactLocation, redactText, safeText } from "../../src/core/redact.ts";

describe("redaction and escaping of what diskpipe shows", () => {
  it("removes a URL's user name and password and the values of credential parameters", () => {
    assert.equal(redactLocation("https://u:pw@h/x.qcow2"), "https://h/x.qcow2");
    const cases = ["X-Amz-Signature", "X-Amz-Credential", "X-Goog-Signature", "sig", "token", "access_token", "refresh_token", "client_secret", "private_token", "api-key", "api_key", "apikey", "auth_token", "access-token", "jwt", "password", "key"];
    for (const name of cases) {
      const shown = redactLocation(`https://h/x?${name}=s3cr3t&keep=1`);
      assert.equal(shown.includes("s3cr3t"), false, `${name}: ${shown}`);
      assert.match(shown, /keep=1/);
    }
    assert.equal(redactLocation("https://h/x#access_token=s3cr3t").includes("s3cr3t"), false);
    assert.equal(redactLocation("https://h/x?se=2026-01-01&sp=r"), "https://h/x?se=2026-01-01&sp=r", "an expiry or a permission is not a secret");
    assert.equal(redactLocation("/srv/images/disk.qcow2"), "/srv/images/disk.qcow2");
  });

  it("never recurses on a URL the parser refuses, and still strips its user:password@", () => {
    assert.equal(redactText("see http://a:b"), "see http://a:b");
    assert.equal(safeText("extent http://a:b"), "extent http://a:b");
    assert.equal(redactText("GET http://u:pw@[::1/x failed"), "GET http://[::1/x failed");
  });

  it("escapes C0, DEL, C1, line separators and bidirectional overrides", () => {
    assert.equal(escapeControl("a\nb\u001b[31m\u0085\u2028\u202e\u2066"), "a\\nb\\x1b[31m\\x85\\u2028\\u202e\\u2066");
    assert.equal(escapeControl("plain text, ünïcode ✓"), "plain text, ünïcode ✓");
  });
});
