import assert from "node:assert/strict";
import { copyFileSync, existsSync, mkdirSync, rmSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createPipeline } from "../../src/create-pipeline.ts";
import { definePlugin, type PluginOption } from "../../src/core/plugin.ts";
import { defaultConfig } from "../../src/scripting.ts";
import { Failures } from "../../src/spool/failures.ts";
import type { JournalEntry } from "../../src/spool/journal.ts";
import { OutputNames } from "../../src/spool/output-names.ts";
import { spoolLayout } from "../../src/spool/paths.ts";
import { JobRunner } from "../../src/spool/runner.ts";
import { applyEntry } from "../../src/spool/state.ts";
import type { SpoolEvent, SpoolJob } from "../../src/spool/types.ts";
import { makeRaw, tempDir } from "../helpers/images.ts";
import { filesIn } from "./helpers.ts";

describe("JobRunner: a claimed job's run, from its start to done, failed or queued again", () => {
  const { dir, cleanup } = tempDir("diskpipe-runner-");
  let raw = "";
  let count = 0;
  before(() => {
    raw = makeRaw(join(dir, "disk.raw"), 1024 * 1024);
  });
  after(cleanup);

  /** A runner on a fresh spool folder with a real pipeline; its journal is the `entries` array. */
  async function setUp(plugins: PluginOption[] = []) {
    const layout = spoolLayout(join(dir, `spool-${++count}`));
    for (const folder of [layout.work, layout.done, layout.failed]) mkdirSync(folder, { recursive: true });
    const config = await defaultConfig();
    const pipeline = createPipeline({ ...config, plugins: [...(config.plugins ?? []), ...plugins] });
    const jobs = new Map<string, SpoolJob>();
    const outputs = new OutputNames();
    const entries: JournalEntry[] = [];
    const events: SpoolEvent[] = [];
    let stopping = false;
    const append = async (entry: JournalEntry) => void entries.push(entry);
    const emit = (event: SpoolEvent) => void events.push(event);
    const failures = new Failures({ layout, jobs, append, emit });
    const runner = new JobRunner({
      layout,
      pipeline,
      executor: pipeline,
      jobs,
      outputs,
      failures,
      append,
      record: async (entry) => {
        await append(entry);
        return applyEntry(jobs, entry, layout);
      },
      emit,
      stopping: () => stopping,
      targets: () => ["qcow2", "raw"],
    });
    const off = pipeline.on((event) => runner.onPipelineEvent(event));
    /** A job claimed for `to` with its file in work/ and its output name reserved, as a claim leaves it. */
    const claim = (id: string, name: string, to = "qcow2", output: string | null = "disk.qcow2"): SpoolJob => {
      const entry: JournalEntry = {
        at: new Date().toISOString(),
        id,
        state: "queued",
        name,
        to,
        work: `${id}--${name}`,
        ...(output && { output }),
        outputExisted: false,
        sidecar: false,
      };
      const job = applyEntry(jobs, entry, layout);
      assert.ok(job);
      copyFileSync(raw, job.source);
      if (output) outputs.reserve(output, id);
      return job;
    };
    const states = (id: string) => entries.filter((e) => e.id === id).map((e) => e.state);
    return { layout, runner, outputs, events, claim, states, off, stop: () => (stopping = true) };
  }

  it("converts a job into done/, journals running then done, removes its claimed file and frees its output name", async () => {
    const { layout, runner, outputs, events, claim, states, off } = await setUp();
    try {
      const job = claim("aaaa1-000001", "disk.raw");
      runner.start(job);
      await runner.idle(async () => {});
      assert.equal(job.state, "done", job.error?.message);
      assert.equal(job.runs, 1);
      assert.deepEqual(states(job.id), ["running", "done"]);
      assert.deepEqual(filesIn(layout.root, "done"), ["disk.qcow2"]);
      assert.deepEqual(filesIn(layout.root, "work"), []);
      assert.equal(outputs.isReserved("disk.qcow2"), false);
      assert.deepEqual(
        events.filter((e) => e.type !== "pipeline" && e.type !== "progress").map((e) => e.type),
        ["running", "done"],
      );
    } finally {
      off();
    }
  });

  it("fails a job whose name cannot be used at once, with usage at stage claim, and never runs it", async () => {
    const { layout, runner, outputs, claim, states, off } = await setUp();
    try {
      const job = claim("aaaa2-000002", "a\u0007.raw");
      runner.start(job);
      await runner.idle(async () => {});
      assert.equal(job.state, "failed");
      assert.equal(job.error?.code, "usage");
      assert.equal(job.error?.stage, "claim");
      assert.match(
        job.error?.message ?? "",
        /cannot be used: it contains control characters.*rename it and drop it again/,
      );
      assert.deepEqual(states(job.id), ["failed"]);
      assert.deepEqual(filesIn(layout.root, "done"), []);
      assert.equal(outputs.isReserved("disk.qcow2"), false);
    } finally {
      off();
    }
  });

  it("refuses before the pipeline starts: an unknown target, a target qemu-img cannot write, an output name taken at the claim, a link", async () => {
    const { layout, runner, outputs, claim, states, off } = await setUp();
    try {
      const unknown = claim("aaaa3-000003", "one.raw", "bogus", null);
      const unwritable = claim("aaaa4-000004", "two.raw", "iso", null);
      const taken = claim("aaaa5-000005", "three.raw", "qcow2", "three.qcow2");
      outputs.release("three.qcow2", taken.id);
      outputs.markTaken(taken.id);
      const link = claim("aaaa6-000006", "four.raw", "qcow2", "four.qcow2");
      copyFileSync(link.source, `${link.source}.target`);
      rmSync(link.source);
      symlinkSync(`${link.source}.target`, link.source);
      for (const job of [unknown, unwritable, taken, link]) runner.start(job);
      await runner.idle(async () => {});
      const messages: Array<[SpoolJob, RegExp]> = [
        [unknown, /^unknown target format folder incoming\/bogus\/ \(known: qcow2, raw\)$/],
        [unwritable, /^qemu-img cannot write iso; drop files into one of: qcow2, raw$/],
        [taken, /^done\/three\.qcow2 already exists or is being written; move it away, then retry$/],
        [link, /^four\.raw is not a regular file \(symbolic links and devices are refused\)$/],
      ];
      for (const [job, message] of messages) {
        assert.equal(job.state, "failed", job.name);
        assert.equal(job.error?.code, "usage", job.name);
        assert.equal(job.error?.stage, "claim", job.name);
        assert.match(job.error?.message ?? "", message);
        assert.deepEqual(states(job.id), ["failed"], `${job.name} never ran`);
      }
      assert.deepEqual(filesIn(layout.root, "done"), []);
    } finally {
      off();
    }
  });

  it("queues a job again when the spool stops under its run, and leaves its output name reserved for the next start", async () => {
    let entered!: () => void;
    const inPreConvert = new Promise<void>((resolve) => (entered = resolve));
    const hold = definePlugin({
      name: "hold",
      hooks: {
        preConvert: (plan, ctx) =>
          new Promise((_resolve, reject) => {
            entered();
            ctx.signal.addEventListener("abort", () => reject(new Error("aborted")), { once: true });
          }),
      },
    });
    const { layout, runner, outputs, events, claim, states, off, stop } = await setUp([hold]);
    try {
      const job = claim("aaaa7-000007", "disk.raw");
      runner.start(job);
      await inPreConvert;
      stop();
      await runner.abortAll(new Error("the spool is stopping"));
      assert.equal(job.state, "queued");
      assert.deepEqual(states(job.id), ["running", "queued"]);
      assert.equal(events.at(-1)?.type, "queued");
      assert.ok(existsSync(job.source), "the claimed file stays in work/");
      assert.deepEqual(filesIn(layout.root, "done"), []);
      assert.equal(outputs.isReserved("disk.qcow2"), true);
    } finally {
      off();
    }
  });

  it("fails an aborted run when the spool is not stopping", async () => {
    let entered!: () => void;
    const inPreConvert = new Promise<void>((resolve) => (entered = resolve));
    const hold = definePlugin({
      name: "hold",
      hooks: {
        preConvert: (plan, ctx) =>
          new Promise((_resolve, reject) => {
            entered();
            ctx.signal.addEventListener("abort", () => reject(new Error("aborted")), { once: true });
          }),
      },
    });
    const { runner, outputs, claim, states, off } = await setUp([hold]);
    try {
      const job = claim("aaaa8-000008", "disk.raw");
      runner.start(job);
      await inPreConvert;
      await runner.abortAll(new Error("aborted by the test"));
      assert.equal(job.state, "failed");
      assert.deepEqual(states(job.id), ["running", "failed"]);
      assert.equal(outputs.isReserved("disk.qcow2"), false);
    } finally {
      off();
    }
  });
});
