import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { inspectFile, standardDetectors } from "../../helpers/inspect.ts";
import { registerFormats } from "../../../src/core/inspector.ts";
import { createJobContext, type RunningJob } from "../../../src/core/job-context.ts";
import type { JobSpec } from "../../../src/core/job.ts";
import { defineFormat, definePlugin } from "../../../src/core/plugin.ts";
import { QemuImg } from "../../../src/core/qemu-img.ts";
import { inspectOptionsFor } from "../../../src/core/stages/inspect.ts";
import { ami } from "../../../src/plugins/ami/index.ts";
import { makeImage, makeRaw, tempDir } from "../../helpers/images.ts";
import { withStandardFormats } from "../../../src/standard-formats.ts";

const SIZE = 2 * 1024 * 1024;

/** A plugin format with a detector of its own, so the registry hands the inspector one. */
const marked = definePlugin({
  name: "marked",
  formats: [defineFormat({ name: "marked", detect: async () => null })],
});

describe("inspectOptionsFor: what the inspector is told about a job", () => {
  const { dir, cleanup } = tempDir();
  const { formats } = registerFormats(withStandardFormats([ami(), marked]));
  const jobs: RunningJob[] = [];
  let qcow2 = "";
  let vmdk = "";
  before(() => {
    const raw = makeRaw(join(dir, "disk.raw"), SIZE);
    qcow2 = makeImage(raw, "qcow2", join(dir, "disk.qcow2"));
    vmdk = makeImage(raw, "vmdk", join(dir, "disk.vmdk"));
  });
  after(async () => {
    for (const job of jobs) await job.runCleanups();
    cleanup();
  });

  async function jobFor(spec: Partial<JobSpec>, image?: { path: string; claimed?: string }): Promise<RunningJob> {
    const job = await createJobContext({
      spec: { source: image?.path ?? qcow2, destination: join(dir, "out.raw"), to: "raw", ...spec },
      workRoot: join(dir, "work"),
      qemu: new QemuImg(),
      formats,
      emit: () => {},
    });
    jobs.push(job);
    if (image) job.image = { ...image, temporary: false };
    return job;
  }

  async function optionsOf(
    spec: Partial<JobSpec>,
    image?: { path: string; claimed?: string },
  ): Promise<Record<string, unknown>> {
    const { detectors, ...rest } = inspectOptionsFor(await jobFor(spec, image), formats);
    assert.deepEqual(
      detectors?.map((d) => d.name),
      [...standardDetectors.map((d) => d.name), "marked"],
    );
    return rest;
  }

  it("takes the claim of the local image before the request's", async () => {
    assert.deepEqual(await optionsOf({ from: "xenserver-ovf" }, { path: vmdk, claimed: "vmdk" }), {
      claimed: "vmdk",
      accepts: ["vmdk", "compressed", "ova", "ovf-descriptor"],
    });
  });

  it("takes the request's claim when the local image has none, or before there is one (a streamed source)", async () => {
    assert.deepEqual(await optionsOf({ from: "qcow2" }, { path: qcow2 }), {
      claimed: "qcow2",
      accepts: ["qcow2", "compressed", "ova", "ovf-descriptor"],
    });
    assert.deepEqual(await optionsOf({ from: "qcow2" }), {
      claimed: "qcow2",
      accepts: ["qcow2", "compressed", "ova", "ovf-descriptor"],
    });
  });

  it("sets no claim, no accepts and no bound that nobody asked for", async () => {
    assert.deepEqual(await optionsOf({}), {});
    assert.deepEqual(await optionsOf({}, { path: qcow2 }), {});
  });

  it("passes what a plugin's claim accepts, and only the claim for formats without such a list or unknown ones", async () => {
    assert.deepEqual(await optionsOf({ from: "ami" }), {
      claimed: "ami",
      accepts: ["raw", "qcow2", "compressed", "ova", "ovf-descriptor"],
    });
    assert.deepEqual(await optionsOf({ from: "vmdk" }), {
      claimed: "vmdk",
      accepts: ["vmdk", "compressed", "ova", "ovf-descriptor"],
    });
    assert.deepEqual(await optionsOf({ from: "nonesuch" }), {
      claimed: "nonesuch",
      accepts: ["nonesuch", "compressed", "ova", "ovf-descriptor"],
    });
  });

  it("before a container is unpacked a claim names what a detected one holds: it accepts the containers; afterwards it does not", async () => {
    const job = await jobFor({ from: "qcow2" });
    job.handler = formats.get("compressed");
    const { detectors: _detectors, ...after } = inspectOptionsFor(job, formats);
    assert.deepEqual(after, { claimed: "qcow2" });
    assert.deepEqual(formats.detectedContainers(), ["compressed", "ova", "ovf-descriptor"]);
  });

  it("passes the job's size bound", async () => {
    assert.deepEqual(await optionsOf({ from: "qcow2", maxSize: SIZE }), {
      claimed: "qcow2",
      accepts: ["qcow2", "compressed", "ova", "ovf-descriptor"],
      maxSize: SIZE,
    });
    assert.deepEqual(await optionsOf({ maxSize: 0 }), { maxSize: 0 });
  });

  it("makes the inspector apply the claim's accepts list and the size bound itself", async () => {
    const ok = await inspectFile(qcow2, inspectOptionsFor(await jobFor({ from: "ami", maxSize: SIZE }), formats));
    assert.deepEqual(ok.problems, []);
    const mismatch = await inspectFile(vmdk, inspectOptionsFor(await jobFor({ from: "ami" }), formats));
    assert.deepEqual(
      mismatch.problems.map((p) => p.code),
      ["format-mismatch"],
    );
    const large = await inspectFile(qcow2, inspectOptionsFor(await jobFor({ maxSize: SIZE - 512 }), formats));
    assert.deepEqual(
      large.problems.map((p) => p.code),
      ["too-large"],
    );
  });
});
