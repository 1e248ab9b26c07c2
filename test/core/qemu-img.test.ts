import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ConvertPlan } from "../../src/core/job.ts";
import { QemuImg } from "../../src/core/qemu-img.ts";
import { makeImage, makeRaw, tempDir } from "../helpers/images.ts";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const plan = (over: Partial<ConvertPlan> = {}): ConvertPlan => ({
  input: { path: "/in,put.vmdk", format: "vmdk", driver: "vmdk", options: {} },
  output: { path: "/out.qcow2", format: "qcow2", driver: "qcow2", options: {} },
  secrets: [],
  flags: {},
  engine: "qemu-img",
  ...over,
});

describe("QemuImg", () => {
  it("always passes -f and -O, and -p for progress", () => {
    const args = new QemuImg().convertArgs(
      plan({ flags: { coroutines: 16, outOfOrder: true, sparseSize: "0", cache: "none" } }),
    );
    assert.deepEqual(args, [
      "convert",
      "-p",
      "-f",
      "vmdk",
      "-O",
      "qcow2",
      "-t",
      "none",
      "-m",
      "16",
      "-W",
      "-S",
      "0",
      "/in,put.vmdk",
      "/out.qcow2",
    ]);
  });

  it("switches to --image-opts for input options and passes secrets as file-backed objects", () => {
    const args = new QemuImg().convertArgs(
      plan({
        input: { path: "/a,b.luks", format: "luks", driver: "luks", options: { "key-secret": "k" } },
        output: {
          path: "/o.luks",
          format: "luks",
          driver: "luks",
          options: { "key-secret": "k", "cipher-alg": "aes-256" },
        },
        secrets: [{ id: "k", file: "/keys/pass" }],
        flags: { compress: true, outOfOrder: true, targetIsZero: true },
      }),
    );
    assert.deepEqual(args, [
      "convert",
      "-p",
      "--object",
      "secret,id=k,file=/keys/pass,format=raw",
      "--image-opts",
      "-O",
      "luks",
      "-o",
      "key-secret=k,cipher-alg=aes-256",
      "-c",
      "-n",
      "--target-is-zero",
      "driver=luks,key-secret=k,file.filename=/a,,b.luks",
      "/o.luks",
    ]);
  });

  it("detects the version once", async () => {
    const qemu = new QemuImg();
    assert.match(await qemu.version(), /^\d+\.\d+/);
    assert.equal(await qemu.atLeast("2.10"), true);
    assert.equal(await qemu.atLeast("999.0"), false);
  });

  it("says how to install qemu-img when it is missing", async () => {
    const qemu = new QemuImg({ binary: "/nonexistent/qemu-img" });
    await assert.rejects(qemu.version(), (error: Error & { code?: string }) => {
      assert.equal(error.code, "qemu-img-missing");
      assert.match(error.message, /apt-get install qemu-utils/);
      return true;
    });
  });

  it("runs info under limits and validates its JSON; measure and convert report progress", async () => {
    const { dir, cleanup } = tempDir();
    try {
      const raw = makeRaw(join(dir, "a.raw"), 8 * 1024 * 1024);
      const qcow2 = makeImage(raw, "qcow2", join(dir, "a.qcow2"));
      const qemu = new QemuImg();
      const info = await qemu.info({ path: qcow2, format: "qcow2", driver: "qcow2", options: {} });
      assert.equal(info.format, "qcow2");
      assert.equal(info["virtual-size"], 8 * 1024 * 1024);
      const measured = await qemu.measure(
        { path: qcow2, format: "qcow2", driver: "qcow2", options: {} },
        { format: "raw", driver: "raw", options: {} },
      );
      assert.equal(measured.required, 8 * 1024 * 1024);
      const seen: number[] = [];
      await qemu.convert(
        plan({
          input: { path: qcow2, format: "qcow2", driver: "qcow2", options: {} },
          output: { path: join(dir, "b.raw"), format: "raw", driver: "raw", options: {} },
        }),
        { onProgress: (p) => seen.push(p) },
      );
      assert.equal(seen.at(-1), 100);
    } finally {
      cleanup();
    }
  });

  it("tries a conversion again on the failure the plan names, at most the attempts it allows, and never without it", async () => {
    const { dir, cleanup } = tempDir();
    try {
      const raw = makeRaw(join(dir, "a.raw"), 1024 * 1024);
      const count = join(dir, "converts");
      // Stands in for qemu-img: every `convert` appends a line to COUNT; the first FAILS of them
      // end the way qemu 7.2 does when its PBKDF timing reads 0 ms, the others run qemu-img.
      const fake = join(dir, "flaky-qemu-img");
      writeFileSync(
        fake,
        `#!/bin/sh\nif [ "$1" = convert ]; then\n  echo x >> ${count}\n  if [ $(wc -l < ${count}) -le "$FAILS" ]; then echo "qemu-img: $(eval echo \\$$#): error while converting luks: Unable to get accurate CPU usage" >&2; exit 1; fi\nfi\nexec qemu-img "$@"\n`,
        { mode: 0o755 },
      );
      const retry = { attempts: 8, stderr: "Unable to get accurate CPU usage" };
      const convert = (fails: number, out: string, retried: ConvertPlan["retry"] | null = retry) => {
        process.env.FAILS = String(fails);
        rmSync(count, { force: true });
        const converting = plan({
          input: { path: raw, format: "raw", driver: "raw", options: {} },
          output: { path: join(dir, out), format: "qcow2", driver: "qcow2", options: {} },
        });
        return new QemuImg({ binary: fake }).convert({ ...converting, ...(retried && { retry: retried }) });
      };
      await convert(7, "retried.qcow2");
      assert.equal(readFileSync(count, "utf8").split("\n").filter(Boolean).length, 8);
      assert.ok(existsSync(join(dir, "retried.qcow2")));
      const started = performance.now();
      await convert(2, "paused.qcow2", { ...retry, pauseMs: 60 });
      assert.ok(performance.now() - started >= 60 + 120, "two pauses before the third attempt, the second one doubled");
      assert.equal(readFileSync(count, "utf8").split("\n").filter(Boolean).length, 3);
      await assert.rejects(convert(8, "never.qcow2"), (error: Error & { code?: string }) => {
        assert.equal(error.code, "qemu-img-failed");
        assert.match(error.message, /Unable to get accurate CPU usage/);
        return true;
      });
      assert.equal(readFileSync(count, "utf8").split("\n").filter(Boolean).length, 8);
      await assert.rejects(convert(1, "unnamed.qcow2", null), /Unable to get accurate CPU usage/);
      assert.equal(readFileSync(count, "utf8").split("\n").filter(Boolean).length, 1, "a plan without retry runs once");
      await assert.rejects(
        convert(1, "other.qcow2", { attempts: 8, stderr: "something else" }),
        /Unable to get accurate CPU usage/,
      );
      assert.equal(readFileSync(count, "utf8").split("\n").filter(Boolean).length, 1, "another failure is not retried");
    } finally {
      delete process.env.FAILS;
      cleanup();
    }
  });

  it("maps the extents of a raw file that hold data", async () => {
    const { dir, cleanup } = tempDir();
    try {
      const raw = makeRaw(join(dir, "a.raw"), 8 * 1024 * 1024);
      const extents = await new QemuImg().map({ path: raw, format: "raw", driver: "raw", options: {} });
      assert.equal(
        extents.reduce((sum, e) => sum + e.length, 0),
        8 * 1024 * 1024,
      );
      const data = extents.filter((e) => e.data);
      assert.ok(data.length >= 1 && data.length <= 3, JSON.stringify(extents));
      assert.ok(data.every((e) => !e.zero));
      assert.ok(
        extents.some((e) => !e.data && e.zero),
        "the holes are reported",
      );
    } finally {
      cleanup();
    }
  });

  it("runs header parsing under an address-space limit (a tiny one makes it fail cleanly)", async () => {
    const { dir, cleanup } = tempDir();
    try {
      const raw = makeRaw(join(dir, "a.raw"), 1024 * 1024);
      const qemu = new QemuImg({ limits: { addressSpace: 1024 * 1024 } });
      await assert.rejects(qemu.info({ path: raw, format: "raw", driver: "raw", options: {} }), {
        code: "qemu-img-failed",
      });
    } finally {
      cleanup();
    }
  });
  it("serves an image over NBD with qemu-nbd beside the binary, and says how to install it when it is missing", async () => {
    const { dir, cleanup } = tempDir();
    try {
      const image = { path: makeRaw(join(dir, "d.raw"), 1024 * 1024), format: "raw", driver: "raw", options: {} };
      const limits = { cpuSeconds: 10, addressSpace: 2 * 1024 ** 3 };
      const missing = new QemuImg({ binary: join(dir, "bin", "qemu-img") });
      await assert.rejects(missing.serveNbd(image, join(dir, "s"), limits, new AbortController().signal), {
        code: "qemu-img-missing",
        message: new RegExp(`${join(dir, "bin", "qemu-nbd")} was not found: it comes with qemu-img in qemu-utils`),
      });
      const stop = new AbortController();
      const serving = new QemuImg().serveNbd(image, join(dir, "s"), limits, stop.signal);
      const deadline = Date.now() + 10_000;
      while (!existsSync(join(dir, "s")) && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 10));
      assert.ok(existsSync(join(dir, "s")), "qemu-nbd listens on the socket");
      stop.abort();
      await assert.rejects(serving, { code: "aborted" });
    } finally {
      cleanup();
    }
  });
});
