import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DiskpipeError } from "../../src/core/errors.ts";
import { messageFor, parseMessage, specOf, type QueueSpec } from "../../src/queue/message.ts";

const SPEC = { source: "/in/a.vmdk", destination: "/out/a.qcow2", to: "qcow2" };
const CHECKSUM = `sha256:${"0".repeat(64)}`;

/** The usage error `parse` throws: its message (checked for the queue stage and the usage code). */
function refusal(parse: () => unknown): string {
  try {
    parse();
  } catch (error) {
    assert.ok(error instanceof DiskpipeError);
    assert.equal(error.code, "usage");
    return error.message;
  }
  return assert.fail("accepted");
}
const refused = (spec: Record<string, unknown>) => refusal(() => parseMessage({ v: 1, spec: { ...SPEC, ...spec } }));

describe("parseMessage: what a queue writer may ask", () => {
  it("a format name is lower-case letters, digits and dashes, from its first character to its last", () => {
    for (const to of ["qcow2", "0", "vhd-fixed"])
      assert.equal(parseMessage({ v: 1, spec: { ...SPEC, to } }).spec.to, to);
    for (const to of ["-qcow2", "qcow2!", "Qcow2", "qcow2\n", "", "q cow"])
      assert.equal(
        refused({ to }),
        "malformed job: spec.to: a format name is lower-case letters, digits and dashes",
        JSON.stringify(to),
      );
  });

  it("refusals carry the queue stage, for a malformed field and for credentials alike", () => {
    for (const data of [
      { v: 1, spec: { ...SPEC, to: "X" } },
      { v: 1, spec: { ...SPEC, source: "https://u:p@h/a" } },
    ])
      assert.throws(
        () => parseMessage(data),
        (error: DiskpipeError) => error.code === "usage" && error.stage === "queue",
      );
  });

  it("a URL with credentials is refused even when its user and password are empty; a path containing :// and @ is a path", () => {
    for (const source of ["https://@h/a.vmdk", "https://:@h/a.vmdk", "HTTPS://@h/a", "s3+x.y-z://@b/k"])
      assert.equal(
        refused({ source }),
        "malformed job: spec.source: a URL with credentials is not accepted in a queue (give workers their credentials in their configuration)",
        source,
      );
    assert.match(
      refused({ destination: "store://:@b/x" }),
      /^malformed job: spec\.destination: a URL with credentials/,
    );
    for (const source of ["/srv/in/x://y@z.vmdk", "https://h/a@b.vmdk", "https://h/a?x=@y", "https://h/#@y"])
      assert.equal(parseMessage({ v: 1, spec: { ...SPEC, source } }).spec.source, source);
  });

  it("a location of 4096 characters is accepted, one of 4097 refused", () => {
    const at = `/${"x".repeat(4095)}`;
    assert.equal(parseMessage({ v: 1, spec: { ...SPEC, source: at } }).spec.source, at);
    assert.match(refused({ source: `${at}x` }), /^malformed job: spec\.source: /);
  });

  it("prototype keys are unknown keys, refused; nothing reaches a prototype", () => {
    for (const raw of [
      `{"v":1,"spec":{"source":"/a","destination":"/b","to":"raw","__proto__":{"overwrite":true}}}`,
      `{"v":1,"spec":{"source":"/a","destination":"/b","to":"raw","constructor":{"prototype":{"x":1}}}}`,
      `{"v":1,"__proto__":{"v":1},"spec":{"source":"/a","destination":"/b","to":"raw"}}`,
    ])
      assert.match(
        refusal(() => parseMessage(JSON.parse(raw))),
        /^malformed job: (spec|\(root\)): Unrecognized key/,
      );
    assert.equal(({} as { overwrite?: unknown }).overwrite, undefined);
  });

  it("an issue quoting the writer's value is escaped and cut to 200 characters, however long the value", () => {
    const huge = refused({ maxSize: `1${"x".repeat(100_000)}` });
    assert.equal(huge, `malformed job: spec.maxSize: invalid size "1${"x".repeat(184)}…`);
    const escaped = refused({ maxSize: "\u001b".repeat(300) });
    assert.equal(escaped, `malformed job: spec.maxSize: invalid size "${"\\x1b".repeat(46)}\\…`);
    const issue = (key: string) => `Unrecognized key: "${key}"`;
    const key = "k".repeat(200 - issue("").length);
    assert.equal(refused({ [key]: 1 }), `malformed job: spec: ${issue(key)}`, "exactly 200: whole");
    assert.equal(refused({ [`${key}k`]: 1 }), `malformed job: spec: ${issue(key).slice(0, -1)}…`, "201: cut");
  });
});

describe("messageFor: a job as it is queued", () => {
  it("every field a message may carry, undefined ones left out", () => {
    const full: QueueSpec = {
      ...SPEC,
      from: "vmdk",
      container: "ovf",
      checksum: CHECKSUM,
      maxSize: "1K",
      options: { compress: true, subformat: "x", keyId: "k" },
    };
    assert.deepEqual(messageFor(full), { v: 1, spec: { ...full, maxSize: 1024 } });
    assert.deepEqual(messageFor({ ...SPEC, from: undefined, maxSize: undefined, options: { compress: undefined } }), {
      v: 1,
      spec: { ...SPEC, options: {} },
    });
  });

  it("a field a message cannot carry is a usage error naming it; a bad value reads 'cannot queue this job'", () => {
    assert.equal(
      refusal(() => messageFor({ ...SPEC, overwrite: true, signal: 1 } as QueueSpec)),
      "a queued job cannot carry overwrite, signal",
    );
    assert.equal(
      refusal(() => messageFor({ ...SPEC, source: "a.vmdk" })),
      "cannot queue this job: spec.source: an absolute path or a URL (a relative path means nothing to a worker)",
    );
  });
});

describe("specOf: the job a worker runs for a message", () => {
  const signal = new AbortController().signal;

  it("no maxSize and no options when neither the message nor the worker has one", () => {
    assert.deepEqual(specOf(parseMessage({ v: 1, spec: SPEC }), undefined, signal), { ...SPEC, signal });
  });

  it("the message's maxSize without a worker limit, the lower of the two with one, 0 included", () => {
    const message = parseMessage({ v: 1, spec: { ...SPEC, maxSize: 0, options: { subformat: "fixed" } } });
    const spec = specOf(message, 1024, signal);
    assert.deepEqual(spec, { ...SPEC, maxSize: 0, options: { subformat: "fixed" }, signal });
    assert.notEqual(spec.options, message.spec.options, "options are a copy");
    assert.equal(specOf(parseMessage({ v: 1, spec: { ...SPEC, maxSize: 2048 } }), undefined, signal).maxSize, 2048);
    assert.equal(specOf(parseMessage({ v: 1, spec: SPEC }), 4096, signal).maxSize, 4096);
  });
});
