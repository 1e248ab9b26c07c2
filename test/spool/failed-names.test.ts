import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { FailedNames } from "../../src/spool/failed-names.ts";
import type { SpoolJob, SpoolJobState } from "../../src/spool/types.ts";
import { tempDir } from "../helpers/images.ts";

/** A job as the spool holds it, with only what naming its failure reads. */
function jobOf(id: string, name: string, state: SpoolJobState = "running", failedPath?: string): SpoolJob {
  const job: SpoolJob = {
    id,
    name,
    to: "qcow2",
    state,
    source: `/spool/work/${id}--${name}`,
    hasSidecar: false,
    claimedAt: "2025-01-01T00:00:00.000Z",
    runs: 1,
    timings: [],
    hooks: [],
    warnings: [],
  };
  if (failedPath) job.failedPath = failedPath;
  return job;
}

describe("FailedNames: the name of a failing job's file in failed/", () => {
  const { dir, cleanup } = tempDir("diskpipe-failed-names-");
  after(cleanup);
  let count = 0;
  /** A new empty failed/ folder. */
  const folder = () => {
    const path = join(dir, `failed-${++count}`);
    mkdirSync(path);
    return path;
  };

  it("is the dropped name when nothing holds it", async () => {
    const names = new FailedNames(folder(), new Map());
    assert.equal(await names.reserve(jobOf("aaaa1-000001", "disk.vmdk")), "disk.vmdk");
  });

  it("is <id>--<name> when the file or only its error file is in failed/", async () => {
    const failed = folder();
    writeFileSync(join(failed, "one.vmdk"), "");
    writeFileSync(join(failed, "two.vmdk.error.json"), "{}");
    const names = new FailedNames(failed, new Map());
    assert.equal(await names.reserve(jobOf("aaaa1-000001", "one.vmdk")), "aaaa1-000001--one.vmdk");
    assert.equal(await names.reserve(jobOf("aaaa2-000002", "two.vmdk")), "aaaa2-000002--two.vmdk");
  });

  it("is <id>--<name> while another failure not recorded yet holds the name, and the name again once it is released", async () => {
    const names = new FailedNames(folder(), new Map());
    const first = await names.reserve(jobOf("aaaa1-000001", "disk.vmdk"));
    assert.equal(await names.reserve(jobOf("aaaa2-000002", "disk.vmdk")), "aaaa2-000002--disk.vmdk");
    names.release(first);
    assert.equal(await names.reserve(jobOf("aaaa3-000003", "disk.vmdk")), "disk.vmdk");
  });

  it("gives two failures of one name reserved at the same time different names", async () => {
    const names = new FailedNames(folder(), new Map());
    const chosen = await Promise.all([
      names.reserve(jobOf("aaaa1-000001", "disk.vmdk")),
      names.reserve(jobOf("aaaa2-000002", "disk.vmdk")),
    ]);
    // Which one checks the disk first is up to the file system's thread pool; either way one gets the name.
    assert.ok(
      (chosen[0] === "disk.vmdk" && chosen[1] === "aaaa2-000002--disk.vmdk") ||
        (chosen[0] === "aaaa1-000001--disk.vmdk" && chosen[1] === "disk.vmdk"),
      chosen.join(", "),
    );
  });

  it("is <id>--<name> when another failed job's journal entry holds the name, even with its file gone", async () => {
    const failed = folder();
    const other = jobOf("aaaa1-000001", "disk.vmdk", "failed", join(failed, "disk.vmdk"));
    const names = new FailedNames(failed, new Map([[other.id, other]]));
    assert.equal(await names.reserve(jobOf("aaaa2-000002", "disk.vmdk")), "aaaa2-000002--disk.vmdk");
  });

  it("is the dropped name when the job holding it is this one, or one that is no longer failed (retried)", async () => {
    const failed = folder();
    const self = jobOf("aaaa1-000001", "disk.vmdk", "failed", join(failed, "disk.vmdk"));
    const retried = jobOf("aaaa2-000002", "disk.vmdk", "retried", join(failed, "disk.vmdk"));
    const jobs = new Map([
      [self.id, self],
      [retried.id, retried],
    ]);
    assert.equal(await new FailedNames(failed, jobs).reserve(self), "disk.vmdk");
    assert.equal(
      await new FailedNames(failed, new Map([[retried.id, retried]])).reserve(jobOf("aaaa3-000003", "disk.vmdk")),
      "disk.vmdk",
    );
  });

  it("is cut so that its error file fits one file name, whichever form it takes", async () => {
    const failed = folder();
    const long = `${"x".repeat(260)}.vmdk`;
    const names = new FailedNames(failed, new Map());
    const plain = await names.reserve(jobOf("aaaa1-000001", long));
    const prefixed = await names.reserve(jobOf("aaaa2-000002", long));
    assert.ok(prefixed.startsWith("aaaa2-000002--"), prefixed);
    for (const name of [plain, prefixed]) {
      assert.ok(Buffer.byteLength(`${name}.error.json`) <= 255, name);
      assert.ok(name.endsWith(".vmdk"), name);
    }
  });
});
