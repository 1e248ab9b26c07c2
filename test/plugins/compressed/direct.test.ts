import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { appendFileSync, closeSync, copyFileSync, openSync, readFileSync, statSync, writeSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createPipeline } from "../../../src/mod.ts";
import { compressed, type DecompressionFacts } from "../../../src/plugins/index.ts";
import { repoRoot } from "../../helpers/cli.ts";
import { failure } from "../../helpers/failure.ts";
import { listDir, makeImage, qemuImg, sameDisk, tempDir } from "../../helpers/images.ts";
import { waitFor } from "../../helpers/wait.ts";
import { alive, childrenOf, compress, corrupt, cut, leftovers, missingTools } from "./helpers.ts";

const MiB = 1024 * 1024;

/** A pipeline recording the decoders it starts and, when a decompression completes, the unpacked file's sizes. */
function harness(dir: string, name: string) {
  const work = join(dir, `work-${name}`);
  const pids: number[] = [];
  const ended: DecompressionFacts[] = [];
  const files: Array<{ name: string; size: number; blocks: number }> = [];
  const onEnded = (facts: DecompressionFacts) => {
    ended.push(facts);
    if (facts.completed)
      for (const path of leftovers(work).filter((p) => p.includes("decompressed-"))) {
        const stat = statSync(path);
        files.push({ name: path, size: stat.size, blocks: stat.blocks });
      }
  };
  const pipeline = createPipeline({
    workDir: work,
    plugins: [compressed({ onDecoder: (pid) => pids.push(pid), onEnded })],
  });
  return { work, pids, ended, files, pipeline };
}

/** A 64 MiB raw disk: random data at its start, middle and end, holes between (a real disk's mix). */
function mixedRaw(path: string): string {
  const fd = openSync(path, "w");
  try {
    for (const at of [0, 20 * MiB, 60 * MiB]) writeSync(fd, randomBytes(4 * MiB), 0, 4 * MiB, at);
  } finally {
    closeSync(fd);
  }
  return path;
}

describe("compressed images: a whole zstd file handed over to zstd writing it itself", { skip: missingTools }, () => {
  const { dir, cleanup } = tempDir("diskpipe-compressed-direct-");
  let qcow2 = "";
  let source = "";
  before(() => {
    qcow2 = makeImage(mixedRaw(join(dir, "disk.raw")), "qcow2", join(dir, "disk.qcow2"));
    source = compress(qcow2, "zst");
  });
  after(cleanup);

  it("decodes a qcow2.zst through a second zstd into a sparse file with the same disk", async () => {
    const { work, pids, ended, files, pipeline } = harness(dir, "same");
    const out = join(dir, "same.raw");
    await pipeline.run({ source, destination: out, to: "raw" });
    assert.ok(sameDisk(out, "raw", qcow2, "qcow2"));
    // The piped decoder judged the head, then the second one wrote the file.
    assert.equal(pids.length, 2);
    for (const pid of pids) assert.equal(alive(pid), false);
    assert.equal(ended.at(-1)?.completed, true);
    const [file] = files;
    assert.match(file?.name ?? "", /-whole$/);
    assert.equal(file.size, statSync(qcow2).size);
    // 12 MiB of data and qcow2 metadata, the all-zero blocks of the qcow2 itself left as holes.
    assert.ok(file.blocks * 512 <= statSync(qcow2).blocks * 512 + MiB, `${file.blocks} blocks stored`);
    assert.deepEqual(leftovers(work), []);
  });

  it("the same under --max-size, and no hand-over when the plugin is told so (direct: false)", async () => {
    const bounded = harness(dir, "bounded");
    await bounded.pipeline.run({ source, destination: join(dir, "bounded.raw"), to: "raw", maxSize: 128 * MiB });
    assert.ok(sameDisk(join(dir, "bounded.raw"), "raw", qcow2, "qcow2"));
    assert.equal(bounded.pids.length, 2);
    const work = join(dir, "work-piped");
    const pids: number[] = [];
    const piped = createPipeline({
      workDir: work,
      plugins: [compressed({ direct: false, onDecoder: (p) => pids.push(p) })],
    });
    await piped.run({ source, destination: join(dir, "piped.raw"), to: "raw" });
    assert.ok(sameDisk(join(dir, "piped.raw"), "raw", qcow2, "qcow2"));
    assert.equal(pids.length, 1);
  });

  it("refuses zeroes far beyond --max-size as a decompression bomb (the kernel's file-size limit), leaving nothing", async () => {
    // 256 MiB of zeroes, four times --max-size: a raw image with no header, bounded by --max-size alone.
    const zeroes = join(dir, "zeroes.zst");
    execFileSync("sh", ["-c", `head -c ${256 * MiB} /dev/zero | zstd -q -c > ${zeroes}`]);
    const { work, pids, pipeline } = harness(dir, "bomb");
    const error = await failure(
      pipeline.run({ source: zeroes, destination: join(dir, "bomb.raw"), to: "raw", maxSize: 64 * MiB }),
    );
    assert.equal(error.code, "image-rejected", error.message);
    assert.deepEqual(
      error.problems.map((p) => p.code),
      ["decompression-bomb"],
    );
    assert.match(error.message, /--max-size/);
    assert.equal(pids.length, 2);
    for (const pid of pids) assert.equal(alive(pid), false);
    assert.deepEqual(leftovers(work), []);
    assert.ok(!listDir(dir).includes("bomb.raw"));
  });

  it("refuses a qcow2 header saying 1 MiB followed by far more bytes, past its header's bound", async () => {
    const small = join(dir, "small.qcow2");
    qemuImg("create", "-q", "-f", "qcow2", small, "1M");
    const padded = join(dir, "padded.qcow2");
    copyFileSync(small, padded);
    appendFileSync(padded, Buffer.alloc(64 * MiB, 0x77));
    const { work, pids, pipeline } = harness(dir, "header-bomb");
    const error = await failure(
      pipeline.run({ source: compress(padded, "zst"), destination: join(dir, "header-bomb.raw"), to: "raw" }),
    );
    assert.deepEqual(
      error.problems.map((p) => p.code),
      ["decompression-bomb"],
    );
    assert.match(error.message, /1048576-byte qcow2 image can be/);
    for (const pid of pids) assert.equal(alive(pid), false);
    assert.deepEqual(leftovers(work), []);
  });

  it("a header stating a huge size over a small stream stays piped, under the data bound, without --max-size", async () => {
    // 1 TiB stated, 256 MiB of one byte after it: a few KiB of zstd, far past 64 MiB plus 1000 times that.
    const huge = join(dir, "huge.qcow2");
    qemuImg("create", "-q", "-f", "qcow2", huge, "1T");
    appendFileSync(huge, Buffer.alloc(256 * MiB, 0x77));
    const { work, pids, pipeline } = harness(dir, "huge");
    const error = await failure(
      pipeline.run({ source: compress(huge, "zst"), destination: join(dir, "huge.raw"), to: "raw" }),
    );
    assert.deepEqual(
      error.problems.map((p) => p.code),
      ["decompression-bomb"],
    );
    assert.match(error.message, /times its \d+ compressed bytes/);
    assert.equal(pids.length, 1);
    assert.deepEqual(leftovers(work), []);
  });

  it("refuses a qcow2 with a backing file after its head, stopping the second decoder, nothing left", async () => {
    // 128 MiB of random data (incompressible: zstd's position in the file shows how far it got) over a backing file.
    qemuImg("create", "-q", "-f", "qcow2", join(dir, "base.qcow2"), "128M");
    const noise = join(dir, "noise.raw");
    const fd = openSync(noise, "w");
    for (let at = 0; at < 128 * MiB; at += 8 * MiB) writeSync(fd, randomBytes(8 * MiB), 0, 8 * MiB, at);
    closeSync(fd);
    const evil = join(dir, "evil.qcow2");
    qemuImg("convert", "-q", "-O", "qcow2", "-B", join(dir, "base.qcow2"), "-F", "qcow2", noise, evil);
    const source = compress(evil, "zst");
    const { work, pids, ended, pipeline } = harness(dir, "backing");
    const error = await failure(pipeline.run({ source, destination: join(dir, "evil.raw"), to: "raw" }));
    assert.match(error.message, /\[qcow2-backing-file\]/);
    for (const pid of pids) assert.equal(alive(pid), false);
    const [facts] = ended;
    assert.equal(facts?.completed, false);
    // How much the decoder read by then is a race with zstd (native, fast) and is not asserted: under
    // Stryker's instrumentation it read more than half. A refusal from the first MiBs is tested with a
    // server that stalls after them (unpack-arriving.test.ts).
    assert.ok(facts !== undefined && facts.compressedRead <= statSync(source).size);
    assert.deepEqual(leftovers(work), []);
    assert.ok(!listDir(dir).includes("evil.raw"));
  });

  it("a truncated and a corrupt stream still give their codes from the second decoder, nothing left", async () => {
    const size = statSync(source).size;
    for (const [broken, code] of [
      [cut(source, Math.floor(size * 0.8), join(dir, "cut.zst")), "truncated"],
      [corrupt(source, join(dir, "corrupt.zst")), "compressed-corrupt"],
    ] as const) {
      const { work, pids, pipeline } = harness(dir, code);
      const error = await failure(pipeline.run({ source: broken, destination: join(dir, `${code}.raw`), to: "raw" }));
      assert.deepEqual(
        error.problems.map((p) => p.code),
        [code],
        error.message,
      );
      assert.doesNotMatch(error.message, /\n/);
      assert.equal(pids.length, 2, `${code}: handed over`);
      assert.deepEqual(leftovers(work), []);
    }
  });

  it("SIGTERM to the CLI during the second decode leaves no decoder and no file", async () => {
    // 4 GiB of one byte (not zeroes: written, not skipped) under --max-size 8G: the second decode takes seconds.
    const frame = join(dir, "w.zst");
    execFileSync("sh", ["-c", `head -c ${256 * MiB} /dev/zero | tr '\\0' w | zstd -q -c > ${frame}`]);
    const long = join(dir, "long.zst");
    for (let i = 0; i < 16; i++) appendFileSync(long, readFileSync(frame));
    const child = spawn(
      process.execPath,
      [
        join(repoRoot, "bin", "diskpipe.mjs"),
        "convert",
        long,
        join(dir, "cli-out.raw"),
        "--to",
        "raw",
        "--max-size",
        "8G",
      ],
      { stdio: "ignore", env: { ...process.env, TMPDIR: dir } },
    );
    const cliPid = child.pid ?? 0;
    const sparse = (pid: number) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("--sparse");
      } catch {
        return false;
      }
    };
    const second = await waitFor(
      () => childrenOf(cliPid).find((c) => c.name === "zstd" && sparse(c.pid)),
      "the second zstd to start under the CLI",
    );
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    child.kill("SIGTERM");
    assert.notEqual(await exited, 0);
    await waitFor(() => !alive(second.pid), "the second decoder to end", 5000);
    assert.deepEqual(
      leftovers(dir).filter((path) => path.includes("cli-out") || path.includes("decompressed-")),
      [],
    );
  });
});
