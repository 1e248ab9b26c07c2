import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { rm, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import type { JobEvent } from "../../src/core/job.ts";
import { createPipeline } from "../../src/create-pipeline.ts";
import { defineFormat, definePlugin } from "../../src/core/plugin.ts";
import { failure } from "../helpers/failure.ts";
import { makeRaw, sameDisk, tempDir } from "../helpers/images.ts";

const SIZE = 2 * 1024 * 1024;
const MAGIC = "DISKPIPE-TEST-BOX";

/** A container format: MAGIC, then a raw disk image. Claimed with `container: "box"`, or detected by its magic. */
const box = definePlugin({
  name: "test-box",
  formats: [
    defineFormat({
      name: "test-box",
      writable: false,
      claims: (spec) => spec.container === "box",
      async detect(reader) {
        const head = Buffer.from(await reader.read(0, MAGIC.length));
        return head.toString("latin1") === MAGIC ? { format: "test-box", virtualSize: SIZE, problems: [] } : null;
      },
      async unpack(ctx) {
        const inside = join(ctx.workDir, "inside.raw");
        await writeFile(inside, readFileSync(ctx.image?.path ?? "").subarray(MAGIC.length));
        return { path: inside, format: "raw" };
      },
    }),
  ],
});

const stagesOf = (events: JobEvent[]) => events.flatMap((e) => (e.type === "stage-start" ? [e.stage] : []));

describe("runJob: the stages of one job", () => {
  const { dir, cleanup } = tempDir();
  after(cleanup);
  const raw = makeRaw(join(dir, "disk.raw"), SIZE);
  const boxed = join(dir, "disk.box");
  writeFileSync(boxed, Buffer.concat([Buffer.from(MAGIC, "latin1"), readFileSync(raw)]));

  async function run(
    spec: { source: string; destination: string; to: string; container?: string; from?: string },
    plugins = [box],
  ) {
    const pipeline = createPipeline({ workDir: join(dir, "work"), plugins });
    const events: JobEvent[] = [];
    pipeline.on((event) => events.push(event));
    const result = await pipeline.run(spec);
    return { result, events };
  }

  it("unpacks a claimed container in its own stage, before the inspection of what it held", async () => {
    const destination = join(dir, "claimed.raw");
    const { result, events } = await run({ source: boxed, destination, to: "raw", container: "box" });
    assert.deepEqual(
      result.timings.map((t) => t.stage),
      [
        "resolve",
        "preFetch",
        "fetch",
        "unpack",
        "inspect",
        "verify",
        "prepare",
        "preConvert",
        "convert",
        "postConvert",
        "upload",
        "cleanup",
      ],
    );
    assert.deepEqual(
      stagesOf(events),
      result.timings.map((t) => t.stage),
    );
    assert.equal(result.from, "raw");
    assert.ok(sameDisk(raw, "raw", destination, "raw"));
  });

  it("inspects a detected container, unpacks it, and inspects its content before converting it", async () => {
    const destination = join(dir, "detected.raw");
    const { result, events } = await run({ source: boxed, destination, to: "raw" });
    assert.deepEqual(
      result.timings.map((t) => t.stage),
      [
        "resolve",
        "preFetch",
        "fetch",
        "inspect",
        "unpack",
        "inspect",
        "verify",
        "prepare",
        "preConvert",
        "convert",
        "postConvert",
        "upload",
        "cleanup",
      ],
    );
    const inspected = events.flatMap((e) => (e.type === "inspected" ? [e.result.format] : []));
    assert.deepEqual(inspected, ["raw"], "one verdict is announced: the content's");
    assert.ok(sameDisk(raw, "raw", destination, "raw"));
  });

  it("prepares once for a raw download written straight into its output", async () => {
    const bytes = readFileSync(raw);
    const server = createServer((_request, response) =>
      response.writeHead(200, { "content-length": bytes.length }).end(bytes),
    );
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const destination = join(dir, "streamed.raw");
      const source = `http://127.0.0.1:${(server.address() as AddressInfo).port}/disk.raw`;
      const { result } = await run({ source, destination, to: "raw", from: "raw" });
      assert.deepEqual(
        result.timings.map((t) => t.stage),
        [
          "resolve",
          "preFetch",
          "fetch",
          "inspect",
          "verify",
          "prepare",
          "preConvert",
          "convert",
          "postConvert",
          "upload",
          "cleanup",
        ],
      );
      assert.ok(sameDisk(raw, "raw", destination, "raw"));
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it("aborts an output a sink opened when the plan for it cannot be built", async () => {
    const held = join(dir, "held.out");
    const picky = definePlugin({
      name: "test-picky",
      formats: [
        defineFormat({
          name: "picky",
          qemuDriver: "raw",
          outputOptions: () => {
            throw new Error("no options suit this output");
          },
        }),
      ],
      sinks: [
        {
          name: "test-holder",
          matches: (location) => location.startsWith("held:"),
          async open() {
            await writeFile(held, "");
            return {
              target: { path: held, blockDevice: false, directIo: false },
              commit: async () => {},
              abort: () => rm(held, { force: true }),
            };
          },
        },
      ],
    });
    const error = await failure(run({ source: raw, destination: "held:out", to: "picky" }, [picky]));
    assert.equal(error.stage, "prepare");
    assert.match(error.message, /no options suit this output/);
    assert.equal(existsSync(held), false, "the sink's output was aborted");
  });
});
