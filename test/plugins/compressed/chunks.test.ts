import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ChunkReader } from "../../../src/plugins/compressed/chunks.ts";

/** A source of `chunks` that counts the iterator's calls and whether it was returned. */
function source(chunks: number[][]) {
  const seen = { next: 0, returned: false };
  const iterable: AsyncIterable<Uint8Array> = {
    [Symbol.asyncIterator]: () => {
      let i = 0;
      return {
        next: async () => {
          seen.next++;
          return i < chunks.length
            ? { done: false, value: Uint8Array.from(chunks[i++]) }
            : { done: true, value: undefined };
        },
        return: async () => {
          seen.returned = true;
          return { done: true, value: undefined };
        },
      };
    },
  };
  return { reader: new ChunkReader(iterable), seen };
}

const bytes = (chunk: Uint8Array | null) => (chunk ? [...chunk] : null);

describe("ChunkReader: a byte stream read in pieces", () => {
  it("read(max) gives at most max bytes, keeps the rest for the next read, passes over empty chunks", async () => {
    const { reader } = source([[1, 2, 3, 4, 5], [], [6]]);
    assert.deepEqual(bytes(await reader.read(2)), [1, 2]);
    assert.deepEqual(bytes(await reader.read(2)), [3, 4]);
    assert.deepEqual(bytes(await reader.read(10)), [5]);
    assert.deepEqual(bytes(await reader.read(1)), [6]);
    assert.equal(await reader.read(1), null);
  });

  it("after the end, reads are null without asking the source again", async () => {
    const { reader, seen } = source([[1]]);
    assert.deepEqual(bytes(await reader.read(4)), [1]);
    assert.equal(await reader.read(4), null);
    const asked = seen.next;
    assert.equal(await reader.read(4), null);
    assert.equal(seen.next, asked);
  });

  it("readExact joins pieces to the length asked, or gives what there was at the end", async () => {
    const { reader } = source([[1, 2], [3], [4, 5, 6]]);
    assert.deepEqual(bytes(await reader.readExact(4)), [1, 2, 3, 4]);
    assert.deepEqual(bytes(await reader.readExact(5)), [5, 6]);
    assert.deepEqual(bytes(await reader.readExact(3)), []);
    const exact = source([[7, 8, 9]]);
    assert.deepEqual(bytes(await exact.reader.readExact(3)), [7, 8, 9]);
  });

  it("unread puts bytes back in front of what is pending", async () => {
    const { reader } = source([[1, 2, 3, 4]]);
    const head = await reader.read(2);
    assert.ok(head);
    reader.unread(Uint8Array.from([9]));
    reader.unread(head);
    assert.deepEqual(bytes(await reader.readExact(5)), [1, 2, 9, 3, 4]);
  });

  it("close ends the source (its return) and every later read is null", async () => {
    const { reader, seen } = source([[1], [2]]);
    await reader.read(1);
    await reader.close();
    assert.equal(seen.returned, true);
    assert.equal(await reader.read(1), null);
  });

  it("close works on a source whose iterator has no return (a hand-written iterable)", async () => {
    let given = false;
    const bare: AsyncIterable<Uint8Array> = {
      [Symbol.asyncIterator]: () => ({
        next: async () =>
          given ? { done: true, value: undefined } : ((given = true), { done: false, value: Uint8Array.of(1) }),
      }),
    };
    const reader = new ChunkReader(bare);
    assert.deepEqual(bytes(await reader.read(8)), [1]);
    await reader.close();
    assert.equal(await reader.read(8), null);
  });
});
