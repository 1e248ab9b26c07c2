import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { diskpipe, diskpipeAsync, repoRoot } from "../helpers/cli.ts";
import { makeImage, makeRaw, tempDir } from "../helpers/images.ts";
import { diskpipeInTerminal, framesOf } from "./terminal.ts";

const MiB = 1024 * 1024;
/** Each image is sent in 64 KiB pieces this many ms apart: 2 MiB take about 1.3 s. */
const PACE_MS = 40;
// eslint-disable-next-line no-control-regex
const ESCAPE = /\x1b/;
// eslint-disable-next-line no-control-regex
const COLOUR = /\x1b\[[\d;]*m/;

/** Without the caller's colour settings: each test sets what it checks. */
function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const { NO_COLOR: _n, FORCE_COLOR: _f, ...env } = process.env;
  return { ...env, TERM: "xterm-256color", ...extra };
}

describe("convert's progress display and messages (built CLI; a real pseudo-terminal, a real pipe)", () => {
  const { dir, cleanup } = tempDir();
  let server: Server;
  let base = "";
  let vmdk = "";
  let noisyConfig = "";
  const images = new Map<string, Buffer>();

  before(async () => {
    for (const name of ["a.img", "b.img", "c.img"])
      images.set(name, Buffer.concat([randomBytes(MiB), Buffer.alloc(MiB)]));
    server = createServer((req, res) => {
      const data = images.get((req.url ?? "").slice(1));
      if (!data) return void res.writeHead(404).end();
      res.writeHead(200, { "content-length": data.length, "content-type": "application/octet-stream" });
      let at = 0;
      const timer = setInterval(() => {
        if (res.destroyed) return clearInterval(timer);
        res.write(data.subarray(at, at + 64 * 1024));
        at += 64 * 1024;
        if (at >= data.length) {
          clearInterval(timer);
          res.end();
        }
      }, PACE_MS);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    vmdk = makeImage(makeRaw(join(dir, "disk.raw"), 2 * MiB), "vmdk", join(dir, "disk.vmdk"));
    noisyConfig = join(dir, "noisy.config.mjs");
    writeFileSync(
      noisyConfig,
      `import { definePlugin } from ${JSON.stringify(join(repoRoot, "dist/bundle/mod.js"))};\n` +
        `export default { plugins: [definePlugin({ name: "noisy", hooks: { verify(ctx) { ctx.warn("looked twice"); } } })] };\n`,
    );
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    cleanup();
  });

  const batch = (out: string) => [
    "convert",
    `${base}/a.img`,
    `${base}/b.img`,
    `${base}/c.img`,
    "--out-dir",
    join(dir, out),
    "--to",
    "qcow2",
    "--jobs",
    "2",
  ];

  it("on a terminal: one bar per running job with bytes, rate and ETA, a total line with its ETA, all gone at the end", async () => {
    const run = await diskpipeInTerminal(batch("tty"), cleanEnv());
    assert.equal(run.status, 0, run.output);
    const frames = framesOf(run.output);
    const jobBar = (name: string) =>
      new RegExp(
        `^${name.replace(".", "\\.")} +fetch +\\[#*-*\\] +\\d+%  [\\d.]+ (B|KiB|MiB) of 2 MiB, [\\d.]+ (B|KiB|MiB)/s, ETA \\d+ s$`,
      );
    const both = frames.find(
      (frame) => frame.some((line) => jobBar("a.img").test(line)) && frame.some((line) => jobBar("b.img").test(line)),
    );
    assert.ok(
      both,
      `no frame showed a.img and b.img fetching side by side:\n${frames.map((f) => f.join("\n")).join("\n----\n")}`,
    );
    const total = both.at(-1) ?? "";
    assert.match(total, /^total +\[#*-*\] +\d+%  0 of 3 done/, "the total line under the bars");
    assert.equal(
      total.indexOf("["),
      (both.find((line) => jobBar("a.img").test(line)) ?? "").indexOf("["),
      "bars aligned",
    );
    assert.ok(
      frames.some((frame) => frame.some((line) => /^total .* of 3 done.*, ETA \d+ s$/.test(line))),
      "the total line gets an ETA",
    );
    assert.ok(
      frames.some(
        (frame) => frame.some((line) => /^c\.img /.test(line)) && !frame.some((line) => /^a\.img /.test(line)),
      ),
      "a finished job's bar goes",
    );
    const screen = frames.at(-1) ?? [];
    assert.deepEqual(
      screen.filter((line) => !line.startsWith("converted ")),
      ["3 converted, 0 failed"],
      `the bars are gone, results and the summary stay:\n${screen.join("\n")}`,
    );
    assert.equal(
      screen.filter((line) =>
        /^converted http:\/\/127\.0\.0\.1:\d+\/[abc]\.img -> .*\.qcow2 \(raw -> qcow2, 2 MiB virtual/.test(line),
      ).length,
      3,
    );
  });

  it("through a pipe: plain lines only, a bounded number, with bytes, rate and ETA, and the batch's total between results", async () => {
    const run = await diskpipeAsync(batch("pipe"));
    assert.equal(run.status, 0, run.stderr);
    assert.doesNotMatch(run.stderr + run.stdout, ESCAPE, "no escape codes off a terminal");
    const lines = run.stderr.trimEnd().split("\n");
    assert.ok(
      lines.length <= 3 * (4 + 2 * 11) + 2 + 1,
      `at most a line per stage and per tenth: ${lines.length}\n${run.stderr}`,
    );
    assert.ok(
      lines.some((line) =>
        /^a\.img: fetch \d+% \([\d.]+ (B|KiB|MiB) of 2 MiB, [\d.]+ (B|KiB|MiB)\/s, ETA \d+ s\)$/.test(line),
      ),
      run.stderr,
    );
    assert.ok(lines.includes("b.img: convert"), run.stderr);
    assert.deepEqual(
      lines.filter((line) => line.startsWith("total: ")).map((line) => line.replace(/, \d+%.*$/, "")),
      ["total: 1 of 3 done", "total: 2 of 3 done"],
    );
    assert.equal(lines.at(-1), "3 converted, 0 failed");
    assert.equal(run.stdout.trimEnd().split("\n").length, 3);
  });

  it("warnings: a coloured label on a terminal, none with NO_COLOR or through a pipe; the text is the same", async () => {
    const args = ["convert", vmdk, join(dir, "warned.qcow2"), "--to", "qcow2", "--force", "--config", noisyConfig];
    const coloured = await diskpipeInTerminal(args, cleanEnv());
    assert.equal(coloured.status, 0, coloured.output);
    assert.match(coloured.output, /\x1b\[33mwarning:\x1b\[39;22m disk\.vmdk: looked twice/);
    const plain = await diskpipeInTerminal(args, cleanEnv({ NO_COLOR: "1" }));
    assert.equal(plain.status, 0, plain.output);
    assert.doesNotMatch(plain.output, COLOUR, "NO_COLOR: no colour codes");
    assert.ok(framesOf(plain.output).at(-1)?.includes("warning: disk.vmdk: looked twice"), plain.output);
    const piped = diskpipe(args, { env: cleanEnv() });
    assert.match(piped.stderr, /^warning: disk\.vmdk: looked twice$/m);
    assert.doesNotMatch(piped.stderr, ESCAPE);
  });

  it("--quiet: no progress, no summary, on a terminal or not; warnings, failures and errors still shown with their exit code", async () => {
    const ok = diskpipe([
      "convert",
      vmdk,
      join(dir, "quiet.qcow2"),
      "--to",
      "qcow2",
      "--force",
      "--config",
      noisyConfig,
      "--quiet",
    ]);
    assert.equal(ok.status, 0, ok.stderr);
    assert.equal(ok.stderr, "warning: disk.vmdk: looked twice\n");
    assert.match(ok.stdout, /^converted .*disk\.vmdk -> .*quiet\.qcow2/, "the result is the output: it stays");
    const inTerminal = await diskpipeInTerminal(
      ["convert", vmdk, join(dir, "quiet2.qcow2"), "--to", "qcow2", "--force", "-q"],
      cleanEnv(),
    );
    assert.equal(inTerminal.status, 0, inTerminal.output);
    assert.doesNotMatch(inTerminal.output, /\[#*-*\]|\x1b\[\d*A/, "no bars drawn");
    const missing = join(dir, "missing.vmdk");
    const failed = diskpipe([
      "convert",
      vmdk,
      missing,
      "--out-dir",
      join(dir, "quiet-batch"),
      "--to",
      "qcow2",
      "--quiet",
    ]);
    assert.equal(failed.status, 1, failed.stderr);
    assert.deepEqual(failed.stderr.trimEnd().split("\n"), [
      `failed: ${missing}`,
      `diskpipe: cannot read source ${missing}: no such file [fetch-failed]`,
    ]);
  });

  it("--verbose: each stage's and hook's time, as plain lines; --quiet with --verbose is a usage error", () => {
    const run = diskpipe([
      "convert",
      vmdk,
      join(dir, "verbose.qcow2"),
      "--to",
      "qcow2",
      "--force",
      "--config",
      noisyConfig,
      "--verbose",
    ]);
    assert.equal(run.status, 0, run.stderr);
    for (const stage of ["fetch", "inspect", "verify", "convert", "cleanup"])
      assert.match(run.stderr, new RegExp(`^disk\\.vmdk: ${stage} took \\d+ ms$`, "m"));
    assert.match(run.stderr, /^disk\.vmdk: verify hook of noisy took \d+ ms$/m);
    assert.match(run.stderr, /^disk\.vmdk: convert$/m, "the progress lines are still there");
    const both = diskpipe(["convert", vmdk, join(dir, "x.qcow2"), "--to", "qcow2", "--quiet", "--verbose"]);
    assert.equal(both.status, 2);
    assert.match(both.stderr, /--quiet.*cannot be used with.*--verbose/);
  });

  it("one image on a terminal: one bar and no total line", async () => {
    const run = await diskpipeInTerminal(
      ["convert", `${base}/a.img`, join(dir, "single.qcow2"), "--to", "qcow2", "--force"],
      cleanEnv(),
    );
    assert.equal(run.status, 0, run.output);
    const frames = framesOf(run.output);
    assert.ok(
      frames.some((frame) => frame.length === 1 && /^a\.img +fetch +\[#*-*\]/.test(frame[0])),
      run.output,
    );
    assert.ok(!frames.some((frame) => frame.some((line) => line.startsWith("total "))), "no total for one job");
    assert.ok(readFileSync(join(dir, "single.qcow2")).length > 0);
  });
});
