import assert from "node:assert/strict";
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { appendFileSync, copyFileSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { after, before, describe, it } from "node:test";
import { createPipeline, type JobEvent } from "../../../src/mod.ts";
import { compressed, type DecompressionFacts } from "../../../src/plugins/index.ts";
import { repoRoot } from "../../helpers/cli.ts";
import { failure } from "../../helpers/failure.ts";
import { listDir, makeImage, makeRaw, qemuImg, tempDir } from "../../helpers/images.ts";
import { waitFor } from "../../helpers/wait.ts";
import { alive, childrenOf, compress, corrupt, cut, leftovers, missingTools, tarHeader, tarOf } from "./helpers.ts";

const MiB = 1024 * 1024;

/** A pipeline with its own work directory, recording the events and the decoders it starts. */
function harness(dir: string, name: string) {
  const work = join(dir, `work-${name}`);
  const events: JobEvent[] = [];
  const pids: number[] = [];
  const ended: DecompressionFacts[] = [];
  const pipeline = createPipeline({
    workDir: work,
    plugins: [compressed({ onDecoder: (pid) => pids.push(pid), onEnded: (facts) => ended.push(facts) })],
  });
  pipeline.on((event) => events.push(event));
  const unpacked = () =>
    Math.max(0, ...events.flatMap((e) => (e.type === "progress" && e.stage === "unpack" ? [e.bytes] : [])));
  return { work, events, pids, ended, pipeline, unpacked };
}

describe("compressed images: hostile content, bombs, broken streams, aborts", { skip: missingTools }, () => {
  const { dir, cleanup } = tempDir("diskpipe-compressed-unpack-");
  let raw = "";
  let qcow2 = "";
  let zeroes1g = "";
  /** 1 GiB of zeroes as xz, made once (5 s of xz). */
  const gibOfZeroes = () => {
    if (zeroes1g) return zeroes1g;
    zeroes1g = join(dir, "zeroes.xz");
    writeFileSync(
      zeroes1g,
      execFileSync("sh", ["-c", "head -c 1073741824 /dev/zero | xz -0 -T1 -c"], { maxBuffer: 16 * MiB }),
    );
    return zeroes1g;
  };
  /** 8 GiB of zeroes: eight xz streams one after the other (xz decodes concatenated streams). */
  const eightGibOfZeroes = () => {
    const long = join(dir, "z8g.xz");
    if (!listDir(dir).includes("z8g.xz")) for (let i = 0; i < 8; i++) appendFileSync(long, readFileSync(gibOfZeroes()));
    return long;
  };
  before(() => {
    raw = makeRaw(join(dir, "disk.raw"), 4 * MiB);
    qcow2 = makeImage(raw, "qcow2", join(dir, "disk.qcow2"));
  });
  after(cleanup);

  it("refuses a compressed qcow2 with a backing file after its header, without decompressing the rest", async () => {
    // A qcow2 naming a backing file, then 256 MiB of data (a pattern: small compressed, quick to make).
    qemuImg("create", "-q", "-f", "qcow2", join(dir, "base.qcow2"), "256M");
    const evil = join(dir, "evil.qcow2");
    qemuImg("create", "-q", "-f", "qcow2", "-b", join(dir, "base.qcow2"), "-F", "qcow2", evil);
    execFileSync("qemu-io", ["-c", "write -P 0x5a 0 256M", evil], { stdio: "ignore" });
    for (const kind of ["gz", "zst", "xz"] as const) {
      const source = compress(evil, kind);
      const size = statSync(source).size;
      const { work, pids, ended, pipeline } = harness(dir, `backing-${kind}`);
      const out = join(dir, `evil-${kind}.raw`);
      const error = await failure(pipeline.run({ source, destination: out, to: "raw" }));
      assert.equal(error.code, "image-rejected", error.message);
      assert.match(error.message, /backing file.*\[qcow2-backing-file\]/);
      const [facts] = ended;
      assert.equal(facts?.completed, false);
      // The decoder was stopped with most of the image undecoded (the small compressed file itself may be read whole).
      assert.ok(facts.compressedRead <= size);
      assert.ok(facts.decompressed < 32 * MiB, `${kind}: decompressed ${facts.decompressed} bytes of a 256 MiB image`);
      assert.deepEqual(leftovers(work), []);
      assert.ok(!listDir(dir).includes(`evil-${kind}.raw`));
      for (const pid of pids) assert.equal(alive(pid), false, `decoder ${pid} still runs`);
    }
  });

  it("refuses 1 GiB of zeroes in xz under --max-size 64M as a decompression bomb, leaving nothing", async () => {
    const bomb = gibOfZeroes();
    const { work, pids, pipeline } = harness(dir, "bomb");
    const started = performance.now();
    const error = await failure(
      pipeline.run({ source: bomb, destination: join(dir, "bomb.raw"), to: "raw", maxSize: 64 * MiB }),
    );
    assert.equal(error.code, "image-rejected");
    assert.deepEqual(
      error.problems.map((p) => p.code),
      ["decompression-bomb"],
    );
    assert.match(error.message, /--max-size/);
    assert.ok(performance.now() - started < 20_000);
    assert.deepEqual(leftovers(work), []);
    assert.ok(!listDir(dir).includes("bomb.raw"));
    for (const pid of pids) assert.equal(alive(pid), false);
  });

  it("refuses a qcow2 header saying 1 MiB followed by far more bytes, once past what such an image can be", async () => {
    const small = join(dir, "small.qcow2");
    qemuImg("create", "-q", "-f", "qcow2", small, "1M");
    const padded = join(dir, "padded.qcow2");
    copyFileSync(small, padded);
    appendFileSync(padded, Buffer.alloc(256 * MiB, 0x77));
    const source = compress(padded, "zst");
    const { work, pipeline } = harness(dir, "header-bomb");
    const error = await failure(pipeline.run({ source, destination: join(dir, "header-bomb.raw"), to: "raw" }));
    assert.equal(error.code, "image-rejected");
    assert.deepEqual(
      error.problems.map((p) => p.code),
      ["decompression-bomb"],
    );
    assert.match(error.message, /1048576-byte qcow2 image can be/);
    assert.deepEqual(leftovers(work), []);
  });

  const broken = ["gz", "xz", "zst", "bz2", "tar", "tar.gz"] as const;
  for (const kind of broken) {
    it(`a truncated and a corrupt ${kind} stream are refused in one line, nothing left`, async () => {
      const tar = tarOf(qcow2, join(dir, `broken-${kind.replace(".", "-")}.tar`));
      const whole = kind === "tar" ? tar : kind === "tar.gz" ? compress(tar, "gz") : compress(qcow2, kind);
      const size = statSync(whole).size;
      const truncated = cut(whole, Math.floor(size * 0.6), `${whole}.cut`);
      const damaged = kind === "tar" ? damageTarEnd(whole) : corrupt(whole, `${whole}.bad`);
      for (const [source, codes] of [
        [truncated, ["truncated"]],
        [damaged, kind === "tar" ? ["archive-entry"] : ["compressed-corrupt", "truncated"]],
      ] as const) {
        const { work, pipeline } = harness(dir, `broken-${kind}-${codes[0]}`);
        const error = await failure(pipeline.run({ source, destination: join(dir, "broken.raw"), to: "raw" }));
        assert.ok(["image-rejected", "io-failed"].includes(error.code), error.message);
        const codesSeen = error.problems.map((p) => p.code);
        assert.ok(
          codesSeen.some((c) => (codes as readonly string[]).includes(c)),
          `${kind} ${source}: ${error.message}`,
        );
        assert.doesNotMatch(error.message, /\n/);
        assert.deepEqual(leftovers(work), []);
        assert.ok(!listDir(dir).includes("broken.raw"), "an output was left");
      }
    });
  }

  it("an abort mid-decompression kills the decoder and leaves no temporary file", async () => {
    const long = eightGibOfZeroes();
    const { work, pids, pipeline } = harness(dir, "abort");
    const controller = new AbortController();
    const running = failure(
      pipeline.run({ source: long, destination: join(dir, "aborted.raw"), to: "raw", signal: controller.signal }),
    );
    await waitFor(() => pids.length > 0, "the decoder to start");
    controller.abort();
    const error = await running;
    assert.equal(error.code, "aborted", error.message);
    assert.equal(alive(pids[0]), false, "the decoder outlived the job");
    assert.deepEqual(leftovers(work), []);
    assert.ok(!listDir(dir).includes("aborted.raw"));
  });

  it("an abort mid-extraction of a gzip tar stops the in-process decoder at once", async () => {
    // One member of 8 GiB of zeroes: a header, 32 gzip members of 256 MiB each, the end blocks.
    const quarter = gzipSync(Buffer.alloc(256 * MiB), { level: 1 });
    const parts = [gzipSync(tarHeader({ name: "disk.raw", size: 8 * 1024 * MiB }))];
    for (let i = 0; i < 32; i++) parts.push(quarter);
    const source = join(dir, "long.tar.gz");
    writeFileSync(source, Buffer.concat([...parts, gzipSync(Buffer.alloc(1024))]));
    const { work, ended, pipeline, unpacked } = harness(dir, "abort-tar");
    const controller = new AbortController();
    const running = failure(
      pipeline.run({ source, destination: join(dir, "aborted-tar.raw"), to: "raw", signal: controller.signal }),
    );
    await waitFor(() => unpacked() > 0, "the decompression to start");
    controller.abort();
    const error = await running;
    assert.equal(error.code, "aborted", error.message);
    const [facts] = ended;
    assert.ok(facts.decompressed < 4 * 1024 * MiB, `went on to ${facts.decompressed} bytes after the abort`);
    assert.deepEqual(leftovers(work), []);
  });

  it("a compressed stream inside whose magic is past the first 4 KiB (a zstd skippable frame) is nested-container", async () => {
    const skippable = Buffer.alloc(8 + 8192, 1);
    skippable.writeUInt32LE(0x184d2a50, 0);
    skippable.writeUInt32LE(8192, 4);
    const zst = execFileSync("zstd", ["-c", "-q", raw], { maxBuffer: 64 * MiB });
    const source = join(dir, "skippable.zst.gz");
    writeFileSync(source, gzipSync(Buffer.concat([skippable, zst])));
    const { work, pipeline } = harness(dir, "nested-skippable");
    const error = await failure(pipeline.run({ source, destination: join(dir, "nested.raw"), to: "raw" }));
    assert.equal(error.code, "image-rejected", error.message);
    assert.match(error.message, /\[nested-container\]/);
    assert.deepEqual(leftovers(work), []);
  });

  it("a sparse tar member larger than the file system allows is a decompression bomb, not an I/O failure", () => {
    // 1.5 KiB of tar saying 4 GiB of holes, for a CLI whose files may not pass 1 GiB (SIGXFSZ
    // ignored, so the file system's EFBIG is what it sees, as past ext4's 16 TiB).
    const data = Buffer.alloc(512, 0x5a);
    const header = tarHeader({ name: "disk.raw", size: 512, realSize: 4 * 1024 * MiB, runs: [[0, 512]] });
    const source = join(dir, "huge-sparse.tar");
    writeFileSync(source, Buffer.concat([header, data, Buffer.alloc(1024)]));
    const cli = [join(repoRoot, "bin", "diskpipe.mjs"), "convert", source, join(dir, "efbig.qcow2"), "--to", "qcow2"];
    const run = spawnSync(
      "sh",
      ["-c", 'trap "" XFSZ; exec prlimit --fsize=1073741824 "$0" "$@"', process.execPath, ...cli],
      { encoding: "utf8", env: { ...process.env, TMPDIR: join(dir, "efbig-tmp") } },
    );
    assert.equal(run.status, 3, run.stderr);
    assert.match(run.stderr, /\[decompression-bomb\]/);
    assert.ok(!listDir(dir).includes("efbig.qcow2"));
    // The CLI's own TMPDIR also holds jiti's cache of the compiled configuration: not the job's.
    assert.deepEqual(
      leftovers(join(dir, "efbig-tmp")).filter((path) => !path.includes("/jiti/")),
      [],
    );
  });

  it("SIGTERM to the CLI mid-decompression leaves no decoder process and no output", async () => {
    const long = eightGibOfZeroes();
    const child = spawn(
      process.execPath,
      [join(repoRoot, "bin", "diskpipe.mjs"), "convert", long, join(dir, "cli-out.raw"), "--to", "raw"],
      { stdio: "ignore" },
    );
    const cliPid = child.pid ?? 0;
    const decoder = await waitFor(() => childrenOf(cliPid).find((c) => c.name === "xz"), "xz to start under the CLI");
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    child.kill("SIGTERM");
    const code = await exited;
    assert.notEqual(code, 0);
    await waitFor(() => !alive(decoder.pid), "the decoder to end", 5000);
    assert.deepEqual(
      listDir(dir).filter((name) => name.includes("cli-out")),
      [],
    );
  });

  it("SIGKILL to the CLI mid-decompression kills the decoder too (pdeathsig), no output", async () => {
    const long = eightGibOfZeroes();
    const child = spawn(
      process.execPath,
      [join(repoRoot, "bin", "diskpipe.mjs"), "convert", long, join(dir, "killed-out.raw"), "--to", "raw"],
      { stdio: "ignore", env: { ...process.env, TMPDIR: dir } },
    );
    const cliPid = child.pid ?? 0;
    const decoder = await waitFor(() => childrenOf(cliPid).find((c) => c.name === "xz"), "xz to start under the CLI");
    const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
    child.kill("SIGKILL");
    await exited;
    await waitFor(() => !alive(decoder.pid), "the decoder to die with the CLI", 5000);
    assert.deepEqual(
      listDir(dir).filter((name) => name.includes("killed-out")),
      [],
    );
  });
});

/** A copy of a tar whose end-of-archive blocks hold garbage (a bare tar has no checksum over its data). */
function damageTarEnd(path: string): string {
  const bytes = Buffer.from(readFileSync(path));
  bytes.fill(0x55, bytes.length - 1024);
  const out = `${path}.bad`;
  writeFileSync(out, bytes);
  return out;
}
