import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { HOST_TAG } from "../../src/core/io/temp.ts";
import { spoolLayout } from "../../src/spool/paths.ts";
import { removeTemporaryFiles } from "../../src/spool/recovery.ts";
import { tempDir } from "../helpers/images.ts";
import { filesIn, nextWarning, within } from "./helpers.ts";

const other = HOST_TAG === "00000000" ? "11111111" : "00000000";
const ours = (name: string) => `.${name}.diskpipe-tmp-${HOST_TAG}-4194001-0badf00d`;

describe("spool recovery: temporary files left by interrupted writes", () => {
  const { dir, cleanup } = tempDir("diskpipe-temporary-files-");
  after(cleanup);

  it("removes this host's temporary outputs and error files, and nothing diskpipe did not write there", async () => {
    const layout = spoolLayout(join(dir, "spool"));
    const files = {
      done: [
        ours("a.qcow2"),
        ".b.qcow2.diskpipe-tmp-0badf00d",
        `.c.qcow2.diskpipe-tmp-${other}-4194001-0badf00d`,
        `d.diskpipe-tmp-${HOST_TAG}-4194001-0badf00d`,
        ".e.vmdk.error.json.tmp",
        ".notes",
      ],
      failed: [ours("f.vmdk.error.json"), ".g.vmdk.error.json.tmp", "h.vmdk.error.json.tmp", ".keep"],
    };
    for (const [folder, names] of Object.entries(files)) {
      mkdirSync(join(layout.root, folder), { recursive: true });
      for (const name of names) writeFileSync(join(layout.root, folder, name), "left");
    }
    await removeTemporaryFiles(layout);
    assert.deepEqual(filesIn(layout.root, "done"), [
      `.c.qcow2.diskpipe-tmp-${other}-4194001-0badf00d`,
      ".e.vmdk.error.json.tmp",
      ".notes",
      `d.diskpipe-tmp-${HOST_TAG}-4194001-0badf00d`,
    ]);
    assert.deepEqual(filesIn(layout.root, "failed"), [".keep", "h.vmdk.error.json.tmp"]);
  });

  it("reports a temporary name it cannot remove (DISKPIPE_SPOOL_CLEANUP), leaves it and removes the others", async () => {
    const layout = spoolLayout(join(dir, "stuck"));
    mkdirSync(join(layout.done, ours("x.qcow2"), "inside"), { recursive: true });
    writeFileSync(join(layout.done, ours("y.qcow2")), "left");
    const warned = nextWarning((w) => w.code === "DISKPIPE_SPOOL_CLEANUP" && w.message.includes(ours("x.qcow2")));
    await removeTemporaryFiles(layout);
    await within(warned, 10_000, "a DISKPIPE_SPOOL_CLEANUP warning");
    assert.deepEqual(filesIn(layout.root, "done"), [ours("x.qcow2")]);
  });

  it("is fine with folders that are not there", async () => {
    await removeTemporaryFiles(spoolLayout(join(dir, "missing")));
  });
});
