import assert from "node:assert/strict";
import { readFileSync, statSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createPipeline } from "../../src/create-pipeline.ts";
import { serveDashboard } from "../../src/dashboard/serve-dashboard.ts";
import type { Served } from "../../src/dashboard/serve.ts";
import { defaultConfig } from "../../src/scripting.ts";
import { createSpool, type Spool } from "../../src/spool/spool.ts";
import { tempDir } from "../helpers/images.ts";
import { filesIn, waitFor } from "../spool/helpers.ts";
import { BOUNDARY, CLOSE, MAX_UPLOAD, TYPE, field, fileHead, form, post, postForm } from "./multipart-client.ts";

describe("dashboard upload: multipart forms on the real server (127.0.0.1)", () => {
  const { dir, cleanup } = tempDir("diskpipe-upload-");
  const root = join(dir, "spool");
  let spool: Spool;
  let server: Served;
  const incoming = () => filesIn(root, "incoming/raw");

  before(async () => {
    // Not started: uploads stay in incoming/ to be looked at.
    spool = createSpool({ root, pipeline: createPipeline(await defaultConfig()) });
    server = await serveDashboard({ spool, port: 0, maxUpload: MAX_UPLOAD });
  });
  after(async () => {
    await server.close();
    cleanup();
  });

  it("stores the first file of a form under its file name, or the name field; later files are not read", async () => {
    const data = Buffer.alloc(300_000, 3);
    const plain = await postForm(server.port, form(field("format", " raw "), fileHead("plain.img"), data, CLOSE));
    assert.equal(plain.status, 201, plain.body.error);
    assert.deepEqual(plain.body, { ok: true, path: "incoming/raw/plain.img", bytes: data.length });
    assert.ok(readFileSync(join(root, "incoming/raw/plain.img")).equals(data));

    const named = await postForm(
      server.port,
      form(
        field("format", "raw"),
        field("name", "chosen.img"),
        fileHead("ignored.img"),
        Buffer.from("one"),
        Buffer.from("\r\n"),
        fileHead("second.img"),
        Buffer.from("two"),
        CLOSE,
      ),
    );
    assert.equal(named.status, 201, named.body.error);
    assert.equal(named.body.path, "incoming/raw/chosen.img");
    assert.equal(readFileSync(join(root, "incoming/raw/chosen.img"), "utf8"), "one");
    assert.deepEqual(incoming(), ["chosen.img", "plain.img"], "one file per form");

    const quoted = await postForm(
      server.port,
      form(field("format", "raw"), fileHead("say %22hi%22.img"), Buffer.from("q"), CLOSE),
    );
    assert.equal(quoted.body.path, 'incoming/raw/say "hi".img', "a browser's %22 is a quote again");
  });

  it("streams: the file grows on disk while the request is still being sent", async () => {
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    const megabyte = Buffer.alloc(1024 * 1024, 5);
    async function* body() {
      yield form(field("format", "raw"), fileHead("streamed.img"));
      for (let i = 0; i < 3; i++) yield megabyte;
      await held;
      for (let i = 0; i < 3; i++) yield megabyte;
      yield CLOSE;
    }
    const answer = post(server.port, { "content-type": TYPE }, body());
    const partial = await waitFor(() => {
      const part = incoming().find((name) => name.startsWith(".streamed.img.") && name.endsWith(".part"));
      return part && statSync(join(root, "incoming/raw", part)).size >= 2 * 1024 * 1024 ? part : undefined;
    }, "the partial file to hold 2 MiB before the rest is sent");
    assert.ok(partial);
    release();
    const done = await answer;
    assert.equal(done.status, 201, done.body.error);
    assert.equal(statSync(join(root, "incoming/raw/streamed.img")).size, 6 * 1024 * 1024);
  });

  it("takes a file name and a name field of 255 bytes (multi-byte); one byte more is refused", async () => {
    const name = `${"x".repeat(7)}${"ü日😀".repeat(27)}.img`;
    assert.equal(Buffer.byteLength(name), 254);
    const atLimit = `y${name}`;
    const byFile = await postForm(
      server.port,
      form(field("format", "raw"), fileHead(atLimit), Buffer.from("a"), CLOSE),
    );
    assert.equal(byFile.status, 201, byFile.body.error);
    assert.equal(byFile.body.path, `incoming/raw/${atLimit}`);
    const byField = await postForm(
      server.port,
      form(field("format", "raw"), field("name", `z${name}`), fileHead("x.img"), Buffer.from("b"), CLOSE),
    );
    assert.equal(byField.status, 201, byField.body.error);
    assert.equal(readFileSync(join(root, "incoming/raw", `z${name}`), "utf8"), "b");
    const over = await postForm(
      server.port,
      form(field("format", "raw"), fileHead(`yy${name}`), Buffer.from("c"), CLOSE),
    );
    assert.equal(over.status, 400);
    assert.match(over.body.error ?? "", /plain name/);
  });

  it("takes a field name of 100 bytes and refuses 101, a field value over 1 KiB, and a 64 KiB file name, storing nothing", async () => {
    const before = incoming();
    const atLimit = await postForm(
      server.port,
      form(field("n".repeat(100), "x"), field("format", "raw"), fileHead("fieldname.img"), Buffer.from("f"), CLOSE),
    );
    assert.equal(atLimit.status, 201, atLimit.body.error);
    const longName = await postForm(
      server.port,
      form(field("n".repeat(101), "x"), field("format", "raw"), fileHead("no.img"), Buffer.from("f"), CLOSE),
    );
    assert.deepEqual(longName, { status: 400, body: { error: "a form field name is longer than 100 bytes" } });
    const longValue = await postForm(
      server.port,
      form(field("format", "r".repeat(1025)), fileHead("no.img"), Buffer.from("f"), CLOSE),
    );
    assert.deepEqual(longValue, { status: 400, body: { error: "form field format is too long" } });
    const hugeFilename = await postForm(
      server.port,
      form(field("format", "raw"), fileHead(`${"h".repeat(64 * 1024)}.img`), Buffer.from("f"), CLOSE),
    );
    assert.equal(hugeFilename.status, 400);
    assert.deepEqual(incoming(), [...before, "fieldname.img"].sort());
  });

  it("refuses many parts: more than 16 fields, or a flood of parts without a disposition", async () => {
    const fields = Array.from({ length: 17 }, (_, i) => field(`f${i}`, "v"));
    const many = await postForm(
      server.port,
      form(...fields, field("format", "raw"), fileHead("no.img"), Buffer.from("f"), CLOSE),
    );
    assert.deepEqual(many, { status: 400, body: { error: "the form has more than 16 fields before the file" } });
    const junk = Buffer.from(`--${BOUNDARY}\r\nX-Junk: 1\r\n\r\nzz\r\n`);
    const flood = await postForm(
      server.port,
      form(
        ...Array.from({ length: 5000 }, () => junk),
        field("format", "raw"),
        fileHead("no.img"),
        Buffer.from("f"),
        CLOSE,
      ),
    );
    assert.deepEqual(flood, { status: 400, body: { error: "the form has more than 17 parts" } });
    const noDisposition = await postForm(
      server.port,
      form(
        Buffer.from(
          `--${BOUNDARY}\r\n${"X-Pad: ".padEnd(200 * 1024, "p")}\r\nContent-Disposition: form-data; name="file"; filename="cut.img"\r\n\r\nf`,
        ),
        CLOSE,
      ),
    );
    assert.deepEqual(
      noDisposition,
      { status: 400, body: { error: "the form has no file" } },
      "part headers are cut at 16 KiB",
    );
  });

  it("refuses an oversized file part (413) with no length announced, and removes the partial file", async () => {
    const before = incoming();
    async function* body() {
      yield form(field("format", "raw"), fileHead("big.img"));
      for (let i = 0; i < MAX_UPLOAD / (256 * 1024) + 1; i++) yield Buffer.alloc(256 * 1024, 1);
      yield CLOSE;
    }
    const answer = await post(server.port, { "content-type": TYPE }, body());
    assert.deepEqual(answer, { status: 413, body: { error: `upload larger than ${MAX_UPLOAD} bytes` } });
    assert.deepEqual(
      await waitFor(() => (incoming().length === before.length ? incoming() : undefined), "the partial file to go"),
      before,
    );
  });

  it("refuses a missing or over-long boundary, and a body that never shows its boundary", async () => {
    const body = form(field("format", "raw"), fileHead("no.img"), Buffer.from("f"), CLOSE);
    assert.deepEqual(await postForm(server.port, body, "multipart/form-data"), {
      status: 400,
      body: { error: "the multipart/form-data content type has no boundary" },
    });
    assert.deepEqual(await postForm(server.port, body, `multipart/form-data; boundary=${"b".repeat(71)}`), {
      status: 400,
      body: { error: "the multipart boundary is longer than 70 characters" },
    });
    assert.deepEqual(await postForm(server.port, body, "multipart/form-data; boundary=elsewhere"), {
      status: 400,
      body: { error: "the multipart body ended early" },
    });
    assert.deepEqual(await postForm(server.port, Buffer.alloc(0)), {
      status: 400,
      body: { error: "the multipart body ended early" },
    });
  });

  it("refuses a body cut short inside the file or before it, leaving no partial file", async () => {
    const before = incoming();
    const inFile = await postForm(
      server.port,
      form(field("format", "raw"), fileHead("cut.img"), Buffer.alloc(100_000, 9)),
    );
    assert.deepEqual(inFile, { status: 400, body: { error: "the multipart body ended early" } });
    const inHeaders = await postForm(
      server.port,
      form(field("format", "raw"), Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-da`)),
    );
    assert.deepEqual(inHeaders, { status: 400, body: { error: "the multipart body ended early" } });
    assert.deepEqual(incoming(), before);
  });

  it("a client that hangs up mid-file leaves no partial file, and the server goes on answering", async () => {
    const before = incoming();
    const head = form(field("format", "raw"), fileHead("hangup.img"));
    const socket = connect(server.port, "127.0.0.1");
    await new Promise((resolve) => socket.once("connect", resolve));
    socket.write(
      `POST /upload HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nContent-Type: ${TYPE}\r\nContent-Length: ${4 * 1024 * 1024}\r\n\r\n`,
    );
    socket.write(head);
    socket.write(Buffer.alloc(1024 * 1024, 2));
    await waitFor(() => incoming().some((name) => name.startsWith(".hangup.img.")), "the partial file to appear");
    socket.destroy();
    await waitFor(() => (incoming().length === before.length ? true : undefined), "the partial file to be removed");
    const next = await postForm(
      server.port,
      form(field("format", "raw"), fileHead("after.img"), Buffer.from("ok"), CLOSE),
    );
    assert.equal(next.status, 201, next.body.error);
  });
});
