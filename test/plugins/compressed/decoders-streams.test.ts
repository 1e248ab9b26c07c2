import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import { createHook } from "node:async_hooks";
import { after, before, describe, it } from "node:test";
import { openDecoder, type Decoder } from "../../../src/plugins/compressed/decoders.ts";
import { tempDir } from "../../helpers/images.ts";
import { alive, corrupt, cut, missingTools } from "./helpers.ts";

const MiB = 1024 * 1024;
const SIZE = 4 * MiB;
const LIMITS = { cpuSeconds: 30, addressSpace: 2 ** 31 };
const TOOL_KINDS = ["xz", "zst", "bz2"] as const;

async function drain(output: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of output) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** What iterating the output to its end gives: the bytes, or the error it ends with. */
async function outcome(
  output: AsyncIterable<Uint8Array>,
): Promise<{ bytes: number; error?: Error & { code?: string } }> {
  let bytes = 0;
  try {
    for await (const chunk of output) bytes += chunk.length;
    return { bytes };
  } catch (error) {
    return { bytes, error: error as Error & { code?: string } };
  }
}

/** Resolves with the first value `onRead` is told that passes `test`; fails the test after 10 s. */
function firstRead(test: (bytes: number) => boolean): {
  onRead: (bytes: number) => void;
  seen: number[];
  got: Promise<number>;
} {
  const seen: number[] = [];
  let found: (bytes: number) => void = () => undefined;
  const got = new Promise<number>((resolve, reject) => {
    found = resolve;
    setTimeout(() => reject(new Error(`onRead was not told a position in 10 s: ${seen.join(", ")}`)), 10_000).unref();
  });
  return { onRead: (bytes) => (seen.push(bytes), test(bytes) && found(bytes)), seen, got };
}

const rising = (values: number[]) => values.every((value, i) => i === 0 || value >= values[i - 1]);

describe("the decoders on real streams: errors, stop, abort, read positions", { skip: missingTools }, () => {
  const { dir, cleanup } = tempDir("diskpipe-compressed-decoder-streams-");
  after(cleanup);
  /** 4 MiB of text lines (compressible, not trivially), its copy by each tool (fast levels), a truncated and a corrupt one. */
  const plain = join(dir, "plain");
  const packed: Record<string, string> = {};
  /** 4 MiB of one phrase, which each tool packs into less than it reads at once: its position is then the file's size. */
  const dense: Record<string, string> = {};
  before(() => {
    const phrase = join(dir, "phrase");
    writeFileSync(phrase, Buffer.alloc(SIZE, "diskpipe "));
    for (const [kind, tool] of [
      ["xz", "xz"],
      ["zst", "zstd"],
      ["bz2", "bzip2"],
    ]) {
      dense[kind] = join(dir, `phrase.${kind}`);
      writeFileSync(dense[kind], execFileSync(tool, ["-c", phrase]));
      assert.ok(statSync(dense[kind]).size < 4096, `${kind}: ${statSync(dense[kind]).size} bytes`);
    }
    const lines: string[] = [];
    for (let i = 0; i < SIZE / 16; i++) lines.push(`line ${String(i * 7919).padStart(10, "0")}\n`);
    writeFileSync(plain, lines.join(""));
    for (const [kind, tool, ...args] of [
      ["gz", "gzip", "-1", "-c", "-n"],
      ["xz", "xz", "-1", "-T1", "-c"],
      ["zst", "zstd", "-1", "-q", "-c"],
      ["bz2", "bzip2", "-1", "-c"],
    ]) {
      packed[kind] = join(dir, `plain.${kind}`);
      writeFileSync(packed[kind], execFileSync(tool, [...args, plain], { maxBuffer: 1 << 26 }));
      cut(packed[kind], Math.floor(statSync(packed[kind]).size * 0.6), join(dir, `cut.${kind}`));
      corrupt(packed[kind], join(dir, `corrupt.${kind}`));
    }
  });

  it("a tar passes through unchanged, read from a file or a stream, onRead counting up to its size", async () => {
    const expected = readFileSync(plain);
    for (const input of [{ file: plain }, Readable.from([expected.subarray(0, MiB), expected.subarray(MiB)])]) {
      const reads: number[] = [];
      const decoder = await openDecoder("tar", input, { limits: LIMITS, onRead: (bytes) => reads.push(bytes) });
      assert.equal(decoder.pid, undefined);
      assert.ok((await drain(decoder.output)).equals(expected));
      await decoder.ended;
      assert.ok(rising(reads), reads.join(", "));
      assert.equal(reads.at(-1), SIZE);
    }
  });

  it("each kind decodes a file or a stream to the same bytes; from a stream onRead counts what was passed on", async () => {
    const expected = readFileSync(plain);
    for (const kind of ["gz", ...TOOL_KINDS] as const) {
      const reads: number[] = [];
      const decoder = await openDecoder(kind, Readable.from([readFileSync(packed[kind])]), {
        limits: LIMITS,
        onRead: (bytes) => reads.push(bytes),
      });
      assert.ok((await drain(decoder.output)).equals(expected), kind);
      await decoder.ended;
      assert.ok(rising(reads), `${kind}: ${reads.join(", ")}`);
      assert.equal(reads.at(-1), statSync(packed[kind]).size, kind);
      const fromFile = await openDecoder(kind, { file: packed[kind] }, { limits: LIMITS });
      assert.ok((await drain(fromFile.output)).equals(expected), `${kind} from a file`);
    }
  });

  it("gzip: a cut stream is truncated, flipped bytes compressed-corrupt, a failing source's own error passes through", async () => {
    const cutShort = await openDecoder("gz", { file: join(dir, "cut.gz") }, { limits: LIMITS });
    const truncated = (await outcome(cutShort.output)).error;
    assert.equal(truncated?.code, "truncated");
    assert.equal(truncated?.message, "the gzip stream is cut short");
    const flipped = await openDecoder("gz", { file: join(dir, "corrupt.gz") }, { limits: LIMITS });
    const { error } = await outcome(flipped.output);
    assert.equal(error?.code, "compressed-corrupt");
    assert.match(error?.message ?? "", /^the gzip stream is corrupt: \S/);
    const broken = Object.assign(new Error("the disk went away"), { code: "EIO" });
    async function* failing(error: Error) {
      yield readFileSync(packed.gz).subarray(0, 4096);
      throw error;
    }
    const fromBroken = await openDecoder("gz", failing(broken), { limits: LIMITS });
    assert.equal((await outcome(fromBroken.output)).error, broken);
    // An error with no code at all passes through as well.
    const plainError = new Error("no code");
    const fromPlain = await openDecoder("gz", failing(plainError), { limits: LIMITS });
    assert.equal((await outcome(fromPlain.output)).error, plainError);
  });

  it("xz, zstd, bzip2: a cut stream is truncated, flipped bytes compressed-corrupt, in one line from the tool", async () => {
    for (const kind of TOOL_KINDS) {
      for (const input of [
        { file: join(dir, `cut.${kind}`) },
        Readable.from([readFileSync(join(dir, `cut.${kind}`))]),
      ]) {
        const decoder = await openDecoder(kind, input, { limits: LIMITS });
        const { error } = await outcome(decoder.output);
        assert.equal(error?.code, "truncated", `${kind}: ${error?.message}`);
        assert.match(error?.message ?? "", new RegExp(`^the ${kind} stream is cut short: [^\\n]+$`));
      }
      const decoder = await openDecoder(kind, { file: join(dir, `corrupt.${kind}`) }, { limits: LIMITS });
      const { error } = await outcome(decoder.output);
      assert.equal(error?.code, "compressed-corrupt", `${kind}: ${error?.message}`);
      assert.match(error?.message ?? "", new RegExp(`^the ${kind} stream is corrupt: [^\\n]+$`));
    }
    const bz2 = await outcome(
      (await openDecoder("bz2", { file: join(dir, "corrupt.bz2") }, { limits: LIMITS })).output,
    );
    // bzip2's paragraphs of advice are left out: its own first line is the message.
    assert.equal(bz2.error?.message, "the bz2 stream is corrupt: bzip2: Data integrity error when decompressing.");
  });

  it("stop ends a decode half-way: no more bytes, the process gone, the file position read at that moment", async () => {
    for (const kind of ["tar", "gz", ...TOOL_KINDS] as const) {
      const file = kind === "tar" ? plain : kind === "gz" ? packed.gz : dense[kind];
      const reads: number[] = [];
      const decoder = await openDecoder(kind, { file }, { limits: LIMITS, onRead: (bytes) => reads.push(bytes) });
      const output = decoder.output[Symbol.asyncIterator]();
      const first = await output.next();
      assert.equal(first.done, false);
      const before = reads.length;
      decoder.stop();
      if (decoder.pid !== undefined) {
        // The position is read once more as it stops: where the tool had got to, within the file.
        assert.equal(reads.length, before + 1, `${kind}: the position is read at stop`);
        assert.equal(reads.at(-1), statSync(file).size, `${kind}: it had read the whole (small) file`);
      }
      let rest = first.value?.length ?? 0;
      try {
        for (let next = await output.next(); !next.done; next = await output.next()) rest += next.value.length;
      } catch {
        // Stopped: the output may end with an error; the caller is gone by then.
      }
      assert.ok(rest < SIZE, `${kind}: ${rest} of ${SIZE} bytes, stopped`);
      await decoder.ended;
      if (decoder.pid !== undefined) assert.equal(alive(decoder.pid), false, `${kind} is gone`);
    }
  });

  it("from a stream, stop never reports the pipe's position: onRead keeps the bytes passed on", async () => {
    for (const kind of TOOL_KINDS) {
      const reads: number[] = [];
      const decoder = await openDecoder(kind, Readable.from([readFileSync(packed[kind])]), {
        limits: LIMITS,
        onRead: (bytes) => reads.push(bytes),
      });
      const output = decoder.output[Symbol.asyncIterator]();
      await output.next();
      decoder.stop();
      await outcome({ [Symbol.asyncIterator]: () => output });
      await decoder.ended;
      assert.deepEqual(reads, [statSync(packed[kind]).size], kind);
    }
  });

  it("while a tool reads a file, its position is taken from /proc (the tool's own offset), and the watch ends with it", async () => {
    for (const kind of TOOL_KINDS) {
      const size = statSync(dense[kind]).size;
      const { onRead, seen, got } = firstRead((bytes) => bytes > 0);
      // Every timer made from here on, and whether it was cleared (destroyed).
      const timers = new Set<number>();
      const hook = createHook({
        init: (id, type) => void (type === "Timeout" && timers.add(id)),
        destroy: (id) => void timers.delete(id),
      }).enable();
      try {
        const decoder: Decoder = await openDecoder(kind, { file: dense[kind] }, { limits: LIMITS, onRead });
        const output = decoder.output[Symbol.asyncIterator]();
        // One piece, then nothing: the tool blocks on its full output pipe, the watch reports where it got to.
        await output.next();
        assert.equal(await got, size, `${kind}: the tool had read the whole (small) file`);
        assert.ok(timers.size > 0, "the watch runs on a timer");
        await outcome({ [Symbol.asyncIterator]: () => output });
        await decoder.ended;
        // Destroy hooks run on the next turn of the event loop.
        await new Promise((resolve) => setImmediate(resolve));
        assert.equal(timers.size, 0, `${kind}: the watch's timer is cleared once the tool has ended`);
        assert.ok(rising(seen), `${kind}: ${seen.join(", ")}`);
      } finally {
        hook.disable();
      }
    }
  });

  it("an abort mid-stream stops the tool: aborted, the process gone", async () => {
    for (const kind of TOOL_KINDS) {
      const controller = new AbortController();
      const decoder = await openDecoder(kind, { file: packed[kind] }, { limits: LIMITS, signal: controller.signal });
      const output = decoder.output[Symbol.asyncIterator]();
      await output.next();
      controller.abort();
      const { error } = await outcome({ [Symbol.asyncIterator]: () => output });
      assert.equal(error?.code, "aborted", `${kind}: ${error?.message}`);
      await decoder.ended;
      assert.equal(alive(decoder.pid ?? 0), false);
    }
  });
});
