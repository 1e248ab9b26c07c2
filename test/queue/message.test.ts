import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { checkAllowed } from "../../src/queue/allow.ts";
import { failedReasonOf, failureOf } from "../../src/queue/failure.ts";
import { jobIdFor } from "../../src/queue/job-id.ts";
import { messageFor, parseMessage, specOf } from "../../src/queue/message.ts";
import { DiskpipeError } from "../../src/core/errors.ts";
import { resolveConfig } from "../../src/core/config.ts";
import { checkQueueUrl, queueLabel } from "../../src/queue/connection.ts";
import { queueSettings } from "../../src/queue/settings.ts";

const spec = { source: "https://images.example.com/a.vmdk", destination: "/srv/out/a.qcow2", to: "qcow2" };

describe("queue messages: hostile input validated, nothing the operator sets can be overridden", () => {
  it("a valid message passes; unknown keys, relative paths, control characters and security options fail with usage naming the field", () => {
    assert.deepEqual(parseMessage({ v: 1, spec }).spec, spec);
    const compressed = { ...spec, options: { compress: true, subformat: "x" } };
    assert.deepEqual(parseMessage({ v: 1, spec: compressed }).spec, compressed);
    const bad: Array<[unknown, RegExp]> = [
      [{ v: 2, spec }, /^malformed job: v:/],
      [{ v: 1, spec: { ...spec, source: "a.vmdk" } }, /spec\.source: an absolute path or a URL/],
      [{ v: 1, spec: { ...spec, destination: "/srv/out/a\n.qcow2" } }, /spec\.destination: control characters/],
      [{ v: 1, spec: { ...spec, overwrite: true } }, /spec: Unrecognized key/],
      [{ v: 1, spec: { ...spec, options: { passphraseFile: "/etc/shadow" } } }, /spec\.options: Unrecognized key/],
      [{ v: 1, spec: { ...spec, options: { compress: "zstd" } } }, /spec\.options\.compress: Invalid input/],
      [{ v: 1, spec: { ...spec, source: "https://u:pw@h/a.vmdk" } }, /spec\.source: a URL with credentials/],
      [
        { v: 1, spec: { ...spec, source: "https://h/a.vmdk?X-Amz-Signature=abc" } },
        /spec\.source: a URL with credentials/,
      ],
      ["not an object", /^malformed job: \(root\)/],
    ];
    for (const [data, pattern] of bad) {
      assert.throws(
        () => parseMessage(data),
        (error: DiskpipeError) =>
          error.code === "usage" &&
          pattern.test(error.message) &&
          !error.message.includes("pw@") &&
          !error.message.includes("/etc/shadow"),
      );
    }
  });

  it("a message's maxSize only lowers the worker's", () => {
    const signal = new AbortController().signal;
    assert.equal(specOf(parseMessage({ v: 1, spec: { ...spec, maxSize: "1T" } }), 1024, signal).maxSize, 1024);
    assert.equal(specOf(parseMessage({ v: 1, spec: { ...spec, maxSize: "1K" } }), 1 << 30, signal).maxSize, 1024);
    assert.equal(specOf(parseMessage({ v: 1, spec }), undefined, signal).maxSize, undefined);
  });

  it("job ids: the same job in any key order gives the same id, another job another; an explicit id is checked", () => {
    const a = jobIdFor(messageFor(spec));
    assert.match(a, /^dp-[0-9a-f]{24}$/);
    assert.equal(jobIdFor(messageFor({ to: "qcow2", destination: spec.destination, source: spec.source })), a);
    assert.notEqual(jobIdFor(messageFor({ ...spec, to: "raw" })), a);
    assert.equal(jobIdFor(messageFor(spec), "vm-0042"), "vm-0042");
    assert.throws(() => jobIdFor(messageFor(spec), "42"), /a letter, then/);
    assert.throws(() => jobIdFor(messageFor(spec), "a/b"), /a letter, then/);
  });
});

describe("the worker's allow-list", () => {
  it("without one: http(s) and store:// except loopback and link-local hosts; no local path", () => {
    checkAllowed("https://images.example.com/a.vmdk", "source", undefined, "w");
    checkAllowed("store://images/42", "destination", undefined, "w");
    for (const refused of [
      "http://127.0.0.1/a",
      "http://169.254.169.254/latest",
      "http://localhost:8080/x",
      "ftp://h/a",
      "/srv/a.vmdk",
    ]) {
      assert.throws(
        () => checkAllowed(refused, "source", undefined, "w1"),
        (error: DiskpipeError) => error.code === "usage" && /^worker w1 does not accept the source/.test(error.message),
      );
    }
  });

  it("with one: directories (and below, in normal form) and origins, wildcards without a port", () => {
    const allow = { sources: ["/srv/in", "https://*.example.com", "http://10.0.0.5:8080"] };
    checkAllowed("/srv/in/a.vmdk", "source", allow, "w");
    checkAllowed("/srv/in/deep/a.vmdk", "source", allow, "w");
    checkAllowed("https://cdn.example.com/a", "source", allow, "w");
    checkAllowed("http://10.0.0.5:8080/a", "source", allow, "w");
    for (const refused of [
      "/srv/input/a",
      "/srv/in/../etc/passwd",
      "/srv/in/./a",
      "https://example.com.evil/a",
      "https://cdn.example.com:8443/a",
      "http://10.0.0.5/a",
      "https://10.0.0.5:8080/a",
    ]) {
      assert.throws(() => checkAllowed(refused, "source", allow, "w"), /does not accept/, refused);
    }
    assert.throws(() => checkAllowed("/srv/in/a", "destination", allow, "w"), /does not accept the destination/);
  });
});

describe("failures through the queue keep their code", () => {
  it("a failed reason is MESSAGE [CODE] and reads back as the same code and exit code", () => {
    const reason = failedReasonOf(new DiskpipeError("checksum-mismatch", "a.vmdk does not match"));
    assert.equal(reason, "a.vmdk does not match [checksum-mismatch]");
    assert.equal(failureOf(reason).exitCode, 3);
    assert.equal(failureOf("something else").code, "io-failed");
    assert.equal(failureOf("bad [no-such-code]").code, "io-failed");
  });
});

describe("queue URLs", () => {
  it("are redis:// or rediss://, shown without their password; the URL comes from the flag, then DISKPIPE_QUEUE, then the configuration", () => {
    assert.equal(queueLabel("rediss://:s3cret@q.internal:6380/2"), "rediss://q.internal:6380/2");
    checkQueueUrl("rediss://:s3cret@q.internal:6380");
    assert.throws(
      () => checkQueueUrl("http://:s3cret@q"),
      (error: DiskpipeError) => error.code === "usage" && !error.message.includes("s3cret"),
    );
    assert.equal(
      queueSettings("redis://flag", { url: "redis://config" }, { DISKPIPE_QUEUE: "redis://env" }).url,
      "redis://flag",
    );
    assert.equal(
      queueSettings(undefined, { url: "redis://config" }, { DISKPIPE_QUEUE: "redis://env" }).url,
      "redis://env",
    );
    assert.deepEqual(queueSettings(undefined, { url: "redis://config", name: "imports" }, {}), {
      url: "redis://config",
      queueName: "imports",
    });
    assert.throws(() => queueSettings(undefined, undefined, {}), /no queue/);
  });

  it("the configuration's queue section is validated: a bad URL, an unknown key or a relative allow entry is config-invalid", () => {
    assert.equal(
      resolveConfig({ queue: { url: "rediss://:pw@q:6380", allow: { sources: ["/srv/in", "https://*.example.com"] } } })
        .queue?.url,
      "rediss://:pw@q:6380",
    );
    for (const queue of [
      { url: "http://q" },
      { url: "redis://q", retries: 2 },
      { allow: { sources: ["in"] } },
      { attempts: 0 },
    ]) {
      assert.throws(
        () => resolveConfig({ queue }),
        (error: DiskpipeError) => error.code === "config-invalid" && /queue/.test(error.message),
      );
    }
  });
});
