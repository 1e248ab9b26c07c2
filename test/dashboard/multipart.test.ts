import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isMultipartForm, MultipartError, readFormUpToFile, type FormLimits } from "../../src/dashboard/multipart.ts";

const BOUNDARY = "b0undary";
const TYPE = `multipart/form-data; boundary="${BOUNDARY}"`;
const LIMITS: FormLimits = { fields: 4, fieldBytes: 64, fieldNameBytes: 16, headerBytes: 1024 };
const field = (name: string, value: string) =>
  `--${BOUNDARY}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
const fileHead = (filename: string) =>
  `--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="${filename}"\r\n\r\n`;

/** A body served in `pieces`, counting how many were pulled. */
function bodyOf(pieces: (string | Uint8Array)[]): { body: ReadableStream<Uint8Array>; pulled: () => number } {
  let next = 0;
  const body = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (next >= pieces.length) return controller.close();
        const piece = pieces[next++];
        controller.enqueue(typeof piece === "string" ? new TextEncoder().encode(piece) : piece);
      },
    },
    { highWaterMark: 0 },
  );
  return { body, pulled: () => next };
}

async function drain(content: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<number> {
  let bytes = 0;
  for await (const chunk of content) bytes += chunk.byteLength;
  return bytes;
}

describe("readFormUpToFile (@fastify/busboy underneath)", () => {
  it("refuses a file cut short by the end of the body even when its reader starts late", async () => {
    const { body } = bodyOf([field("format", "raw"), fileHead("cut.img"), new Uint8Array(1000)]);
    const form = await readFormUpToFile(body, TYPE, LIMITS);
    try {
      assert.ok(form.file);
      // By now busboy has seen the end of the body, reported it on the file's stream and ended it.
      await new Promise((resolve) => setTimeout(resolve, 50));
      await assert.rejects(
        drain(form.file.content),
        (error: unknown) => error instanceof MultipartError && error.message === "the multipart body ended early",
      );
    } finally {
      form.close();
    }
  });

  it("ends a file's content only once the form's closing boundary was read", async () => {
    const { body } = bodyOf([fileHead("whole.img"), new Uint8Array(10).fill(1), `\r\n--${BOUNDARY}--\r\n`]);
    const form = await readFormUpToFile(body, TYPE, LIMITS);
    try {
      assert.equal(await drain(form.file?.content ?? []), 10);
    } finally {
      form.close();
    }
  });

  it("knows a form/data content type, with or without parameters", () => {
    assert.equal(isMultipartForm("multipart/form-data; boundary=x"), true);
    assert.equal(isMultipartForm("Multipart/Form-Data"), true);
    assert.equal(isMultipartForm("multipart/mixed; boundary=x"), false);
    assert.equal(isMultipartForm("application/octet-stream"), false);
    assert.equal(isMultipartForm(undefined), false);
  });

  it("gives the fields before the file (a repeated one: the last), then the file; the file field's text is not a field", async () => {
    const { body } = bodyOf([
      field("format", "qcow2"),
      field("format", "raw"),
      field("note", "ü"),
      fileHead("a.img"),
      "data",
      `\r\n--${BOUNDARY}--\r\n`,
    ]);
    const form = await readFormUpToFile(body, TYPE, LIMITS);
    try {
      assert.deepEqual(
        [...form.fields],
        [
          ["format", "raw"],
          ["note", "ü"],
        ],
      );
      assert.equal(form.file?.field, "file");
      assert.equal(form.file?.filename, "a.img");
      assert.equal(await drain(form.file?.content ?? []), 4);
    } finally {
      form.close();
    }
  });

  it("reads the body only as fast as the file is consumed", async () => {
    const chunk = new Uint8Array(64 * 1024).fill(1);
    const { body, pulled } = bodyOf([
      fileHead("big.img"),
      ...Array.from({ length: 400 }, () => chunk),
      `\r\n--${BOUNDARY}--\r\n`,
    ]);
    const form = await readFormUpToFile(body, TYPE, LIMITS);
    try {
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.ok(pulled() < 20, `pulled ${pulled()} of 402 pieces before the file was read`);
      assert.equal(await drain(form.file?.content ?? []), 400 * chunk.length);
      assert.equal(pulled(), 402);
    } finally {
      form.close();
    }
  });

  it("ends without a file when the form has none", async () => {
    const form = await readFormUpToFile(bodyOf([field("format", "raw"), `--${BOUNDARY}--\r\n`]).body, TYPE, LIMITS);
    assert.equal(form.file, undefined);
    assert.equal(form.fields.get("format"), "raw");
    form.close();
  });

  it("refuses with one-line MultipartErrors: limits, boundary, a body cut short before or inside the file", async () => {
    const END = `--${BOUNDARY}--\r\n`;
    const refused = async (pieces: string[], message: string, type = TYPE) => {
      await assert.rejects(
        readFormUpToFile(bodyOf([...pieces, END]).body, type, LIMITS),
        (error: unknown) => error instanceof MultipartError && error.message === message,
      );
    };
    await refused([field("a".repeat(17), "x")], "a form field name is longer than 16 bytes");
    await refused([field("f", "x".repeat(65))], "form field f is too long");
    await refused(
      [[1, 2, 3, 4, 5].map((i) => field(`f${i}`, "x")).join("")],
      "the form has more than 4 fields before the file",
    );
    await refused([`--${BOUNDARY}\r\nX: y\r\n\r\n\r\n`.repeat(6)], "the form has more than 5 parts");
    await refused([field("f", "x")], "the multipart/form-data content type has no boundary", "multipart/form-data");
    await refused(
      [field("f", "x")],
      "the multipart boundary is longer than 70 characters",
      `multipart/form-data; boundary=${"x".repeat(71)}`,
    );
    await assert.rejects(
      readFormUpToFile(bodyOf([field("f", "x"), `--${BOUNDARY}\r\nContent-Disp`]).body, TYPE, LIMITS),
      (error: unknown) => error instanceof MultipartError && error.message === "the multipart body ended early",
    );

    const form = await readFormUpToFile(bodyOf([fileHead("cut.img"), "some bytes"]).body, TYPE, LIMITS);
    await assert.rejects(
      drain(form.file?.content ?? []),
      (error: unknown) => error instanceof MultipartError && error.message === "the multipart body ended early",
    );
    form.close();
  });

  it("refuses a body stream that fails (the client hung up), before the file or inside it", async () => {
    const failing = (...pieces: string[]) => {
      let next = 0;
      return new ReadableStream<Uint8Array>({
        async pull(controller) {
          if (next < pieces.length) return controller.enqueue(new TextEncoder().encode(pieces[next++]));
          await new Promise((resolve) => setTimeout(resolve, 50));
          controller.error(new Error("socket hang up"));
        },
      });
    };
    const cutOff = (error: unknown) => error instanceof MultipartError && error.message === "the upload was cut off";
    await assert.rejects(readFormUpToFile(failing(field("format", "raw")), TYPE, LIMITS), cutOff);
    const form = await readFormUpToFile(failing(fileHead("x.img"), "0123456789"), TYPE, LIMITS);
    await assert.rejects(drain(form.file?.content ?? []), cutOff);
    form.close();
  });
});
