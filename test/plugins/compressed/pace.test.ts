import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ImageReader } from "../../../src/plugin-api.ts";
import { HEAD_WINDOW, Pace } from "../../../src/plugins/compressed/pace.ts";

/** An inner reader whose reads past `written` wait until released; reads say what they were asked. */
function growing(written: { bytes: number }) {
  const held: Array<() => void> = [];
  const inner: ImageReader = {
    size: async () => 1 << 30,
    read: async (offset, length) => {
      if (offset + length > written.bytes) await new Promise<void>((resolve) => held.push(resolve));
      return new Uint8Array(length);
    },
    close: async () => undefined,
  };
  return { inner, release: () => held.splice(0).forEach((resolve) => resolve()) };
}

describe("Pace: the pump waits for the inspector past the head", () => {
  it("the head window is 1 MiB", () => {
    assert.equal(HEAD_WINDOW, 1024 * 1024);
  });

  it("a read past what is written lets the pump go on at once", async () => {
    const written = { bytes: 4096 };
    const { inner, release } = growing(written);
    const pace = new Pace(() => written.bytes);
    const reader = pace.reader(inner);
    const reading = reader.read(4096, 512);
    await pace.permit();
    written.bytes = 8192;
    release();
    assert.equal((await reading).length, 512);
  });

  it("finish lets every waiting pump go, and every later permit at once", async () => {
    const pace = new Pace(() => 0);
    const first = pace.permit();
    const second = pace.permit();
    pace.finish();
    await Promise.all([first, second]);
    await pace.permit();
  });

  it("a second size() (a detector that needs the end) finishes the pace; the first does not need to", async () => {
    const written = { bytes: 0 };
    const { inner } = growing(written);
    const pace = new Pace(() => written.bytes);
    const reader = pace.reader(inner);
    assert.equal(await reader.size(), 1 << 30);
    assert.equal(await reader.size(), 1 << 30);
    await pace.permit();
  });

  it("an inspector that asks for nothing more (idle) lets the pump go on by itself", async () => {
    const pace = new Pace(() => 0);
    await pace.permit();
    await pace.permit();
  });

  it("reads within what is written pass straight through; close closes the inner reader", async () => {
    let closed = false;
    const pace = new Pace(() => 100);
    const reader = pace.reader({
      size: async () => 100,
      read: async (offset, length) => Uint8Array.from({ length }, (_, i) => offset + i),
      close: async () => void (closed = true),
    });
    assert.deepEqual([...(await reader.read(10, 3))], [10, 11, 12]);
    await reader.close();
    assert.equal(closed, true);
  });
});
