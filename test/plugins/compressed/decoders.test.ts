import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { createReadStream, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import { after, describe, it } from "node:test";
import { failure, openDecoder, TOOLS } from "../../../src/plugins/compressed/decoders.ts";
import { Refusal } from "../../../src/plugins/compressed/refusal.ts";
import { tempDir } from "../../helpers/images.ts";
import { alive, missingTools } from "./helpers.ts";

const LIMITS = { cpuSeconds: 30, addressSpace: 2 ** 31 };

async function drain(output: AsyncIterable<Uint8Array>): Promise<number> {
  let bytes = 0;
  for await (const chunk of output) bytes += chunk.length;
  return bytes;
}

describe("the decoders", { skip: missingTools }, () => {
  const { dir, cleanup } = tempDir("diskpipe-compressed-decoders-");
  after(cleanup);

  it("decode each kind with its engine, the tools under prlimit and gone once done", async () => {
    const plain = join(dir, "plain");
    writeFileSync(plain, Buffer.alloc(3 * 2 ** 20, 0x61));
    for (const [kind, command] of [
      ["gz", ["gzip", "-c"]],
      ["xz", ["xz", "-c"]],
      ["zst", ["zstd", "-c", "-q"]],
      ["bz2", ["bzip2", "-c"]],
    ] as const) {
      const packed = join(dir, `plain.${kind}`);
      writeFileSync(packed, execFileSync(command[0], [...command.slice(1), plain]));
      const decoder = await openDecoder(kind, createReadStream(packed), { limits: LIMITS });
      assert.equal(await drain(decoder.output), 3 * 2 ** 20, kind);
      await decoder.ended;
      if (kind !== "gz") {
        assert.ok(decoder.pid, `${kind} runs as a process`);
        assert.equal(alive(decoder.pid ?? 0), false);
      }
    }
  });

  it("decodes an xz stream of many blocks (a threaded xz's) on its threads, from a file and from a stream, byte for byte", async () => {
    const plain = join(dir, "blocks");
    writeFileSync(plain, Buffer.concat(Array.from({ length: 8 }, (_, i) => Buffer.alloc(2 ** 20, 0x30 + i))));
    const packed = join(dir, "blocks.xz");
    writeFileSync(packed, execFileSync("xz", ["-c", "-T2", "--block-size=1MiB", plain]));
    assert.match(execFileSync("xz", ["-l", packed], { encoding: "utf8" }), /\n\s+1\s+8\s/);
    const expected = execFileSync("sha256sum", [plain], { encoding: "utf8" }).split(" ")[0];
    for (const input of [{ file: packed }, createReadStream(packed)]) {
      const decoder = await openDecoder("xz", input, { limits: LIMITS });
      const hash = createHash("sha256");
      for await (const chunk of decoder.output) hash.update(chunk);
      await decoder.ended;
      assert.equal(hash.digest("hex"), expected);
    }
    assert.ok(TOOLS.xz.args.includes("-T0"));
  });

  it("a missing tool is config-invalid and names the Debian package", async () => {
    for (const [kind, pkg] of [
      ["xz", "xz-utils"],
      ["zst", "zstd"],
      ["bz2", "bzip2"],
    ] as const) {
      await assert.rejects(
        openDecoder(kind, Readable.from([]), {
          limits: LIMITS,
          programs: { [kind]: `/nonexistent/${TOOLS[kind].program}` },
        }),
        (error: Error & { code?: string }) => {
          assert.equal(error.code, "config-invalid");
          assert.match(error.message, new RegExp(`install the ${pkg} package`));
          return true;
        },
      );
    }
  });

  it("a tool found but impossible to start is plugin-failed (exit 1), not corrupt input", async () => {
    // Executable, so it is found, but its interpreter does not exist: the wrapper cannot run it.
    const broken = join(dir, "xz");
    writeFileSync(broken, "#!/nonexistent/interpreter\n", { mode: 0o755 });
    const packed = join(dir, "small.xz");
    writeFileSync(packed, execFileSync("xz", ["-c"], { input: Buffer.alloc(4096, 1) }));
    const decoder = await openDecoder("xz", { file: packed }, { limits: LIMITS, programs: { xz: broken } });
    await assert.rejects(drain(decoder.output), (error: Error & { code?: string; exitCode?: number }) => {
      assert.equal(error instanceof Refusal, false);
      assert.equal(error.code, "plugin-failed");
      assert.equal(error.exitCode, 1);
      assert.match(error.message, /^xz could not be started: .*failed to execute .*xz: No such file or directory$/);
      return true;
    });
  });

  it("a stream asking for more memory than the address-space limit allows is refused with decoder-limit", async () => {
    const big = join(dir, "random");
    writeFileSync(big, execFileSync("head", ["-c", String(8 * 2 ** 20), "/dev/urandom"], { maxBuffer: 2 ** 24 }));
    const packed = join(dir, "random.xz");
    writeFileSync(packed, execFileSync("xz", ["-9", "-T1", "-c", big], { maxBuffer: 2 ** 24 }));
    const decoder = await openDecoder("xz", createReadStream(packed), {
      limits: { cpuSeconds: 30, addressSpace: 48 * 2 ** 20 },
    });
    await assert.rejects(drain(decoder.output), (error: unknown) => {
      assert.ok(error instanceof Refusal);
      assert.equal(error.code, "decoder-limit", error.message);
      return true;
    });
  });

  it("reads each tool's complaint as truncated, corrupt or a limit, in one line", () => {
    const cases: Array<["xz" | "zst" | "bz2", string, string]> = [
      ["xz", "xz: (stdin): Unexpected end of input\n", "truncated"],
      ["xz", "xz: (stdin): Compressed data is corrupt\n", "compressed-corrupt"],
      ["xz", "xz: (stdin): Memory usage limit reached\nxz: 65 MiB of memory is required.\n", "decoder-limit"],
      ["zst", "zstd: /*stdin*\\: unexpected end of file \n", "truncated"],
      ["zst", "zstd: /*stdin*\\ : Read error (39) : premature end \n", "truncated"],
      ["zst", "zstd: /*stdin*\\: Frame requires too much memory for decoding \n", "decoder-limit"],
      ["zst", "zstd: /*stdin*\\: Data corruption detected \n", "compressed-corrupt"],
      [
        "bz2",
        "\nbzip2: Compressed file ends unexpectedly;\n\tperhaps it is corrupted?\nbzip2: Success\n\tInput file = (stdin)\n\nIt is possible that the compressed file(s) have become corrupted.\n",
        "truncated",
      ],
      [
        "bz2",
        "\nbzip2: Data integrity error when decompressing.\n\tInput file = (stdin), output file = (stdout)\n\nIt is possible that ...\n",
        "compressed-corrupt",
      ],
      ["bz2", "", "compressed-corrupt"],
    ];
    for (const [kind, stderr, code] of cases) {
      const refusal = failure(kind, stderr);
      assert.equal(refusal.code, code, stderr);
      assert.doesNotMatch(refusal.message, /\n/);
    }
    assert.equal(
      failure("bz2", "\nbzip2: Data integrity error when decompressing.\n\tInput file\n").message,
      "the bz2 stream is corrupt: bzip2: Data integrity error when decompressing.",
    );
  });
});
