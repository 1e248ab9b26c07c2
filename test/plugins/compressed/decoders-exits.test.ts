import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import { after, describe, it } from "node:test";
import { failure, openDecoder } from "../../../src/plugins/compressed/decoders.ts";
import { Refusal } from "../../../src/plugins/compressed/refusal.ts";
import { tempDir } from "../../helpers/images.ts";
import { alive, missingTools } from "./helpers.ts";

/** What iterating the output to its end throws (undefined when it ends cleanly). */
async function thrown(output: AsyncIterable<Uint8Array>): Promise<(Error & { code?: string }) | undefined> {
  try {
    for await (const chunk of output) void chunk;
    return undefined;
  } catch (error) {
    return error as Error & { code?: string };
  }
}

describe(
  "how a decoder's end is told: limits, a tool that cannot start, the tool's own words",
  { skip: missingTools },
  () => {
    const { dir, cleanup } = tempDir("diskpipe-compressed-decoder-exits-");
    after(cleanup);
    /** A stand-in decoder: a shell script, run like the real tool (under prlimit, stdin a file or a pipe). */
    const script = (name: string, body: string) => {
      const path = join(dir, name);
      writeFileSync(path, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
      return path;
    };
    const input = () => Readable.from([Buffer.alloc(1024)]);

    it("a decoder spinning past its CPU-time limit is killed (SIGKILL) and the stream refused: decoder-limit", async () => {
      const spin = script("spin", "while :; do :; done");
      const decoder = await openDecoder("xz", input(), {
        limits: { cpuSeconds: 1, addressSpace: 2 ** 30 },
        programs: { xz: spin },
      });
      const error = await thrown(decoder.output);
      assert.ok(error instanceof Refusal, String(error));
      assert.equal(error.code, "decoder-limit");
      assert.equal(error.message, "xz was killed by its resource limit (SIGKILL)");
      await decoder.ended;
      assert.equal(alive(decoder.pid ?? 0), false);
    });

    it("one that passes its soft CPU limit dies of SIGXCPU: decoder-limit as well", async () => {
      // The tool's own soft limit (1 s) under the hard one prlimit sets (2 s): the kernel sends SIGXCPU first.
      const spin = script("spin-soft", "ulimit -S -t 1\nwhile :; do :; done");
      const decoder = await openDecoder("zst", input(), {
        limits: { cpuSeconds: 2, addressSpace: 2 ** 30 },
        programs: { zst: spin },
      });
      const error = await thrown(decoder.output);
      assert.ok(error instanceof Refusal, String(error));
      assert.equal(error.code, "decoder-limit");
      assert.equal(error.message, "zstd was killed by its resource limit (SIGXCPU)");
    });

    it("killed by another signal, it is judged by what it said (a corrupt stream), not as a limit", async () => {
      const killed = script("killed", 'echo "bzip2: Data integrity error when decompressing." >&2\nkill -TERM $$');
      const decoder = await openDecoder("bz2", input(), {
        limits: { cpuSeconds: 10, addressSpace: 2 ** 30 },
        programs: { bz2: killed },
      });
      const error = await thrown(decoder.output);
      assert.equal(error?.code, "compressed-corrupt", error?.message);
    });

    it("a program found but not executable (a directory) is plugin-failed with the wrapper's reason, exit 126", async () => {
      const directory = join(dir, "xz-directory");
      mkdirSync(directory, { mode: 0o755 });
      const decoder = await openDecoder("xz", input(), {
        limits: { cpuSeconds: 10, addressSpace: 2 ** 30 },
        programs: { xz: directory },
      });
      const error = await thrown(decoder.output);
      assert.equal(error instanceof Refusal, false);
      assert.equal(error?.code, "plugin-failed");
      assert.match(
        error?.message ?? "",
        /^xz could not be started: .*failed to execute .*xz-directory: Permission denied$/,
      );
    });

    it("a tool exiting 1 to 4 is judged by its words; one that exits 0 succeeds whatever it said", async () => {
      const said = script("said", 'echo "zstd: /*stdin*\\\\: unexpected end of file" >&2\nexit 1');
      const cutShort = await openDecoder("zst", input(), {
        limits: { cpuSeconds: 10, addressSpace: 2 ** 30 },
        programs: { zst: said },
      });
      assert.equal((await thrown(cutShort.output))?.code, "truncated");
      const fine = script("fine", 'echo "xz: a warning" >&2\nprintf data\nexit 0');
      const ok = await openDecoder("xz", input(), {
        limits: { cpuSeconds: 10, addressSpace: 2 ** 30 },
        programs: { xz: fine },
      });
      assert.equal(await thrown(ok.output), undefined);
    });
  },
);

describe("failure: the tool's complaint in one line", () => {
  it("picks the tool's own line, even after others; else the first non-empty line", () => {
    assert.equal(
      failure("bz2", "\nsomething else first\nbzip2: Compressed file ends unexpectedly;\n\tperhaps it is corrupted?\n")
        .message,
      "the bz2 stream is cut short: bzip2: Compressed file ends unexpectedly;",
    );
    assert.equal(
      failure("xz", "\n\n  (stdin): no name here \nxzcat: not this one\n").message,
      "the xz stream is corrupt: (stdin): no name here",
    );
  });

  it("folds runs of blanks and tabs to one space, and cuts a long line at 300 characters", () => {
    assert.equal(
      failure("zst", "zstd:\t/*stdin*\\  :   Data   corruption detected  \n").message,
      "the zst stream is corrupt: zstd: /*stdin*\\ : Data corruption detected",
    );
    const long = failure("xz", `xz: ${"x".repeat(500)}\n`).message;
    assert.equal(long, `the xz stream is corrupt: xz: ${"x".repeat(296)}`);
  });

  it("says nothing more when the tool said nothing; names the kind and the tool in each refusal", () => {
    assert.equal(failure("bz2", "").message, "the bz2 stream is corrupt");
    assert.equal(failure("bz2", "\n \n\t\n").message, "the bz2 stream is corrupt");
    assert.equal(
      failure("xz", "xz: (stdin): Unexpected end of input").message,
      "the xz stream is cut short: xz: (stdin): Unexpected end of input",
    );
    assert.equal(
      failure("zst", "zstd: Frame requires too much memory for decoding").message,
      "zstd refused the stream's memory needs: zstd: Frame requires too much memory for decoding",
    );
  });
});
