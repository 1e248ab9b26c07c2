import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { decodeFile } from "../../../src/plugins/compressed/direct.ts";
import { tempDir } from "../../helpers/images.ts";
import { alive } from "./helpers.ts";

const MiB = 1024 * 1024;
const limits = { cpuSeconds: 600, addressSpace: 2 * 2 ** 30 };

describe("decodeFile: zstd writing a whole file itself", () => {
  const { dir, cleanup } = tempDir("diskpipe-direct-decode-");
  after(cleanup);
  // 64 MiB of one byte (data, not holes): a few KiB of zstd that take a moment to write out.
  const source = join(dir, "w.zst");
  execFileSync("sh", ["-c", `head -c ${64 * MiB} /dev/zero | tr '\\0' w | zstd -q -c > ${source}`]);

  it("decodes the whole file into a new file, telling the decoder's pid", async () => {
    const out = join(dir, "whole");
    const pids: number[] = [];
    await decodeFile(source, out, {
      maxBytes: 128 * MiB,
      limits,
      tooLarge: "too large",
      onDecoder: (pid) => pids.push(pid),
    });
    assert.equal(statSync(out).size, 64 * MiB);
    assert.equal(pids.length, 1);
    assert.equal(alive(pids[0] ?? 0), false);
  });

  it("refuses past maxBytes with the given message, the file removed", async () => {
    const out = join(dir, "bounded");
    await assert.rejects(decodeFile(source, out, { maxBytes: 8 * MiB, limits, tooLarge: "past 8 MiB" }), {
      code: "decompression-bomb",
      message: "past 8 MiB",
    });
    assert.equal(existsSync(out), false);
  });

  it("stops at once when aborted as it starts: the decoder killed, where it had read told, the file removed", async () => {
    const out = join(dir, "aborted");
    const stop = new AbortController();
    const pids: number[] = [];
    const positions: number[] = [];
    const decoding = decodeFile(source, out, {
      maxBytes: 128 * MiB,
      limits,
      tooLarge: "too large",
      signal: stop.signal,
      onRead: (bytes) => positions.push(bytes),
      onDecoder: (pid) => {
        pids.push(pid);
        stop.abort(new Error("stopped by the test"));
      },
    });
    await assert.rejects(decoding);
    assert.equal(pids.length, 1);
    assert.equal(alive(pids[0] ?? 0), false, "the decoder was killed");
    assert.ok(positions.length >= 1, "its position was read before it was killed");
    assert.ok(positions.every((p) => p >= 0 && p <= statSync(source).size));
    assert.equal(existsSync(out), false);
  });

  it("stops when aborted while it decodes: where it had read told, the decoder killed, the file removed", async () => {
    const out = join(dir, "stopped");
    const stop = new AbortController();
    const pids: number[] = [];
    const positions: number[] = [];
    const decoding = decodeFile(source, out, {
      maxBytes: 128 * MiB,
      limits,
      tooLarge: "too large",
      signal: stop.signal,
      onRead: (bytes) => positions.push(bytes),
      // After the decoder has started and decodeFile has gone on to wait for it (64 MiB take far longer).
      onDecoder: (pid) => (pids.push(pid), setImmediate(() => stop.abort(new Error("stopped mid-way")))),
    });
    await assert.rejects(decoding);
    assert.equal(alive(pids[0] ?? 0), false);
    assert.ok(positions.length >= 1, "its position was read before it was killed");
    assert.equal(existsSync(out), false);
  });

  it("starts nothing when the signal is aborted already", async () => {
    const out = join(dir, "never");
    const stop = new AbortController();
    stop.abort(new Error("aborted before"));
    const pids: number[] = [];
    await assert.rejects(
      decodeFile(source, out, {
        maxBytes: 128 * MiB,
        limits,
        tooLarge: "too large",
        signal: stop.signal,
        onDecoder: (pid) => pids.push(pid),
      }),
      { message: "aborted before" },
    );
    assert.deepEqual(pids, []);
    assert.equal(existsSync(out), false);
  });
});
