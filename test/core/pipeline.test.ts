import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { JobEvent } from "../../src/core/job.ts";
import { createPipeline } from "../../src/create-pipeline.ts";
import { definePlugin } from "../../src/core/plugin.ts";
import { DRIVER, listDir, makeImage, makeRaw, qemuImg, sameDisk, tempDir } from "../helpers/images.ts";

const FORMATS = ["raw", "qcow2", "vmdk", "vhd", "vhdx", "vdi"];
const SIZE = 6 * 1024 * 1024;

describe("pipeline: every conversion pair", () => {
  const { dir, cleanup } = tempDir();
  const work = join(dir, "work");
  const inputs: Record<string, string> = {};

  before(() => {
    mkdirSync(join(dir, "out"));
    const raw = makeRaw(join(dir, "src.raw"), SIZE);
    for (const format of FORMATS) {
      inputs[format] =
        format === "raw"
          ? raw
          : makeImage(raw, DRIVER[format], join(dir, `src.${format}`), format === "vhd" ? ["-o", "force_size=on"] : []);
    }
  });
  after(cleanup);

  for (const from of FORMATS) {
    for (const to of FORMATS) {
      it(`${from} -> ${to}`, async () => {
        const pipeline = createPipeline({ workDir: work });
        const destination = join(dir, "out", `${from}-to-${to}.${to}`);
        const result = await pipeline.run({ source: inputs[from], destination, to, from });
        assert.equal(result.from, from);
        assert.equal(result.virtualSize, SIZE);
        assert.ok(sameDisk(inputs.raw, "raw", destination, DRIVER[to]), `${destination} differs from the source disk`);
        assert.equal(JSON.parse(qemuImg("info", "--output=json", "-f", DRIVER[to], destination))["virtual-size"], SIZE);
      });
    }
  }

  it("left no temporary file behind", () => {
    assert.deepEqual(
      readdirSync(join(dir, "out")).filter((name) => name.startsWith(".")),
      [],
    );
    assert.deepEqual(existsSync(join(work, "diskpipe")) ? listDir(join(work, "diskpipe")) : [], []);
  });
});

describe("pipeline: hostile images are refused before conversion", () => {
  const { dir, cleanup } = tempDir();
  const work = join(dir, "work");
  const images: Record<string, string> = {};

  before(() => {
    const raw = makeRaw(join(dir, "base.raw"), SIZE);
    const base = makeImage(raw, "qcow2", join(dir, "base.qcow2"));
    images.backing = join(dir, "backing.qcow2");
    qemuImg("create", "-f", "qcow2", "-b", base, "-F", "qcow2", images.backing);
    images.dataFile = join(dir, "datafile.qcow2");
    // data_file names a fresh path in the temp dir: qemu-img create truncates the file it names.
    qemuImg(
      "create",
      "-f",
      "qcow2",
      "-o",
      `data_file=${join(dir, "fresh-data-file.bin")}`,
      images.dataFile,
      String(SIZE),
    );
    images.flatVmdk = join(dir, "flat.vmdk");
    qemuImg("create", "-f", "vmdk", "-o", "subformat=monolithicFlat", images.flatVmdk, String(SIZE));
    images.qcow2ClaimedRaw = base;
  });
  after(cleanup);

  for (const [name, claim, codes] of [
    ["backing", undefined, ["qcow2-backing-file"]],
    ["dataFile", undefined, ["qcow2-data-file"]],
    ["flatVmdk", undefined, ["vmdk-create-type", "vmdk-extent-file"]],
    ["qcow2ClaimedRaw", "raw", ["format-mismatch"]],
  ] as const) {
    it(`${name}${claim ? ` claimed ${claim}` : ""}: exit 3, no output, nothing left`, async () => {
      const events: JobEvent[] = [];
      const pipeline = createPipeline({ workDir: work });
      pipeline.on((e) => events.push(e));
      const destination = join(dir, `${name}.raw`);
      await assert.rejects(
        pipeline.run({ source: images[name], destination, to: "raw", ...(claim && { from: claim }) }),
        (error: Error & { code?: string; exitCode?: number; problems?: Array<{ code: string }> }) => {
          assert.equal(error.exitCode, 3);
          assert.ok(
            error.problems?.some((p) => (codes as readonly string[]).includes(p.code)),
            `problems ${JSON.stringify(error.problems)} lack ${codes}`,
          );
          return true;
        },
      );
      assert.equal(existsSync(destination), false);
      assert.deepEqual(
        readdirSync(dir).filter((f) => f.includes("diskpipe-tmp")),
        [],
      );
      assert.ok(!events.some((e) => e.type === "stage-start" && e.stage === "convert"), "conversion must not start");
      const failed = events.find((e) => e.type === "failed");
      assert.equal(failed?.type === "failed" && failed.error.stage, "inspect");
    });
  }
});

describe("pipeline: hooks in a real job", () => {
  const { dir, cleanup } = tempDir();
  let source = "";
  before(() => {
    source = makeImage(makeRaw(join(dir, "a.raw"), SIZE), "vmdk", join(dir, "a.vmdk"));
  });
  after(cleanup);

  it("runs the five hook points in stage order with timings, and a preConvert transform reaches qemu-img", async () => {
    const calls: string[] = [];
    const pipeline = createPipeline({
      workDir: join(dir, "work"),
      plugins: [
        definePlugin({
          name: "observer",
          hooks: {
            preFetch: () => void calls.push("preFetch"),
            verify: (ctx) => void calls.push(`verify:${ctx.inspection?.format}`),
            preConvert: (plan) => {
              calls.push("preConvert");
              return { ...plan, output: { ...plan.output, options: { ...plan.output.options, cluster_size: 131072 } } };
            },
            postConvert: (ctx) => void calls.push(`postConvert:${existsSync(ctx.output!.path)}`),
            upload: () => void calls.push("upload"),
          },
        }),
      ],
    });
    const hookEvents: string[] = [];
    pipeline.on((e) => e.type === "hook" && hookEvents.push(`${e.hook}:${e.plugin}`));
    const destination = join(dir, "a.qcow2");
    const result = await pipeline.run({ source, destination, to: "qcow2" });
    assert.deepEqual(calls, ["preFetch", "verify:vmdk", "preConvert", "postConvert:true", "upload"]);
    assert.deepEqual(hookEvents, [
      "preFetch:observer",
      "verify:observer",
      "preConvert:observer",
      "postConvert:observer",
      "upload:observer",
    ]);
    assert.equal(JSON.parse(qemuImg("info", "--output=json", "-f", "qcow2", destination))["cluster-size"], 131072);
    assert.deepEqual(
      result.timings.map((t) => t.stage),
      [
        "resolve",
        "preFetch",
        "fetch",
        "inspect",
        "verify",
        "prepare",
        "preConvert",
        "convert",
        "postConvert",
        "upload",
        "cleanup",
      ],
    );
  });

  it("a verify veto stops the job with the plugin's name, exit 3, and no output", async () => {
    const pipeline = createPipeline({
      workDir: join(dir, "work"),
      plugins: [
        definePlugin({
          name: "policy",
          hooks: {
            verify: () => {
              throw new Error("vmdk is not allowed here");
            },
          },
        }),
      ],
    });
    const destination = join(dir, "vetoed.qcow2");
    await assert.rejects(pipeline.run({ source, destination, to: "qcow2" }), {
      code: "image-rejected",
      plugin: "policy",
      hook: "verify",
      exitCode: 3,
    });
    assert.equal(existsSync(destination), false);
  });

  it("a postConvert failure removes the written output", async () => {
    const pipeline = createPipeline({
      workDir: join(dir, "work"),
      plugins: [
        definePlugin({
          name: "checker",
          hooks: {
            postConvert: () => {
              throw new Error("output looks wrong");
            },
          },
        }),
      ],
    });
    const destination = join(dir, "checked.qcow2");
    await assert.rejects(pipeline.run({ source, destination, to: "qcow2" }), {
      code: "plugin-failed",
      plugin: "checker",
    });
    assert.equal(existsSync(destination), false);
    assert.deepEqual(
      readdirSync(dir).filter((f) => f.includes("diskpipe-tmp")),
      [],
    );
  });

  it("emits progress in bytes and percent and a done event", async () => {
    const events: JobEvent[] = [];
    const pipeline = createPipeline({ workDir: join(dir, "work") });
    pipeline.on((e) => events.push(e));
    await pipeline.run({ source, destination: join(dir, "p.raw"), to: "raw" });
    const progress = events.filter((e) => e.type === "progress");
    assert.ok(progress.length > 0);
    const last = progress.at(-1)!;
    assert.equal(last.type === "progress" && last.percent, 100);
    assert.equal(last.type === "progress" && last.bytes, SIZE);
    assert.equal(events.at(-1)?.type, "done");
  });

  it("refuses to overwrite an existing destination unless asked", async () => {
    const destination = join(dir, "exists.raw");
    writeFileSync(destination, "keep me");
    const pipeline = createPipeline({ workDir: join(dir, "work") });
    await assert.rejects(pipeline.run({ source, destination, to: "raw" }), { code: "usage" });
    const { readFileSync } = await import("node:fs");
    assert.equal(readFileSync(destination, "utf8"), "keep me");
    await pipeline.run({ source, destination, to: "raw", overwrite: true });
    assert.ok(sameDisk(join(dir, "a.raw"), "raw", destination, "raw"));
  });

  it("rejects a virtual size above maxSize", async () => {
    const pipeline = createPipeline({ workDir: join(dir, "work"), maxSize: "1M" });
    await assert.rejects(
      pipeline.run({ source, destination: join(dir, "big.raw"), to: "raw" }),
      (error: Error & { problems?: Array<{ code: string }> }) => {
        assert.ok(error.problems?.some((p) => p.code === "too-large"));
        return true;
      },
    );
  });
});
