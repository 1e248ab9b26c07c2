import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { appliancePaths } from "../../src/core/appliance-paths.ts";
import { failure } from "../helpers/failure.ts";
import { tempDir } from "../helpers/images.ts";

describe("appliancePaths: where an appliance's outputs go", () => {
  const { dir, cleanup } = tempDir("diskpipe-appliance-paths-");
  after(cleanup);
  const request = { source: "/in/web-01.ova", extension: "qcow2", count: 2, suffix: "ovf" };

  it("into a directory, named after the source (its query and extension left out)", async () => {
    const out = join(dir, "a");
    mkdirSync(out);
    assert.deepEqual(await appliancePaths({ ...request, destination: out }), {
      dir: out,
      disks: [join(out, "web-01-disk1.qcow2"), join(out, "web-01-disk2.qcow2")],
      description: join(out, "web-01.ovf.json"),
    });
    const url = await appliancePaths({ ...request, source: "https://h/x/vm.ova?sig=1#f", destination: out, count: 1 });
    assert.deepEqual(url.disks, [join(out, "vm-disk1.qcow2")]);
    const query = await appliancePaths({ ...request, source: "https://h/get?name=vm.b#x", destination: out, count: 1 });
    assert.deepEqual(query.disks, [join(out, "get-disk1.qcow2")], "the query and fragment are no part of the name");
    const dotted = await appliancePaths({ ...request, source: "https://h/vm.ova?v=1.2", destination: out, count: 1 });
    assert.deepEqual(dotted.disks, [join(out, "vm-disk1.qcow2")]);
    const nameless = await appliancePaths({ ...request, source: "/", destination: out, count: 1 });
    assert.deepEqual(nameless.disks, [join(out, "appliance-disk1.qcow2")]);
    const slash = await appliancePaths({ ...request, destination: `${join(dir, "not-yet")}/` });
    assert.equal(slash.description, join(dir, "not-yet", "web-01.ovf.json"));
  });

  it("beside a file destination, named after it", async () => {
    const paths = await appliancePaths({ ...request, destination: join(dir, "b", "vm.qcow2") });
    assert.deepEqual(paths.disks, [join(dir, "b", "vm-disk1.qcow2"), join(dir, "b", "vm-disk2.qcow2")]);
    assert.equal(paths.description, join(dir, "b", "vm.ovf.json"));
  });

  it("keeps every name within the 255-byte limit, suffix intact", async () => {
    const out = join(dir, "c");
    mkdirSync(out);
    const long = `${"é".repeat(200)}.ova`;
    const paths = await appliancePaths({ ...request, source: long, destination: out });
    for (const path of [...paths.disks, paths.description]) {
      const name = path.slice(out.length + 1);
      assert.ok(Buffer.byteLength(name) <= 255, name);
    }
    assert.match(paths.disks[1], /é-disk2\.qcow2$/);
    assert.match(paths.description, /é\.ovf\.json$/);
  });

  it("refuses a URL destination and an output that exists, unless overwriting", async () => {
    const url = await failure(appliancePaths({ ...request, destination: "https://store.example/out/" }));
    assert.equal(url.code, "usage");
    const out = join(dir, "d");
    mkdirSync(out);
    writeFileSync(join(out, "web-01-disk2.qcow2"), "");
    const exists = await failure(appliancePaths({ ...request, destination: out }));
    assert.equal(exists.code, "usage");
    assert.match(exists.message, /web-01-disk2\.qcow2 already exists \(pass --force to replace it\)/);
    const again = await appliancePaths({ ...request, destination: out, overwrite: true });
    assert.equal(again.disks.length, 2);
  });
});
