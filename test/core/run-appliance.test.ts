import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import type { JobEvent } from "../../src/core/job.ts";
import type { ApplianceDisk, ApplianceOutput } from "../../src/core/plugin.ts";
import { defineFormat, definePlugin } from "../../src/core/plugin.ts";
import { createPipeline } from "../../src/create-pipeline.ts";
import { disksAtOnce } from "../../src/core/disk-jobs.ts";
import { referenceContentHash } from "../helpers/content-hash.ts";
import { rack, RACK_MAGIC as MAGIC } from "../helpers/appliance-rack.ts";
import { failure } from "../helpers/failure.ts";
import { makeBackedQcow2, makeImage, makeRaw, sameDisk, tempDir } from "../helpers/images.ts";

const MiB = 2 ** 20;

describe("runAppliance: a container that holds several disks", () => {
  const { dir, cleanup } = tempDir("diskpipe-appliance-");
  after(cleanup);
  const work = join(dir, "work");
  const source = join(dir, "vm.rack");
  writeFileSync(source, MAGIC);
  const raw1 = makeRaw(join(dir, "one.raw"), 3 * MiB, 3);
  const raw2 = makeRaw(join(dir, "two.raw"), 1 * MiB, 4);
  const vmdk2 = makeImage(raw2, "vmdk", join(dir, "two.vmdk"));
  const backed = makeBackedQcow2(dir);
  /** The job directories left under the work root (each job's own, removed when it ends). */
  const jobDirs = () => (existsSync(join(work, "diskpipe")) ? readdirSync(join(work, "diskpipe")) : []);
  let runs = 0;
  const outDir = () => {
    const out = join(dir, `out${++runs}`);
    mkdirSync(out);
    return out;
  };
  const good = () => [
    { from: raw1, format: "raw", capacity: 3 * MiB },
    { from: vmdk2, format: "vmdk", capacity: 1 * MiB },
  ];
  const pipelineWith = (plugin: ReturnType<typeof rack>) => createPipeline({ workDir: work, plugins: [plugin] });

  it("converts each disk to <stem>-disk<N>, writes the description last, and says where each went", async () => {
    const out = outDir();
    const seen: string[] = [];
    const pipeline = pipelineWith(rack(good, { postConvert: (ctx) => void seen.push(ctx.spec.destination) }));
    const result = await pipeline.run({ source, destination: out, to: "qcow2" });
    assert.deepEqual(readdirSync(out).sort(), ["vm-disk1.qcow2", "vm-disk2.qcow2", "vm.rack.json"]);
    assert.ok(sameDisk(raw1, "raw", join(out, "vm-disk1.qcow2"), "qcow2"));
    assert.ok(sameDisk(raw2, "raw", join(out, "vm-disk2.qcow2"), "qcow2"));
    // The disks convert side by side: which reaches postConvert first is not fixed.
    assert.deepEqual(
      seen.sort(),
      [join(out, "vm-disk1.qcow2"), join(out, "vm-disk2.qcow2")],
      "hooks see each disk's output",
    );
    assert.equal(result.destination, out);
    assert.equal(result.from, "raw,vmdk");
    assert.equal(result.virtualSize, 4 * MiB);
    assert.equal(result.description, join(out, "vm.rack.json"));
    assert.deepEqual(
      result.outputs?.map((o) => [o.path, o.file, o.format, o.virtualSize]),
      [
        [join(out, "vm-disk1.qcow2"), "vm-disk1.qcow2", "qcow2", 3 * MiB],
        [join(out, "vm-disk2.qcow2"), "vm-disk2.qcow2", "qcow2", 1 * MiB],
      ],
    );
    const description = JSON.parse(readFileSync(join(out, "vm.rack.json"), "utf8"));
    assert.equal(description.machine, "m1");
    assert.deepEqual(
      description.outputs.map((o: ApplianceOutput) => o.file),
      ["vm-disk1.qcow2", "vm-disk2.qcow2"],
    );
    assert.equal(result.outputSize, description.outputs[0].size + description.outputs[1].size);
    assert.deepEqual(jobDirs(), [], "the work directory is cleaned up");
  });

  it("with verify: each disk's output checked against its source, and its content hash in the result", async () => {
    const out = outDir();
    const result = await pipelineWith(rack(good)).run({ source, destination: out, to: "vdi", verify: true });
    assert.deepEqual(
      result.outputs?.map((o) => o.contentHash),
      [raw1, raw2].map((raw) => referenceContentHash(readFileSync(raw))),
    );
  });

  it("runs its stages in order for each disk, one inspected event each, sizes as written, no capacity needed", async () => {
    const out = outDir();
    const events: JobEvent[] = [];
    const pipeline = pipelineWith(rack(() => good().map(({ capacity: _capacity, ...disk }) => disk)));
    pipeline.on((event) => events.push(event));
    const result = await pipeline.run({ source, destination: out, to: "qcow2" });
    const perDisk = ["inspect", "verify", "prepare", "preConvert", "convert", "postConvert", "upload"];
    const stages = result.timings.map((t) => t.stage);
    assert.deepEqual(stages.slice(0, 6), ["resolve", "preFetch", "fetch", "inspect", "unpack", "prepare"]);
    assert.deepEqual(stages.slice(-2), ["upload", "cleanup"]);
    // The disks run side by side: each disk's stages, the two interleaved.
    assert.deepEqual(stages.slice(6, -2).sort(), [...perDisk, ...perDisk].sort());
    const started = events.flatMap((e) => (e.type === "stage-start" ? [e.stage] : []));
    const atOnce = disksAtOnce(2);
    assert.equal(atOnce, Math.min(2, availableParallelism()));
    assert.deepEqual(started.slice(6, 6 + atOnce), new Array(atOnce).fill("inspect"), "the disks start together");
    assert.deepEqual(events.flatMap((e) => (e.type === "inspected" ? [e.result.format] : [])).sort(), ["raw", "vmdk"]);
    for (const output of result.outputs ?? []) assert.equal(output.size, statSync(output.path).size, output.file);
  });

  it("one disk may be pinned by its content hash", async () => {
    const one = () => [good()[0]];
    const pinned = referenceContentHash(readFileSync(raw1));
    const result = await pipelineWith(rack(one)).run({
      source,
      destination: outDir(),
      to: "raw",
      contentHash: pinned,
    });
    assert.equal(result.outputs?.[0].contentHash, pinned);
  });

  it("named after the destination when it is a file path (--out-dir gives out/vm.qcow2)", async () => {
    const out = outDir();
    await pipelineWith(rack(good)).run({ source, destination: join(out, "web.qcow2"), to: "qcow2" });
    assert.deepEqual(readdirSync(out).sort(), ["web-disk1.qcow2", "web-disk2.qcow2", "web.rack.json"]);
  });

  const refusals: Array<[string, () => Array<Omit<ApplianceDisk, "path"> & { from: string }>, string, RegExp]> = [
    [
      "a disk whose header disagrees with its declared capacity",
      () => [good()[0], { from: vmdk2, format: "vmdk", capacity: 2 * MiB }],
      "format-mismatch",
      /disk 2 is declared as 2097152 bytes but its vmdk header says 1048576/,
    ],
    [
      "a disk with a backing file",
      () => [good()[0], { from: backed, format: "qcow2" }],
      "image-rejected",
      /backing file/,
    ],
    [
      "a disk claimed as vmdk that is a qcow2",
      () => [good()[0], { from: backed, format: "vmdk" }],
      "format-mismatch",
      /claimed to be vmdk but is qcow2/,
    ],
  ];
  for (const [what, disks, code, message] of refusals) {
    it(`refuses ${what} after converting disk 1, and leaves no output at all`, async () => {
      const out = outDir();
      const error = await failure(pipelineWith(rack(disks)).run({ source, destination: out, to: "qcow2" }));
      assert.equal(error.code, code, error.message);
      assert.equal(error.stage, "inspect");
      assert.match(error.message, message);
      assert.deepEqual(readdirSync(out), []);
      assert.deepEqual(jobDirs(), []);
    });
  }

  it("a veto of the last disk's upload hook leaves no output", async () => {
    const out = outDir();
    let uploads = 0;
    const veto = {
      upload: () => {
        if (++uploads === 2) throw new Error("the store is full");
      },
    };
    const error = await failure(pipelineWith(rack(good, veto)).run({ source, destination: out, to: "qcow2" }));
    assert.match(error.message, /the store is full/);
    assert.deepEqual(readdirSync(out), []);
  });

  it("--from a format that accepts others (raw or qcow2) holds for raw disks, and refuses a vmdk disk in prepare", async () => {
    // A cloud's image kind: its bytes are raw or qcow2 (as the ami plugin's are).
    const cloud = definePlugin({
      name: "test-cloud",
      formats: [defineFormat({ name: "test-cloud", accepts: ["raw", "qcow2"], writable: false })],
    });
    const run = (disks: typeof good, destination: string) =>
      createPipeline({ workDir: work, plugins: [rack(disks), cloud] }).run({
        source,
        destination,
        to: "qcow2",
        from: "test-cloud",
      });
    const raws = () => [{ from: raw1, format: "raw", capacity: 3 * MiB }];
    assert.equal((await run(raws, outDir())).outputs?.length, 1);
    const out = outDir();
    const error = await failure(run(good, out));
    assert.equal(error.code, "format-mismatch", error.message);
    assert.equal(error.stage, "prepare");
    assert.match(error.message, /disk 2 is vmdk \(as the appliance declares it\), not test-cloud as claimed/);
    assert.deepEqual(readdirSync(out), []);
  });

  it("a disk whose output cannot be put in place removes the disks put in place before it, and only those", async () => {
    const out = outDir();
    // Another writer takes disk 2's name while the disks convert: disk 1 is committed first, then disk 2's commit fails.
    const intruder = {
      upload: (ctx: { spec: { destination: string } }) => {
        if (ctx.spec.destination.endsWith("-disk2.qcow2")) writeFileSync(ctx.spec.destination, "another writer's");
      },
    };
    const error = await failure(pipelineWith(rack(good, intruder)).run({ source, destination: out, to: "qcow2" }));
    assert.equal(error.code, "usage", error.message);
    assert.match(error.message, /appeared while converting/);
    assert.deepEqual(readdirSync(out), ["vm-disk2.qcow2"], "disk 1 removed, the other writer's file kept");
    assert.equal(readFileSync(join(out, "vm-disk2.qcow2"), "utf8"), "another writer's");
  });

  it("refuses a URL destination, an existing output (unless overwrite) and a content-hash pin of several disks", async () => {
    const pipeline = pipelineWith(rack(good));
    const url = await failure(pipeline.run({ source, destination: "http://127.0.0.1:9/out/", to: "qcow2" }));
    assert.equal(url.code, "usage");
    assert.match(url.message, /appliance of 2 disk\(s\): its outputs go to a local directory/);
    const out = outDir();
    writeFileSync(join(out, "vm.rack.json"), "kept");
    const exists = await failure(pipeline.run({ source, destination: out, to: "qcow2" }));
    assert.equal(exists.code, "usage");
    assert.equal(exists.stage, "prepare");
    assert.match(exists.message, /vm\.rack\.json already exists/);
    assert.deepEqual(readdirSync(out), ["vm.rack.json"]);
    assert.equal(readFileSync(join(out, "vm.rack.json"), "utf8"), "kept");
    await pipeline.run({ source, destination: out, to: "qcow2", overwrite: true });
    assert.deepEqual(readdirSync(out).sort(), ["vm-disk1.qcow2", "vm-disk2.qcow2", "vm.rack.json"]);
    const pinned = await failure(
      pipeline.run({ source, destination: outDir(), to: "qcow2", contentHash: `blk-sha256:${"0".repeat(64)}` }),
    );
    assert.equal(pinned.code, "usage");
    assert.equal(pinned.stage, "prepare");
    assert.match(pinned.message, /--content-hash pins one disk/);
  });

  it("an appliance with no disk is the plugin's failure", async () => {
    const error = await failure(pipelineWith(rack(() => [])).run({ source, destination: outDir(), to: "qcow2" }));
    assert.equal(error.code, "plugin-failed");
    assert.match(error.message, /the appliance holds no disk/);
  });

  it("--force: a failure after outputs replaced files puts the replaced files back", async () => {
    const out = join(dir, "forced");
    mkdirSync(out);
    const names = ["vm-disk1.raw", "vm-disk2.raw", "vm.rack.json"];
    for (const name of names) writeFileSync(join(out, name), `old ${name}`);
    const broken = rack(
      () => [
        { from: raw1, format: "raw" },
        { from: raw2, format: "raw" },
      ],
      {},
      () => {
        throw new Error("the description cannot be rendered");
      },
    );
    const error = await failure(
      createPipeline({ workDir: work, plugins: [broken] }).run({
        source,
        destination: out,
        to: "raw",
        overwrite: true,
      }),
    );
    assert.match(error.message, /the description cannot be rendered/);
    assert.deepEqual(readdirSync(out).sort(), names);
    for (const name of names) assert.equal(readFileSync(join(out, name), "utf8"), `old ${name}`);

    const done = await createPipeline({
      workDir: work,
      plugins: [
        rack(() => [
          { from: raw1, format: "raw" },
          { from: raw2, format: "raw" },
        ]),
      ],
    }).run({
      source,
      destination: out,
      to: "raw",
      overwrite: true,
    });
    assert.equal(done.outputs?.length, 2);
    // The replaced files are gone once the new ones are all in place: nothing hidden is left.
    assert.deepEqual(readdirSync(out).sort(), names);
    assert.ok(sameDisk(raw1, "raw", join(out, "vm-disk1.raw"), "raw"));
  });
});
