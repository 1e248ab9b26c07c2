import assert from "node:assert/strict";
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { diskJob, disksAtOnce, SharedSpace, SummedProgress } from "../../src/core/disk-jobs.ts";
import type { RunningJob } from "../../src/core/job-context.ts";
import { createPipeline, defineFormat, definePlugin } from "../../src/mod.ts";
import { failure } from "../helpers/failure.ts";
import { mountPlace } from "../helpers/devices.ts";
import { tempDir } from "../helpers/images.ts";
import { needsRoot } from "../helpers/process-state.ts";

const MiB = 1024 * 1024;
const MAGIC = "SIDEBYSD";

describe("disksAtOnce", () => {
  it("is one per core, at least one, at most four, never more than the disks", () => {
    const cores = availableParallelism();
    assert.equal(disksAtOnce(1), 1);
    assert.equal(disksAtOnce(0), 1);
    assert.equal(disksAtOnce(2), Math.min(2, cores));
    assert.equal(disksAtOnce(100), Math.min(4, cores));
  });
});

describe("diskJob and SummedProgress", () => {
  const reported: Array<[number, number | undefined]> = [];
  const job = {
    id: "j1",
    workDir: "/w",
    spec: { source: "vm.ova", destination: "out", to: "qcow2" },
    signal: new AbortController().signal,
    progress: (bytes: number, total?: number) => void reported.push([bytes, total]),
  } as unknown as RunningJob;

  it("gives a disk its own request, image and signal; the rest is the job's", () => {
    const signal = new AbortController().signal;
    const view = diskJob(job, "out/vm-disk2.qcow2", signal, () => undefined);
    view.image = { path: "/w/disk2", temporary: true };
    view.spec.to = "raw";
    assert.equal(view.spec.destination, "out/vm-disk2.qcow2");
    assert.equal(view.signal, signal);
    assert.equal(view.id, "j1");
    assert.equal(view.workDir, "/w");
    assert.equal(job.spec.destination, "out", "the job's request is untouched");
    assert.equal(job.spec.to, "qcow2");
    assert.equal(job.image, undefined);
  });

  it("lets a hook replace a disk's request as it may the job's, and lists the disk's own properties as the job's are", () => {
    const view = diskJob(job, "out/vm-disk1.qcow2", job.signal, () => undefined);
    view.spec = { ...view.spec, to: "vmdk" };
    assert.equal(view.spec.to, "vmdk");
    assert.equal(job.spec.to, "qcow2", "the job's request is untouched");
    // A hook that copies or logs its context sees the disk's request, signal and progress.
    assert.deepEqual(Object.keys(view).sort(), ["progress", "signal", "spec"]);
    assert.equal({ ...view }.spec.destination, "out/vm-disk1.qcow2");
  });

  it("sums the disks' bytes and totals, each as last reported", () => {
    const sum = new SummedProgress(job, 2);
    sum.of(0)(10);
    sum.of(1)(5, 100);
    sum.of(0)(20, 50);
    sum.of(1)(60);
    assert.deepEqual(reported, [
      [10, undefined],
      [15, 100],
      [25, 150],
      [80, 150],
    ]);
  });
});

describe("SharedSpace", () => {
  it("tells each disk what the others hold, until they release it", () => {
    const space = new SharedSpace();
    assert.equal(space.of(0).hold(4096), 0);
    assert.equal(space.of(1).hold(8192), 4096);
    assert.equal(space.of(2).hold(1), 4096 + 8192);
    space.of(0).release();
    assert.equal(space.of(1).hold(8192), 1, "a disk's own hold is replaced, not added");
    space.of(1).release();
    space.of(2).release();
    assert.equal(space.of(3).hold(5), 0);
  });
});

describe("an appliance's disks side by side", () => {
  const { dir, cleanup } = tempDir("diskpipe-disk-jobs-");
  after(cleanup);
  const source = join(dir, "pair.bin");
  writeFileSync(
    source,
    Buffer.concat([Buffer.from(MAGIC), Buffer.alloc(MiB, 1), Buffer.alloc(MiB, 2), Buffer.alloc(MiB, 3)]),
  );
  const pair = (hooks: Parameters<typeof definePlugin>[0]["hooks"], count = 2) =>
    definePlugin({
      name: "pair",
      hooks,
      formats: [
        defineFormat({
          name: "pair",
          detect: async (reader) =>
            Buffer.from(await reader.read(0, MAGIC.length)).toString("latin1") === MAGIC
              ? { format: "pair", problems: [], details: {} }
              : null,
          unpack: async (ctx) => ({
            disks: Array.from({ length: count }, (_, i) => ({
              path: ctx.image?.path ?? "",
              format: "raw",
              region: { offset: MAGIC.length + i * MiB, length: MiB },
            })),
            description: { suffix: "pair", render: () => ({}) },
          }),
        }),
      ],
    });

  it(
    "stops the other disks when one fails, and fails with that disk's error, leaving nothing",
    { timeout: 120_000 },
    async (t) => {
      if (disksAtOnce(2) < 2) {
        if (process.env.CI) assert.fail("two cores are needed to convert two disks at once (CI runs on two)");
        return t.skip("one core: the disks convert one after the other");
      }
      let entered: () => void = () => undefined;
      const secondWaits = new Promise<void>((resolve) => (entered = resolve));
      let secondSawAbort = false;
      const hooks = {
        async verify(ctx: { spec: { destination: string }; signal: AbortSignal }) {
          if (ctx.spec.destination.endsWith("-disk1.raw")) {
            await secondWaits;
            throw new Error("disk 1 refused by the test");
          }
          entered();
          // Ends only when the failure of disk 1 aborts this disk's signal (the test's timeout is the hang guard).
          await new Promise<void>((resolve) => ctx.signal.addEventListener("abort", () => resolve(), { once: true }));
          secondSawAbort = true;
          ctx.signal.throwIfAborted();
        },
      };
      const out = join(dir, "out");
      mkdirSync(out);
      const error = await failure(
        createPipeline({ workDir: join(dir, "work"), plugins: [pair(hooks)] }).run({
          source,
          destination: out,
          to: "raw",
        }),
      );
      assert.match(error.message, /disk 1 refused by the test/);
      assert.equal(secondSawAbort, true, "the second disk was stopped");
      assert.deepEqual(readdirSync(out), []);
    },
  );

  it(
    "are refused before either is written when they fit one by one but not together",
    { skip: needsRoot("mounts a tmpfs") },
    async () => {
      const place = mountPlace();
      try {
        // Two disks of 3 MiB of random data each (raw to raw: 3 MiB of output each) into 5 MiB.
        const full = join(dir, "full.bin");
        writeFileSync(full, Buffer.concat([Buffer.from(MAGIC), randomBytes(MiB * 3), randomBytes(MiB * 3)]));
        const threes = definePlugin({
          name: "threes",
          formats: [
            defineFormat({
              name: "threes",
              detect: async (reader) =>
                Buffer.from(await reader.read(0, MAGIC.length)).toString("latin1") === MAGIC
                  ? { format: "threes", problems: [], details: {} }
                  : null,
              unpack: async (ctx) => ({
                disks: [0, 1].map((i) => ({
                  path: ctx.image?.path ?? "",
                  format: "raw",
                  region: { offset: MAGIC.length + i * 3 * MiB, length: 3 * MiB },
                })),
                description: { suffix: "threes", render: () => ({}) },
              }),
            }),
          ],
        });
        const out = place.mount("out", ["-t", "tmpfs", "-o", "size=5m", "tmpfs"]);
        const error = await failure(
          // Throttled to 1 MiB/s (qemu-img's -r): the first disk's output is still being written, its
          // space held, when the second disk checks; without the hold both would pass and run out mid-way.
          createPipeline({
            workDir: join(dir, "work"),
            plugins: [threes],
            throttle: { bytesPerSecond: 1024 * 1024, method: "none" },
          }).run({
            source: full,
            destination: out,
            to: "raw",
          }),
        );
        assert.equal(error.code, "no-space", error.message);
        assert.match(
          error.message,
          /not enough space for the output .* besides the 3 MiB of the outputs written with it/,
        );
        assert.deepEqual(readdirSync(out), []);
      } finally {
        place.cleanup();
      }
    },
  );

  it(
    "starts no further disk once one has failed (a third disk waiting for a free slot never begins)",
    { timeout: 120_000 },
    async (t) => {
      if (disksAtOnce(3) !== 2) {
        if (process.env.CI) assert.fail("two cores are needed (CI runs on two): two disks at once, the third waiting");
        return t.skip("the third disk waits for a slot only with two disks at once");
      }
      let entered: () => void = () => undefined;
      const secondWaits = new Promise<void>((resolve) => (entered = resolve));
      const verified: string[] = [];
      const hooks = {
        async verify(ctx: { spec: { destination: string }; signal: AbortSignal }) {
          verified.push(ctx.spec.destination.replace(/^.*-/, ""));
          if (ctx.spec.destination.endsWith("-disk1.raw")) {
            await secondWaits;
            throw new Error("disk 1 refused by the test");
          }
          entered();
          await new Promise<void>((resolve) => ctx.signal.addEventListener("abort", () => resolve(), { once: true }));
          ctx.signal.throwIfAborted();
        },
      };
      const pipeline = createPipeline({ workDir: join(dir, "work"), plugins: [pair(hooks, 3)] });
      const inspections: string[] = [];
      pipeline.on((event) => {
        if (event.type === "stage-start" && event.stage === "inspect") inspections.push(event.stage);
      });
      const out = join(dir, "out3");
      mkdirSync(out);
      const error = await failure(pipeline.run({ source, destination: out, to: "raw" }));
      assert.match(error.message, /disk 1 refused by the test/);
      assert.deepEqual(verified.sort(), ["disk1.raw", "disk2.raw"]);
      assert.equal(inspections.length, 3, "the container's inspection and two disks', none of the third");
      assert.deepEqual(readdirSync(out), []);
    },
  );
});
