import assert from "node:assert/strict";
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { RateLimiter, ioWrapper, type ThrottleProbe } from "../../../src/core/io/throttle.ts";
import type { ConvertPlan } from "../../../src/core/job.ts";
import { createPipeline } from "../../../src/create-pipeline.ts";
import { definePlugin } from "../../../src/core/plugin.ts";
import { QemuImg } from "../../../src/core/qemu-img.ts";
import { makeImage, makeRaw, sameDisk, tempDir } from "../../helpers/images.ts";
import { TestServer } from "./server.ts";

const MiB = 1024 * 1024;
const probe = (cgroup: boolean, ionice = true): ThrottleProbe => ({
  cgroupV2: () => cgroup,
  has: (c) => c === "ionice" && ionice,
});
const paths = { input: "/srv/in.vmdk", output: "/data/out/disk.qcow2" };

describe("throttle", () => {
  const { dir, cleanup } = tempDir();
  after(cleanup);

  it("paces bytes to the rate", async () => {
    const pace = new RateLimiter(4 * MiB);
    const t0 = performance.now();
    for (let i = 0; i < 16; i++) await pace.take(MiB / 8);
    const ms = performance.now() - t0;
    // 2 MiB at 4 MiB/s is 500 ms, less the 100 ms burst allowance.
    assert.ok(ms >= 350 && ms < 1500, `took ${ms} ms`);
  });

  it("builds no prefix unless something asks for a throttle", () => {
    assert.equal(ioWrapper({}, probe(true)), undefined);
    assert.equal(ioWrapper({ bytesPerSecond: 1000, method: "none" }, probe(true)), undefined);
  });

  it("uses cgroup v2 io.max through systemd-run where available, ionice for the class", () => {
    const wrap = ioWrapper({ bytesPerSecond: 50_000_000, ioClass: "idle" }, probe(true))!;
    assert.deepEqual(wrap(paths), [
      "systemd-run",
      "--scope",
      "--quiet",
      "--collect",
      "-p",
      "IOReadBandwidthMax=/srv/in.vmdk 50000000",
      "-p",
      "IOWriteBandwidthMax=/data/out 50000000",
      "ionice",
      "-c",
      "3",
    ]);
    assert.deepEqual(ioWrapper({ bytesPerSecond: 1000 }, probe(true))!(paths).slice(0, 2), ["systemd-run", "--scope"]);
  });

  it("falls back to ionice when cgroups are not available, and says so when a method cannot work", () => {
    assert.deepEqual(ioWrapper({ bytesPerSecond: 1000 }, probe(false))!(paths), ["ionice", "-c", "2", "-n", "7"]);
    assert.deepEqual(ioWrapper({ ioClass: "idle", method: "ionice" }, probe(true))!(paths), ["ionice", "-c", "3"]);
    assert.throws(() => ioWrapper({ bytesPerSecond: 1000, method: "cgroup" }, probe(false)), /systemd with cgroup v2/);
    assert.throws(
      () => ioWrapper({ ioClass: "idle", method: "ionice" }, probe(false, false)),
      /ionice is not installed/,
    );
  });

  it("runs qemu-img through the wrapper prefix, from the adapter only", async () => {
    const log = join(dir, "wrapper.log");
    const script = join(dir, "wrapper.sh");
    writeFileSync(script, `#!/bin/sh\necho "$@" >> ${log}\nexec "$@"\n`);
    chmodSync(script, 0o755);
    const raw = makeRaw(join(dir, "w.raw"), 2 * MiB);
    const qemu = new QemuImg({ wrapper: () => [script, "ionice", "-c", "3"] });
    const plan: ConvertPlan = {
      input: { path: raw, format: "raw", driver: "raw", options: {} },
      output: { path: join(dir, "w.qcow2"), format: "qcow2", driver: "qcow2", options: {} },
      secrets: [],
      flags: { rateLimit: 64 * MiB },
      engine: "qemu-img",
    };
    assert.deepEqual(qemu.convertCommand(plan).slice(0, 5), [script, "ionice", "-c", "3", "prlimit"]);
    assert.equal(qemu.convertCommand(plan)[8], "qemu-img", "the wrapper runs qemu-img under its limits");
    await qemu.convert(plan);
    assert.match(
      readFileSync(log, "utf8"),
      /^ionice -c 3 prlimit --cpu=60 --as=2147483648 -- qemu-img convert .* -r 67108864 /,
    );
    assert.ok(sameDisk(raw, "raw", plan.output.path, "qcow2"));
  });

  it("holds the copy engine, the download and qemu-img to throttle.bytesPerSecond", async () => {
    const raw = makeRaw(join(dir, "t.raw"), 4 * MiB);
    const { openSync, writeSync, closeSync } = await import("node:fs");
    const fd = openSync(raw, "r+");
    for (let at = 0; at < 4 * MiB; at += 256 * 1024) writeSync(fd, Buffer.alloc(4096, 9), 0, 4096, at);
    closeSync(fd);
    const server = await new TestServer().start();
    server.routes.set("/t.raw", { file: raw });
    let flags: ConvertPlan["flags"] | undefined;
    const spy = definePlugin({
      name: "spy",
      enforce: "post",
      hooks: { preConvert: (plan) => void (flags = plan.flags) },
    });
    try {
      const pipeline = createPipeline({
        workDir: join(dir, "work"),
        plugins: [spy],
        throttle: { bytesPerSecond: 8 * MiB, method: "none" },
      });
      const result = await pipeline.run({
        source: server.url("/t.raw"),
        destination: join(dir, "t-out.raw"),
        to: "raw",
      });
      const fetchMs = result.timings.find((t) => t.stage === "fetch")!.ms;
      const convertMs = result.timings.find((t) => t.stage === "convert")!.ms;
      assert.equal(flags?.rateLimit, 8 * MiB);
      // 4 MiB at 8 MiB/s: about 400 ms each for the download and the copy (less the burst allowance).
      assert.ok(fetchMs >= 300, `fetch took ${fetchMs} ms`);
      assert.ok(convertMs >= 300, `copy took ${convertMs} ms`);
      assert.ok(sameDisk(raw, "raw", join(dir, "t-out.raw"), "raw"));
      const qcow2 = makeImage(raw, "qcow2", join(dir, "t.qcow2"));
      let argv: string[] = [];
      const watch = definePlugin({
        name: "argv",
        enforce: "post",
        hooks: { preConvert: (plan, ctx) => void (argv = ctx.qemu.convertCommand(plan)) },
      });
      const withQemu = createPipeline({
        workDir: join(dir, "work"),
        plugins: [watch],
        throttle: { bytesPerSecond: 8 * MiB, method: "none" },
      });
      await withQemu.run({ source: qcow2, destination: join(dir, "t-out2.raw"), to: "raw" });
      assert.deepEqual(argv.slice(argv.indexOf("-r"), argv.indexOf("-r") + 2), ["-r", String(8 * MiB)]);
    } finally {
      await server.stop();
    }
  });
});
