import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createPipeline } from "../../src/create-pipeline.ts";
import { createDashboard, type Dashboard } from "../../src/dashboard/app.ts";
import { defaultConfig } from "../../src/scripting.ts";
import { createSpool, type Spool } from "../../src/spool/spool.ts";
import type { SpoolJob } from "../../src/spool/types.ts";
import { referenceContentHash } from "../helpers/content-hash.ts";
import { makeImage, makeRaw, tempDir } from "../helpers/images.ts";
import { waitFor } from "../spool/helpers.ts";

describe("verify: true in the configuration reaches the spool, its journal and the dashboard's job page", () => {
  const { dir, cleanup } = tempDir("diskpipe-verify-spool-");
  const root = join(dir, "spool");
  let spool: Spool;
  let dashboard: Dashboard;
  let job: SpoolJob;
  let expected = "";

  before(async () => {
    const raw = makeRaw(join(dir, "disk.raw"), 3 * 1024 * 1024, 9);
    expected = referenceContentHash(readFileSync(raw));
    const vmdk = makeImage(raw, "vmdk", join(dir, "disk.vmdk"));
    spool = createSpool({
      root,
      pipeline: createPipeline({ ...(await defaultConfig()), verify: true }),
      settleMs: 100,
    });
    await spool.start();
    dashboard = createDashboard({ spool, keepAliveSeconds: 1 });
    mkdirSync(join(root, "incoming", "qcow2"), { recursive: true });
    copyFileSync(vmdk, join(root, "incoming", "qcow2", "disk.vmdk"));
    job = await waitFor(
      () => spool.jobs().find((j) => j.name === "disk.vmdk" && (j.state === "done" || j.state === "failed")),
      "disk.vmdk to finish",
    );
  });
  after(async () => {
    dashboard?.close();
    await spool.stop();
    cleanup();
  });

  it("the job is verified and its journal line carries the content hash", () => {
    assert.equal(job.state, "done", job.error?.message);
    const done = readFileSync(join(root, "journal.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { state: string; result?: { contentHash?: string; verified?: boolean } })
      .find((entry) => entry.state === "done");
    assert.equal(done?.result?.contentHash, expected);
    assert.equal(done?.result?.verified, true);
  });

  it("the job page shows the content hash, verified", async () => {
    const html = await (await dashboard.app.request(`/jobs/${job.id}`)).text();
    assert.match(
      html,
      /<dt>Content hash<\/dt><dd><code>blk-sha256:[0-9a-f]{64}<\/code> <span class="muted">\(source and output verified equal\)/,
    );
    assert.ok(html.includes(expected));
  });
});
