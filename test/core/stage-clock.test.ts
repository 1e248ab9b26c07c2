import assert from "node:assert/strict";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { registerFormats } from "../../src/core/inspector.ts";
import { createJobContext } from "../../src/core/job-context.ts";
import type { JobEvent } from "../../src/core/job.ts";
import { QemuImg } from "../../src/core/qemu-img.ts";
import { StageClock } from "../../src/core/stage-clock.ts";
import { failure } from "../helpers/failure.ts";
import { tempDir } from "../helpers/images.ts";
import { withStandardFormats } from "../../src/standard-formats.ts";

describe("StageClock: how a job's stage runs", () => {
  const { dir, cleanup } = tempDir();
  after(cleanup);

  async function clocked() {
    const events: JobEvent[] = [];
    const job = await createJobContext({
      spec: { source: "in.raw", destination: "out.raw", to: "raw" },
      workRoot: join(dir, "work"),
      qemu: new QemuImg(),
      formats: registerFormats(withStandardFormats([])).formats,
      emit: () => {},
    });
    return { job, events, clock: new StageClock(job, (event) => events.push(event)) };
  }

  it("marks, announces and times a stage, and hands back its value", async () => {
    const { job, events, clock } = await clocked();
    assert.equal(await clock.run("fetch", () => (job.stage === "fetch" ? 42 : 0)), 42);
    assert.deepEqual(
      events.map((e) => `${e.type}:${"stage" in e ? e.stage : ""}`),
      ["stage-start:fetch", "stage-end:fetch"],
    );
    assert.deepEqual(
      clock.timings.map((t) => t.stage),
      ["fetch"],
    );
    assert.ok((clock.timings[0]?.ms ?? -1) >= 0);
    await clock.cleanup();
  });

  it("turns a stage's failure into a DiskpipeError naming the stage, and still times it", async () => {
    const { clock } = await clocked();
    const error = await failure(clock.run("convert", () => Promise.reject(new Error("disk on fire"))));
    assert.deepEqual([error.code, error.stage, error.message], ["io-failed", "convert", "disk on fire"]);
    assert.deepEqual(
      clock.timings.map((t) => t.stage),
      ["convert"],
    );
    await clock.cleanup();
  });

  it("does not start a stage of an aborted job, but runs its cleanup", async () => {
    const { job, events, clock } = await clocked();
    job.controller.abort(new Error("stop"));
    let ran = false;
    await assert.rejects(
      clock.run("inspect", () => void (ran = true)),
      /stop/,
    );
    assert.equal(ran, false);
    let cleaned = false;
    job.onCleanup(() => void (cleaned = true));
    await clock.cleanup();
    assert.equal(cleaned, true);
    assert.equal(job.stage, "cleanup");
    assert.deepEqual(
      events.map((e) => e.type === "stage-start" && e.stage),
      ["cleanup", false],
    );
  });
});
