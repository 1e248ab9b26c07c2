import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { diskpipeAsync } from "../../helpers/cli.ts";
import { makeImage, makeRaw, sameDisk, tempDir } from "../../helpers/images.ts";
import { TestServer } from "./server.ts";

const MiB = 1024 * 1024;

function diskpipe(args: string[], env: NodeJS.ProcessEnv) {
  return diskpipeAsync(args, { env });
}

describe("diskpipe convert with URLs", () => {
  const { dir, cleanup } = tempDir();
  const tmp = join(dir, "tmp");
  const out = join(dir, "out");
  const env = { TMPDIR: tmp };
  const server = new TestServer();
  let raw = "";
  let qcow2 = "";
  let vmdk = "";
  let sum = "";
  const leftovers = () => [
    ...(existsSync(join(tmp, "diskpipe")) ? readdirSync(join(tmp, "diskpipe")) : []),
    ...readdirSync(out).filter((n) => n.startsWith(".")),
  ];

  before(async () => {
    mkdirSync(tmp);
    mkdirSync(out);
    raw = makeRaw(join(dir, "img.raw"), 4 * MiB);
    qcow2 = makeImage(raw, "qcow2", join(dir, "img.qcow2"));
    vmdk = makeImage(raw, "vmdk", join(dir, "img.vmdk"));
    sum = createHash("sha256").update(readFileSync(qcow2)).digest("hex");
    await server.start();
    server.routes.set("/img.qcow2", { file: qcow2 });
  });
  after(async () => {
    await server.stop();
    cleanup();
  });

  it("fetches a URL with a right checksum (exit 0) and refuses a wrong one (exit 3)", async () => {
    const good = await diskpipe(
      ["convert", server.url("/img.qcow2"), join(out, "img.raw"), "--to", "raw", "--checksum", `sha256:${sum}`],
      env,
    );
    assert.equal(good.status, 0, good.stderr);
    assert.ok(sameDisk(raw, "raw", join(out, "img.raw"), "raw"));
    const bad = await diskpipe(
      [
        "convert",
        server.url("/img.qcow2"),
        join(out, "bad.raw"),
        "--to",
        "raw",
        "--checksum",
        `sha256:${"f".repeat(64)}`,
      ],
      env,
    );
    assert.equal(bad.status, 3, bad.stderr);
    assert.match(bad.stderr, /checksum mismatch.*\[checksum-mismatch\]/);
    assert.ok(!existsSync(join(out, "bad.raw")));
    assert.deepEqual(leftovers(), []);
  });

  it("reports a 404 as fetch-failed (exit 1)", async () => {
    const run = await diskpipe(["convert", server.url("/missing.qcow2"), join(out, "missing.raw"), "--to", "raw"], env);
    assert.equal(run.status, 1);
    assert.match(run.stderr, /HTTP 404.*\[fetch-failed\]/);
    assert.deepEqual(leftovers(), []);
  });

  it("uploads to a URL with PUT, and to URL prefixes with --out-dir", async () => {
    const run = await diskpipe(["convert", vmdk, server.url("/put/img.qcow2"), "--to", "qcow2"], env);
    assert.equal(run.status, 0, run.stderr);
    const copy = join(dir, "put.qcow2");
    writeFileSync(copy, server.stored.get("/put/img.qcow2")!);
    assert.ok(sameDisk(raw, "raw", copy, "qcow2"));
    const other = makeImage(raw, "vmdk", join(dir, "other.vmdk"));
    const ok = await diskpipe(
      ["convert", vmdk, other, "--out-dir", server.url("/many/"), "--to", "vdi", "--jobs", "2"],
      env,
    );
    assert.equal(ok.status, 0, ok.stderr);
    assert.deepEqual([...server.stored.keys()].filter((k) => k.startsWith("/many/")).sort(), [
      "/many/img.vdi",
      "/many/other.vdi",
    ]);
    assert.deepEqual(leftovers(), []);
  });
});
