import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { open } from "node:fs/promises";
import { basename, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createPipeline, defineFormat, definePlugin, type JobContext, type Plugin } from "../../../src/mod.ts";
import { TestServer } from "../io/server.ts";
import { failure } from "../../helpers/failure.ts";
import { listDir, makeImage, tempDir } from "../../helpers/images.ts";

const MiB = 1024 * 1024;
const MAGIC = "ARRIVING";

/** What one unpack saw of the image it was given. */
interface Seen {
  arriving: boolean;
  sizeOnDisk: number;
}

/** A test container: MAGIC, then a raw disk; its unpack copies the disk out, reading as the plugin says. */
function container(name: string, arriving: boolean, seen: Seen[]): Plugin {
  return definePlugin({
    name,
    formats: [
      defineFormat({
        name,
        unpacksArriving: arriving,
        async detect(reader) {
          const head = Buffer.from(await reader.read(0, MAGIC.length)).toString("latin1");
          return head === `${MAGIC}` ? { format: name, problems: [], details: {} } : null;
        },
        async unpack(ctx: JobContext) {
          const image = ctx.image;
          if (!image) throw new Error("no image");
          seen.push({ arriving: image.arriving !== undefined, sizeOnDisk: statSync(image.path).size });
          const out = join(ctx.workDir, "disk.raw");
          const file = await open(out, "wx");
          try {
            if (image.arriving) {
              let skip = MAGIC.length;
              for await (const chunk of image.arriving.chunks()) {
                await file.write(chunk.subarray(Math.min(skip, chunk.length)));
                skip = Math.max(0, skip - chunk.length);
              }
            } else await file.write(readFileSync(image.path).subarray(MAGIC.length));
          } finally {
            await file.close();
          }
          return { path: out, format: "raw" };
        },
      }),
    ],
  });
}

describe("unpacking a download while it arrives", () => {
  const { dir, cleanup } = tempDir("diskpipe-unpack-arriving-");
  const server = new TestServer();
  let body = "";
  before(async () => {
    await server.start();
    body = join(dir, "container.bin");
    writeFileSync(body, Buffer.concat([Buffer.from(MAGIC), randomBytes(4 * MiB)]));
    server.routes.set("/container.bin", { file: body, dropAfter: MiB });
    // The same container with a VHD footer after it: a second format that only the end shows.
    const vhd = makeImage(join(dir, "container.bin"), "vpc", join(dir, "footer.vhd"));
    const footer = readFileSync(vhd).subarray(-512);
    writeFileSync(join(dir, "polyglot.bin"), Buffer.concat([readFileSync(body), footer]));
    server.routes.set("/polyglot.bin", { file: join(dir, "polyglot.bin") });
  });
  after(async () => {
    await server.stop();
    cleanup();
  });
  const run = (plugin: Plugin, path: string, out: string, checksum?: string) =>
    createPipeline({ workDir: join(dir, `work-${out}`), plugins: [plugin], fetch: { retries: 2, backoffMs: 10 } }).run({
      source: server.url(path),
      destination: join(dir, out),
      to: "raw",
      ...(checksum && { checksum }),
    });

  it("hands a container that unpacks as it arrives the download, and one that does not the whole file", async () => {
    const digest = createHash("sha256").update(readFileSync(body)).digest("hex");
    for (const arriving of [true, false]) {
      const seen: Seen[] = [];
      const out = `out-${arriving}.raw`;
      const result = await run(container(`box-${arriving}`, arriving, seen), "/container.bin", out, `sha256:${digest}`);
      assert.equal(result.sourceHash, `sha256:${digest}`);
      assert.deepEqual(
        seen.map((s) => s.arriving),
        [arriving],
      );
      if (!arriving) assert.equal(seen[0]?.sizeOnDisk, statSync(body).size);
      assert.deepEqual(readFileSync(join(dir, out)), readFileSync(body).subarray(MAGIC.length));
    }
  });

  it("still refuses what the image's end shows (a polyglot) after the unpack has read it", async () => {
    const seen: Seen[] = [];
    const error = await failure(run(container("box-tail", true, seen), "/polyglot.bin", "polyglot.raw"));
    assert.equal(error.code, "image-rejected", error.message);
    assert.equal(seen.length, 1);
    assert.ok(!listDir(dir).includes("polyglot.raw"));
  });

  it("fails the job on a wrong checksum even though the unpack finished", async () => {
    const seen: Seen[] = [];
    const error = await failure(
      run(container("box-sum", true, seen), "/container.bin", "sum.raw", `sha256:${"1".repeat(64)}`),
    );
    assert.equal(error.code, "checksum-mismatch", error.message);
    assert.ok(!listDir(dir).includes("sum.raw"));
  });
});

describe("what an unpack gives must be a file in the job's work directory", () => {
  const { dir, cleanup } = tempDir("diskpipe-unpack-where-");
  after(cleanup);
  const outside = join(dir, "host-file.raw");
  writeFileSync(outside, Buffer.alloc(MiB, 1));
  const source = join(dir, "box.bin");
  writeFileSync(source, Buffer.concat([Buffer.from(MAGIC), Buffer.alloc(MiB)]));
  /** A container whose unpack names `where(workDir)` as its image (or as the second disk of an appliance). */
  const misled = (name: string, where: (workDir: string) => string, appliance = false): Plugin =>
    definePlugin({
      name,
      formats: [
        defineFormat({
          name,
          detect: async (reader) =>
            Buffer.from(await reader.read(0, MAGIC.length)).toString("latin1") === MAGIC
              ? { format: name, problems: [], details: {} }
              : null,
          async unpack(ctx) {
            const inside = join(ctx.workDir, "disk.raw");
            writeFileSync(inside, Buffer.alloc(MiB));
            const path = where(ctx.workDir);
            if (!appliance) return { path, format: "raw" };
            return {
              disks: [
                { path: inside, format: "raw" },
                { path, format: "raw" },
              ],
              description: { suffix: "box", render: () => ({}) },
            };
          },
        }),
      ],
    });

  const elsewhere = "is not in the job's work directory";
  const notFile = "is not a regular file";
  for (const [label, where, why] of [
    ["a host file", () => outside, elsewhere],
    ["a path that climbs out", (work: string) => join(work, "..", "..", basename(dir), "host-file.raw"), elsewhere],
    [
      "a link in the work directory to a host file",
      (work: string) => {
        symlinkSync(outside, join(work, "link.raw"));
        return join(work, "link.raw");
      },
      elsewhere,
    ],
    ["the work directory itself", (work: string) => work, elsewhere],
    [
      "a directory in the work directory",
      (work: string) => {
        mkdirSync(join(work, "sub"));
        return join(work, "sub");
      },
      notFile,
    ],
    [
      "a link in the work directory to a file in it",
      (work: string) => {
        symlinkSync(join(work, "disk.raw"), join(work, "inner-link.raw"));
        return join(work, "inner-link.raw");
      },
      notFile,
    ],
  ] as const) {
    for (const appliance of [false, true]) {
      it(`refuses ${label}${appliance ? " as an appliance's disk" : ""}, converting nothing`, async () => {
        const out = join(dir, `out-${label.replace(/\W/g, "-")}-${appliance}`);
        mkdirSync(out);
        const error = await failure(
          createPipeline({ workDir: join(dir, "work"), plugins: [misled("misled", where, appliance)] }).run({
            source,
            destination: appliance ? out : join(out, "disk.qcow2"),
            to: "qcow2",
          }),
        );
        assert.equal(error.code, "plugin-failed", error.message);
        assert.ok(error.message.startsWith("misled: the unpacked image "), error.message);
        assert.ok(error.message.endsWith(` ${why}`), error.message);
        assert.deepEqual(readdirSync(out), []);
      });
    }
  }

  it("refuses an appliance that holds no disk, converting nothing", async () => {
    const out = join(dir, "out-no-disk");
    mkdirSync(out);
    const empty = definePlugin({
      name: "empty",
      formats: [
        defineFormat({
          name: "empty",
          detect: async (reader) =>
            Buffer.from(await reader.read(0, MAGIC.length)).toString("latin1") === MAGIC
              ? { format: "empty", problems: [], details: {} }
              : null,
          unpack: async () => ({ disks: [], description: { suffix: "box", render: () => ({}) } }),
        }),
      ],
    });
    const error = await failure(
      createPipeline({ workDir: join(dir, "work"), plugins: [empty] }).run({ source, destination: out, to: "qcow2" }),
    );
    assert.equal(error.code, "plugin-failed", error.message);
    assert.match(error.message, /^empty: the appliance holds no disk/);
    assert.deepEqual(readdirSync(out), []);
  });
});
