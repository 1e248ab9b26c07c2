import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { JobEvent } from "../../../src/core/job.ts";
import { createPipeline } from "../../../src/create-pipeline.ts";
import { failure } from "../../helpers/failure.ts";
import { makeImage, makeRaw, tempDir } from "../../helpers/images.ts";

const SIZE = 2 * 1024 * 1024;
const REAL = spawnSync("sh", ["-c", "command -v qemu-img"], { encoding: "utf8" }).stdout.trim();

/**
 * A stand-in qemu-img whose `info` reports what `edit` makes of the real answer (qemu cannot be
 * made to disagree with the inspector on a real image), and records the resource limits it ran
 * under; every other command is the real qemu-img.
 */
function standIn(dir: string, name: string, edit: string): string {
  const path = join(dir, `qemu-img-${name}`);
  writeFileSync(
    path,
    `#!/bin/sh
if [ "$1" = info ]; then
  grep -E "^Max (cpu time|address space)" /proc/self/limits > "${dir}/limits-${name}"
  "${REAL}" "$@" | "${process.execPath}" -e 'let t="";process.stdin.on("data",(c)=>t+=c).on("end",()=>{const info=JSON.parse(t);${edit};process.stdout.write(JSON.stringify(info))})'
  exit 0
fi
exec "${REAL}" "$@"
`,
  );
  chmodSync(path, 0o755);
  return path;
}

describe("the second opinion: qemu-img info must agree with the inspector (issue 18)", () => {
  const { dir, cleanup } = tempDir();
  let qcow2 = "";
  before(() => {
    qcow2 = makeImage(makeRaw(join(dir, "disk.raw"), SIZE), "qcow2", join(dir, "disk.qcow2"));
  });
  after(cleanup);

  const disagreements: Array<[string, string, RegExp]> = [
    ["format", 'info.format="raw"', /qemu-img reads the image as raw, the inspector as qcow2/],
    ["size", 'info["virtual-size"]+=512', /qemu-img reports a virtual size of \d+ bytes, the inspector \d+/],
    ["backing", 'info["backing-filename"]="/etc/shadow"', /qemu-img sees a backing file \(\/etc\/shadow\)/],
    ["data-file", 'info["format-specific"].data["data-file"]="/etc/shadow"', /qemu-img sees an external data file/],
    ["too-large", 'info["virtual-size"]=2**40', /exceeds the limit/],
  ];
  for (const [name, edit, message] of disagreements) {
    it(`refuses the image when qemu-img's info disagrees (${name}), before converting`, async () => {
      const pipeline = createPipeline({
        workDir: join(dir, "work"),
        maxSize: SIZE,
        qemuImg: { binary: standIn(dir, name, edit) },
      });
      const stages: string[] = [];
      pipeline.on((e: JobEvent) => void (e.type === "stage-start" && stages.push(e.stage)));
      const destination = join(dir, `${name}.raw`);
      const error = await failure(pipeline.run({ source: qcow2, destination, to: "raw" }));
      assert.equal(error.code, "image-rejected");
      assert.match(error.message, message);
      assert.ok(
        error.problems.some((p) => p.code === "second-opinion" || p.code === "too-large"),
        JSON.stringify(error.problems),
      );
      assert.ok(!stages.includes("convert"), stages.join(", "));
      assert.equal(existsSync(destination), false);
    });
  }

  it("refuses a VMDK whose create type qemu reads as one that names other files", async () => {
    const vmdk = makeImage(join(dir, "disk.raw"), "vmdk", join(dir, "disk.vmdk"));
    const binary = standIn(dir, "create-type", 'info["format-specific"].data["create-type"]="monolithicFlat"');
    const error = await failure(
      createPipeline({ workDir: join(dir, "work"), qemuImg: { binary } }).run({
        source: vmdk,
        destination: join(dir, "ct.raw"),
        to: "raw",
      }),
    );
    assert.match(error.message, /VMDK create type monolithicFlat is not allowed/);
  });

  it("asks qemu-img's opinion under the configured CPU-time and address-space limits", async () => {
    const binary = standIn(dir, "limits", "");
    await createPipeline({ workDir: join(dir, "work"), qemuImg: { binary, cpuSeconds: 7, addressSpace: "900M" } }).run({
      source: qcow2,
      destination: join(dir, "limits.raw"),
      to: "raw",
    });
    const limits = readFileSync(join(dir, "limits-limits"), "utf8");
    assert.match(limits, /Max cpu time\s+7\s+7\s+seconds/);
    assert.match(limits, new RegExp(`Max address space\\s+${900 * 1024 * 1024}\\s+${900 * 1024 * 1024}\\s+bytes`));
  });
});
