import fc from "fast-check";
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { escapeControl, redactLocation, redactText, safeText } from "../../src/core/redact.ts";

describe("redaction and escaping of what diskpipe shows", () => {
  it("removes a URL's user name and password and the values of credential parameters", () => {
    assert.equal(redactLocation("https://u:pw@h/x.qcow2"), "https://h/x.qcow2");
    const cases = [
      "X-Amz-Signature",
      "X-Amz-Credential",
      "X-Goog-Signature",
      "sig",
      "token",
      "access_token",
      "refresh_token",
      "client_secret",
      "private_token",
      "api-key",
      "api_key",
      "apikey",
      "auth_token",
      "access-token",
      "jwt",
      "password",
      "key",
    ];
    for (const name of cases) {
      const shown = redactLocation(`https://h/x?${name}=s3cr3t&keep=1`);
      assert.equal(shown.includes("s3cr3t"), false, `${name}: ${shown}`);
      assert.match(shown, /keep=1/);
    }
    assert.equal(redactLocation("https://h/x#access_token=s3cr3t").includes("s3cr3t"), false);
    assert.equal(
      redactLocation("https://h/x?se=2026-01-01&sp=r"),
      "https://h/x?se=2026-01-01&sp=r",
      "an expiry or a permission is not a secret",
    );
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

describe("redactLocation: what counts as a secret, and what is left as written", () => {
  it("replaces each secret value with REDACTED, keeping the rest of the URL", () => {
    assert.equal(
      redactLocation("https://h/x?X-Amz-Signature=ab12&keep=1"),
      "https://h/x?X-Amz-Signature=REDACTED&keep=1",
    );
    assert.equal(
      redactLocation("https://h/x?passwd=a&access_token_2=b&keep=1"),
      "https://h/x?passwd=REDACTED&access_token_2=REDACTED&keep=1",
    );
    assert.equal(redactLocation("https://h/x#token=s3cr3t"), "https://h/x#REDACTED");
  });

  it("removes a user name alone and a password alone", () => {
    assert.equal(redactLocation("https://u@h/x"), "https://h/x");
    assert.equal(redactLocation("https://:pw@h/x"), "https://h/x");
  });

  it("keeps parameters that only contain a keyword or a cloud prefix inside a longer name", () => {
    const kept = "https://h/x?tokenizer=1&monkey=2&prefix-x-amz-date=3&my-x-goog-zone=4";
    assert.equal(redactLocation(kept), kept);
  });

  it("returns a location without secrets exactly as written, unnormalised", () => {
    assert.equal(redactLocation("HTTPS://Example.COM:443/a/./x.qcow2"), "HTTPS://Example.COM:443/a/./x.qcow2");
  });

  it("leaves a local path alone even where the URL parser would read a scheme and a fragment into it", () => {
    assert.equal(redactLocation("C:/Images/disk#key.qcow2"), "C:/Images/disk#key.qcow2");
  });

  it("strips only an unparseable URL's own user:password@, not text further on", () => {
    assert.equal(
      redactLocation("http://[::1/mirror/https://cdn@host/disk.qcow2"),
      "http://[::1/mirror/https://cdn@host/disk.qcow2",
    );
  });
});

describe("escapeControl: escapes as a reader expects them", () => {
  it("names CR and tab, and writes other controls as two hex digits", () => {
    assert.equal(escapeControl("a\rb\tc\u0001d\u007f"), "a\\rb\\tc\\x01d\\x7f");
  });
});

describe("redactText: every URL in running text, in linear time", () => {
  /** The single pattern redactText used before (quadratic on "a.a.a.…"), as the reference. */
  const byPattern = (text: string) =>
    text.replace(/\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>]+/gi, (found) => redactLocation(found));

  it("finds the same URLs as the pattern it replaced", () => {
    const alphabet = [
      "a",
      "Z",
      "1",
      ".",
      "+",
      "-",
      "_",
      ":",
      "/",
      "//",
      "://",
      " ",
      "@",
      "u:p@",
      '"',
      "?k=v",
      "&sig=s",
      "#",
    ];
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...alphabet), { maxLength: 40 }), (parts) => {
        const text = parts.join("");
        assert.equal(redactText(text), byPattern(text));
      }),
      { numRuns: 5000 },
    );
    assert.equal(
      redactText("x https://u:pw@h/a?sig=1 and ftp://h/b"),
      byPattern("x https://u:pw@h/a?sig=1 and ftp://h/b"),
    );
  });

  it("takes linear time on text that looks like many schemes (2 MB of 'a.', then one URL)", { timeout: 10_000 }, () => {
    const text = `${"a.".repeat(1 << 20)} http://u:pw@h/x`;
    assert.ok(redactText(text).endsWith(" http://h/x"));
  });
});
