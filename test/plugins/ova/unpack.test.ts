import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createPipeline } from "../../../src/create-pipeline.ts";
import { failure } from "../../helpers/failure.ts";
import { tempDir } from "../../helpers/images.ts";
import { applianceMembers, manifestOf, twoVmdks, writeTar } from "./archive.ts";

const MiB = 2 ** 20;

describe("unpackOva: the ova plugin in a pipeline", () => {
  const { dir, cleanup } = tempDir("diskpipe-ova-unpack-");
  const work = join(dir, "work");
  const pipeline = createPipeline({ workDir: work });
  let disks: Array<{ href: string; capacityGiB: number; capacityBytes: number; data: Buffer }> = [];
  let count = 0;
  const out = () => {
    const path = join(dir, `out${++count}`);
    mkdirSync(path);
    return path;
  };
  const jobDirs = () => (existsSync(join(work, "diskpipe")) ? readdirSync(join(work, "diskpipe")) : []);

  before(() => {
    const vmdks = twoVmdks(dir);
    disks = vmdks.map((v, i) => ({
      href: `d${i}.vmdk`,
      capacityGiB: 0,
      capacityBytes: (i === 0 ? 3 : 1) * MiB,
      data: v.vmdk,
    }));
  });
  after(cleanup);

  it("converts the disks it extracted; the job's work directory is gone afterwards", async () => {
    const source = await writeTar(join(dir, "ok.ova"), applianceMembers(disks));
    const destination = out();
    const result = await pipeline.run({ source, destination, to: "raw" });
    assert.deepEqual(
      result.outputs?.map((o) => o.file),
      ["ok-disk1.raw", "ok-disk2.raw"],
    );
    assert.deepEqual(jobDirs(), []);
  });

  it("--from names the disks' format: every disk must be it, or nothing is converted", async () => {
    const source = await writeTar(join(dir, "claimed.ova"), applianceMembers(disks));
    const ok = await pipeline.run({ source, destination: out(), to: "raw", from: "vmdk" });
    assert.equal(ok.outputs?.length, 2);
    assert.equal((await pipeline.run({ source, destination: out(), to: "raw", from: "ova" })).outputs?.length, 2);
    for (const from of ["qcow2", "vhd"]) {
      const destination = out();
      const error = await failure(pipeline.run({ source, destination, to: "raw", from }));
      assert.equal(error.code, "format-mismatch", error.message);
      assert.equal(error.exitCode, 3);
      assert.deepEqual(
        error.problems.map((p) => p.code),
        ["format-mismatch"],
      );
      assert.match(
        error.message,
        new RegExp(`disk 1 is vmdk \\(as the appliance declares it\\), not ${from} as claimed`),
      );
      assert.deepEqual(readdirSync(destination), []);
      assert.deepEqual(jobDirs(), []);
    }
  });

  it("a digest that does not match is checksum-mismatch (exit 3), with the problem listed", async () => {
    const members = applianceMembers(disks);
    members[1] = {
      name: "vm.mf",
      data: manifestOf([members[0], members[2], { ...members[3], data: Buffer.from("x") }]),
    };
    const destination = out();
    const error = await failure(
      pipeline.run({ source: await writeTar(join(dir, "bad-digest.ova"), members), destination, to: "raw" }),
    );
    assert.equal(error.code, "checksum-mismatch");
    assert.equal(error.exitCode, 3);
    assert.equal(error.stage, "unpack");
    assert.match(error.message, /bad-digest\.ova rejected: "d1\.vmdk" does not match its digest in the manifest$/);
    assert.deepEqual(
      error.problems.map((p) => p.code),
      ["checksum-mismatch"],
    );
    assert.deepEqual(readdirSync(destination), []);
    assert.deepEqual(jobDirs(), []);
  });

  it("any other refusal is image-rejected with the reader's problem code", async () => {
    const members = applianceMembers(disks, (ovf) => ovf.replace('ovf:href="d1.vmdk"', 'ovf:href="../d1.vmdk"'));
    const error = await failure(
      pipeline.run({ source: await writeTar(join(dir, "href.ova"), members), destination: out(), to: "raw" }),
    );
    assert.equal(error.code, "image-rejected");
    assert.equal(error.exitCode, 3);
    assert.deepEqual(
      error.problems.map((p) => p.code),
      ["ova-href-unsafe"],
    );
    assert.match(error.message, /\[ova-href-unsafe\]$/);
  });

  it("--max-size bounds each disk's declared capacity before any disk is written", async () => {
    const source = await writeTar(join(dir, "big.ova"), applianceMembers(disks));
    const error = await failure(pipeline.run({ source, destination: out(), to: "raw", maxSize: 2 * MiB }));
    assert.equal(error.code, "image-rejected");
    assert.deepEqual(
      error.problems.map((p) => p.code),
      ["disk-too-large"],
    );
  });

  it("an abort during the unpack is aborted, and leaves nothing", async () => {
    const source = await writeTar(join(dir, "abort.ova"), applianceMembers(disks));
    const controller = new AbortController();
    const destination = out();
    const running = pipeline.run({ source, destination, to: "raw", signal: controller.signal });
    const stop = pipeline.on((event) => {
      if (event.type === "stage-start" && event.stage === "unpack") controller.abort();
    });
    const error = await failure(running);
    stop();
    assert.equal(error.code, "aborted");
    assert.deepEqual(readdirSync(destination), []);
    assert.deepEqual(jobDirs(), []);
  });
});
