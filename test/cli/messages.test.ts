import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdirSync, readFileSync as readFile, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { JobEvent } from "../../src/core/job.ts";
import { createPipeline } from "../../src/create-pipeline.ts";
import { definePlugin } from "../../src/core/plugin.ts";
import { dirStore } from "../../src/core/io/dir-store.ts";
import { defineImageService } from "../../src/core/io/image-service.ts";
import { diskpipe, diskpipeAsync, repoRoot } from "../helpers/cli.ts";
import { makeImage, makeRaw, tempDir } from "../helpers/images.ts";
import { TestServer } from "../core/io/server.ts";

const PASSWORD = "hunter2-secret";

/** Raw control characters (C0 but none, DEL, C1): what must never reach a terminal from input. */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/;

describe("messages: credentials redacted, control characters escaped, one line each (issues 19.2, 19.6, 19.8)", () => {
  const { dir, cleanup } = tempDir();
  const server = new TestServer();
  let vmdk = "";
  let qcow2 = "";

  before(async () => {
    const raw = makeRaw(join(dir, "disk.raw"), 2 * 1024 * 1024);
    vmdk = makeImage(raw, "vmdk", join(dir, "disk.vmdk"));
    qcow2 = makeImage(raw, "qcow2", join(dir, "disk.qcow2"));
    await server.start();
    server.routes.set("/disk.qcow2", { file: qcow2 });
  });
  after(async () => {
    await server.stop();
    cleanup();
  });

  const withPassword = (path: string) => server.url(path).replace("http://", `http://user:${PASSWORD}@`);

  it("never prints a URL's password: --json results, plain results, events", async () => {
    const json = await diskpipeAsync(["convert", vmdk, withPassword("/put/x.qcow2"), "--to", "qcow2", "--json"]);
    assert.equal(json.status, 0, json.stderr);
    assert.equal(json.stdout.includes(PASSWORD), false, json.stdout);
    assert.match(JSON.parse(json.stdout).destination, /^http:\/\/127\.0\.0\.1:\d+\/put\/x\.qcow2$/);
    const plain = await diskpipeAsync(["convert", withPassword("/disk.qcow2"), join(dir, "plain.raw"), "--to", "raw"]);
    assert.equal(plain.status, 0, plain.stderr);
    assert.equal(
      plain.stdout.includes(PASSWORD) || plain.stderr.includes(PASSWORD),
      false,
      plain.stdout + plain.stderr,
    );

    const pipeline = createPipeline({ workDir: join(dir, "work") });
    const events: JobEvent[] = [];
    pipeline.on((e) => events.push(e));
    const result = await pipeline.run({
      source: withPassword("/disk.qcow2"),
      destination: withPassword("/put/y.qcow2"),
      to: "qcow2",
    });
    assert.equal(JSON.stringify(result).includes(PASSWORD), false, JSON.stringify(result));
    assert.equal(JSON.stringify(events).includes(PASSWORD), false);
    assert.equal(server.stored.has("/put/y.qcow2"), true, "the upload still used the credentials");
  });

  it("escapes control characters from input in one-line errors (store ids, claimed formats)", async () => {
    const images = join(dir, "images");
    mkdirSync(images);
    const config = join(dir, "store.config.mjs");
    writeFileSync(
      config,
      `import { dirStore, defineImageService, definePlugin } from ${JSON.stringify(join(process.cwd(), "dist/bundle/mod.js"))};\nexport default { plugins: [definePlugin({ name: "images", ...defineImageService("images", dirStore(${JSON.stringify(images)})) })] };\n`,
    );
    const run = diskpipe(["convert", vmdk, "store://images/a%0Ab%1B%5B31mred", "--to", "qcow2", "--config", config]);
    assert.equal(run.status, 2, run.stderr);
    assert.doesNotMatch(run.stderr, /: convert/, "an invalid id is refused before converting");
    assert.equal(
      run.stderr
        .trimEnd()
        .split("\n")
        .filter((line) => !/^disk\.vmdk: /.test(line)).length,
      1,
      run.stderr,
    );
    assert.equal(CONTROL.test(run.stderr.trimEnd()), false, JSON.stringify(run.stderr));
    assert.match(run.stderr, /a\\nb\\x1b\[31mred/);

    writeFileSync(join(images, "liar"), readFile(qcow2));
    writeFileSync(
      join(images, "liar.json"),
      JSON.stringify({ id: "liar", format: "vmdk\u001b[31m\nfake", size: readFile(qcow2).length }),
    );
    const pipeline = createPipeline({
      workDir: join(dir, "work"),
      plugins: [definePlugin({ name: "images", ...defineImageService("images", dirStore(images)) })],
    });
    const error = await pipeline
      .run({ source: "store://images/liar", destination: join(dir, "liar.raw"), to: "raw" })
      .then(
        () => assert.fail("a claim the image contradicts must fail"),
        (e: Error) => e,
      );
    assert.equal(CONTROL.test(error.message), false, JSON.stringify(error.message));
  });

  it("inspect and convert --out-dir never print a URL's password, nor a header's control characters", async () => {
    const text = await diskpipeAsync(["inspect", withPassword("/missing.qcow2")]);
    const json = await diskpipeAsync(["inspect", withPassword("/disk.qcow2"), "--json"]);
    const batch = await diskpipeAsync([
      "convert",
      withPassword("/missing.qcow2"),
      vmdk,
      "--out-dir",
      join(dir, "batch"),
      "--to",
      "raw",
    ]);
    for (const run of [text, json, batch])
      assert.equal((run.stdout + run.stderr).includes(PASSWORD), false, run.stdout + run.stderr);
    assert.equal(JSON.parse(json.stdout).safe, true);
    assert.match(batch.stderr, /^failed: http:\/\/127\.0\.0\.1:\d+\/missing\.qcow2$/m);

    const descriptor = join(dir, "esc.vmdk");
    writeFileSync(
      descriptor,
      '# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\ncreateType="\u001b[2J\u001b]0;owned\u0007"\nRW 8 FLAT "x" 0\n',
    );
    const inspected = diskpipe(["inspect", descriptor]);
    assert.equal(inspected.status, 3);
    assert.equal(CONTROL.test(inspected.stdout), false, JSON.stringify(inspected.stdout));
  });

  it("prints a configuration error on one line, and a code once", () => {
    const bad = join(dir, "bad.config.mjs");
    writeFileSync(bad, "export default { jobs: 0, maxSize: 'lots' };\n");
    const run = diskpipe(["convert", vmdk, join(dir, "x.qcow2"), "--to", "qcow2", "--config", bad]);
    assert.equal(run.status, 2);
    assert.equal(run.stderr.trimEnd().split("\n").length, 1, run.stderr);
    assert.match(run.stderr, /^diskpipe: invalid configuration: .*jobs: .*\[config-invalid\]$/m);
    assert.match(run.stderr, /; /, "the fields are joined on the line");
    assert.match(run.stderr, /maxSize: invalid size "lots"/);
    for (const [workDir, why] of [
      ["/", /root of the file system/],
      [vmdk, /is not a directory/],
    ] as const) {
      const config = join(dir, "workdir.config.mjs");
      writeFileSync(config, `export default { workDir: ${JSON.stringify(workDir)} };\n`);
      const refused = diskpipe(["convert", vmdk, join(dir, "w.qcow2"), "--to", "qcow2", "--config", config]);
      assert.equal(refused.status, 2, refused.stderr);
      assert.match(refused.stderr, why);
      assert.match(refused.stderr, /\[config-invalid\]\n$/);
    }
    const claimed = diskpipe(["convert", vmdk, join(dir, "y.qcow2"), "--to", "qcow2", "--from", "qcow2"]);
    assert.equal(claimed.status, 3);
    assert.equal(claimed.stderr.match(/\[format-mismatch\]/g)?.length, 1, claimed.stderr);
  });
});

describe("output to a reader that stops early (`diskpipe --help | head -1`)", () => {
  const { dir, cleanup } = tempDir();
  after(cleanup);

  it("ends quietly: no stack trace, the command's own exit code", async () => {
    const vmdk = makeImage(makeRaw(join(dir, "disk.raw"), 1024 * 1024), "vmdk", join(dir, "disk.vmdk"));
    for (const args of [["--help"], ["convert", "--help"], ["inspect", vmdk, vmdk, vmdk, "--json"]]) {
      const child = spawn(process.execPath, [join(repoRoot, "bin", "diskpipe.mjs"), ...args], {
        stdio: ["ignore", "pipe", "pipe"],
      });
      child.stdout.destroy();
      let stderr = "";
      child.stderr.on("data", (chunk) => (stderr += chunk));
      const [code] = await once(child, "close");
      assert.equal(stderr, "", args.join(" "));
      assert.equal(code, 0, args.join(" "));
    }
  });
});
