import assert from "node:assert/strict";
import { copyFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { SpoolJob } from "../../src/spool/types.ts";
import { makeBackedQcow2, makeDataImage, makeImage, makeRaw, sameDisk, tempDir } from "../helpers/images.ts";
import { redisMissing, startRedis, type TestRedis } from "../helpers/redis.ts";
import { startDiskpipe, stopAll, type RunningCommand } from "../helpers/worker-process.ts";
import { filesIn, readJournal, waitFor } from "../spool/helpers.ts";
import { writeSlowConfig } from "../helpers/slow-config.ts";

const MiB = 1024 * 1024;

describe(
  "diskpipe watch SPOOL --queue: the spool claims and finishes files, a worker process converts them (real redis-server)",
  { skip: redisMissing },
  () => {
    const { dir, cleanup } = tempDir("diskpipe-watch-queue-");
    const root = join(dir, "spool");
    const processes: RunningCommand[] = [];
    let redis: TestRedis;
    let worker: RunningCommand;
    let watcher: RunningCommand;
    let url = "";

    const startWatcher = async () => {
      watcher = startDiskpipe(["watch", root, "--queue", redis.url, "--dashboard", "--port", "0", "--settle", "200"]);
      processes.push(watcher);
      url = /dashboard at (http:\/\/\S+)/.exec(await watcher.waitFor(/dashboard at http/))?.[1] ?? "";
    };
    const drop = (format: string, name: string, from: string) =>
      copyFileSync(from, join(root, "incoming", format, name));
    const jobs = async () => (await (await fetch(new URL("/api/jobs", url))).json()) as SpoolJob[];
    const finished = (name: string) =>
      waitFor(
        async () => (await jobs()).find((j) => j.name === name && (j.state === "done" || j.state === "failed")),
        `${name} to finish`,
      );

    before(async () => {
      redis = await startRedis();
      const config = join(dir, "worker.config.mjs");
      mkdirSync(join(dir, "work"));
      writeSlowConfig(config, {
        workDir: join(dir, "work"),
        mibPerSecond: 2,
        noPlugins: true,
        queue: { allow: { sources: [join(root, "work")], destinations: [join(root, "done")] } },
      });
      await startWatcher();
      worker = startDiskpipe(["worker", "--config", config, "--queue", redis.url, "--jobs", "2", "--name", "w-spool"]);
      processes.push(worker);
      await worker.waitFor(/taking jobs/);
    });
    after(async () => {
      await stopAll(processes);
      await redis?.stop();
      cleanup();
    });

    it("says where jobs run; a dropped image is converted by the worker into done/, the claimed file removed, journaled queued, running, done with the worker's timings and hooks", async () => {
      assert.match(watcher.stderr(), /run by the workers of the queue diskpipe at redis:\/\/127\.0\.0\.1:\d+\n/);
      const raw = makeRaw(join(dir, "a.raw"), 4 * MiB, 3);
      drop("qcow2", "a.vmdk", makeImage(raw, "vmdk", join(dir, "a.vmdk")));
      const job = await finished("a.vmdk");
      assert.equal(job.state, "done", JSON.stringify(job.error));
      assert.ok(sameDisk(raw, "raw", join(root, "done", "a.qcow2"), "qcow2"));
      assert.deepEqual(filesIn(root, "work"), []);
      assert.deepEqual(filesIn(root, "done"), ["a.qcow2"]);
      const states = readJournal(root)
        .filter((entry) => entry.id === job.id)
        .map((entry) => entry.state);
      assert.deepEqual(states, ["queued", "running", "done"]);
      assert.ok(
        job.timings.some((t) => t.stage === "convert"),
        JSON.stringify(job.timings),
      );
      assert.ok(
        job.hooks.some((h) => h.plugin === "diskpipe-queue"),
        JSON.stringify(job.hooks),
      );
      assert.equal(job.inspection?.format, "vmdk");
      assert.match(worker.stderr(), /done, .*work\/[^ ]*a\.vmdk -> .*done\/a\.qcow2/);
    });

    it("a rejected image fails on the worker and its file moves to failed/ with the reason, as in-process", async () => {
      drop("raw", "evil.qcow2", makeBackedQcow2(dir));
      const job = await finished("evil.qcow2");
      assert.equal(job.state, "failed");
      assert.equal(job.error?.code, "image-rejected");
      assert.ok(existsSync(join(root, "failed", "evil.qcow2")));
      const error = JSON.parse(readFileSync(join(root, "failed", "evil.qcow2.error.json"), "utf8")) as {
        code: string;
        message: string;
      };
      assert.equal(error.code, "image-rejected");
      assert.match(error.message, /backing/);
      assert.deepEqual(filesIn(root, "work"), []);
    });

    it("SIGTERM while a worker converts: the watcher exits 0 at once, the worker goes on, and the next start records the job done once", async () => {
      const raw = makeDataImage(join(dir, "long.raw"), 8 * MiB, 4);
      drop("qcow2", "long.vmdk", makeImage(raw, "vmdk", join(dir, "long.vmdk")));
      const id = await waitFor(
        async () => (await jobs()).find((j) => j.name === "long.vmdk" && j.state === "running")?.id,
        "the job to run on the worker",
      );
      watcher.child.kill("SIGTERM");
      assert.equal(await watcher.exited, 0);
      assert.match(watcher.stderr(), /the workers finish running jobs/);
      assert.ok(!existsSync(join(root, "done", "long.qcow2")), "the worker is still converting");
      await startWatcher();
      const job = await finished("long.vmdk");
      assert.equal(job.id, id);
      assert.equal(job.state, "done");
      assert.ok(sameDisk(raw, "raw", join(root, "done", "long.qcow2"), "qcow2"));
      assert.deepEqual(filesIn(root, "work"), []);
      assert.equal(readJournal(root).filter((entry) => entry.id === id && entry.state === "done").length, 1);
      assert.equal(worker.stderr().match(/: done, .*long\.vmdk/g)?.length, 1, "converted once");
    });
  },
);
