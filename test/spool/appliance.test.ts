import assert from "node:assert/strict";
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createPipeline } from "../../src/create-pipeline.ts";
import { defaultConfig } from "../../src/scripting.ts";
import { createSpool, type Spool } from "../../src/spool/spool.ts";
import { sameDisk, tempDir } from "../helpers/images.ts";
import { applianceMembers, twoVmdks, writeTar } from "../plugins/ova/archive.ts";
import { waitFor } from "./helpers.ts";

const MiB = 2 ** 20;

describe("spool: an OVA dropped into incoming/<format>/", () => {
  const { dir, cleanup } = tempDir("diskpipe-spool-ova-");
  const root = join(dir, "spool");
  let raws: string[] = [];
  let spool: Spool;

  before(async () => {
    const vmdks = twoVmdks(dir);
    raws = vmdks.map((v) => v.raw);
    const members = applianceMembers(
      vmdks.map((v, i) => ({ href: `d${i}.vmdk`, capacityGiB: 0, capacityBytes: (i ? 1 : 3) * MiB, data: v.vmdk })),
    );
    mkdirSync(join(root, "incoming", "qcow2"), { recursive: true });
    spool = createSpool({ root, pipeline: createPipeline(await defaultConfig()), settleMs: 100 });
    await spool.start();
    await writeTar(join(root, "incoming", "qcow2", "web.ova"), members);
    // A plain descriptor: the files it names would be whatever lies beside it (another job's files).
    writeFileSync(join(root, "incoming", "qcow2", "plain.ovf"), members[0]?.data ?? "");
  });
  after(async () => {
    await spool.stop();
    cleanup();
  });

  it("converts each disk into done/ beside the name one image would take, with the description", async () => {
    const job = await waitFor(
      () => spool.jobs().find((j) => j.name === "web.ova" && (j.state === "done" || j.state === "failed")),
      "web.ova to finish",
    );
    assert.equal(job.state, "done", JSON.stringify(job));
    assert.deepEqual(readdirSync(join(root, "done")).sort(), ["web-disk1.qcow2", "web-disk2.qcow2", "web.ovf.json"]);
    raws.forEach((raw, i) => assert.ok(sameDisk(raw, "raw", join(root, "done", `web-disk${i + 1}.qcow2`), "qcow2")));
    const description = JSON.parse(readFileSync(join(root, "done", "web.ovf.json"), "utf8"));
    assert.deepEqual(
      description.disks.map((d: { file: string }) => d.file),
      ["web-disk1.qcow2", "web-disk2.qcow2"],
    );
    assert.deepEqual(readdirSync(join(root, "incoming", "qcow2")), []);
  });

  it("refuses a plain .ovf: a spool user never makes diskpipe read the files it names", async () => {
    const job = await waitFor(
      () => spool.jobs().find((j) => j.name === "plain.ovf" && (j.state === "done" || j.state === "failed")),
      "plain.ovf to finish",
    );
    assert.equal(job.state, "failed", JSON.stringify(job));
    assert.deepEqual(
      job.error?.problems?.map((p) => p.code),
      ["ovf-files"],
    );
    assert.ok(!readdirSync(join(root, "done")).some((name) => name.startsWith("plain")));
  });
});
