import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createQueue } from "../../src/queue/queue.ts";
import { openEvents } from "../helpers/event-stream.ts";
import { makeDataImage, makeImage, sameDisk, tempDir } from "../helpers/images.ts";
import { redisMissing, startRedis, type TestRedis } from "../helpers/redis.ts";
import { waitFor } from "../helpers/wait.ts";
import { startDiskpipe, stopAll, type RunningCommand } from "../helpers/worker-process.ts";
import { writeSlowConfig } from "../helpers/slow-config.ts";

const MiB = 1024 * 1024;

describe(
  "Redis restarted mid-run (a real redis-server with AOF, killed and started again on the same port)",
  { skip: redisMissing },
  () => {
    const { dir, cleanup } = tempDir("diskpipe-queue-restart-");
    const processes: RunningCommand[] = [];
    let redis: TestRedis;

    before(async () => {
      redis = await startRedis({ appendonly: true });
    });
    after(async () => {
      await stopAll(processes, "SIGKILL");
      await redis?.stop();
      cleanup();
    });

    it("a worker, submit --wait, a dashboard and watch --queue ride it out: every job finishes once, verified, no temporary file, --wait exits 0, the dashboard's events go on", async () => {
      const inDir = join(dir, "in");
      const out = join(dir, "out");
      const work = join(dir, "work");
      for (const folder of [inDir, out, work]) mkdirSync(folder);
      const config = join(dir, "worker.config.mjs");
      writeSlowConfig(config, {
        workDir: work,
        mibPerSecond: 2,
        noPlugins: true,
        queue: { allow: { sources: [dir], destinations: [dir] } },
      });
      const spool = join(dir, "spool");
      const watcher = startDiskpipe(["watch", spool, "--queue", redis.url, "--settle", "200"]);
      const dashboard = startDiskpipe(["dashboard", "--queue", redis.url, "--port", "0"]);
      processes.push(watcher, dashboard);
      await watcher.waitFor(/watching/);
      const url = /dashboard at (http:\/\/\S+)/.exec(await dashboard.waitFor(/dashboard at http/))?.[1] ?? "";
      const events = await openEvents(new URL("/api/events", url).href);
      await events.until(/event: hello/);
      const raws = Array.from({ length: 4 }, (_, i) => makeDataImage(join(dir, `r${i}.raw`), 4 * MiB, i + 1));
      const sources = raws.map((raw, i) => makeImage(raw, "vmdk", join(inDir, `r${i}.vmdk`)));
      const worker = startDiskpipe([
        "worker",
        "--config",
        config,
        "--queue",
        redis.url,
        "--jobs",
        "2",
        "--name",
        "survivor",
      ]);
      processes.push(worker);
      await worker.waitFor(/taking jobs/);
      const submit = startDiskpipe([
        "submit",
        ...sources,
        "--out-dir",
        out,
        "--to",
        "qcow2",
        "--queue",
        redis.url,
        "--wait",
        "--json",
      ]);
      processes.push(submit);
      const spooled = makeDataImage(join(dir, "spooled.raw"), 4 * MiB, 9);
      writeFileSync(
        join(spool, "incoming", "qcow2", "spooled.vmdk"),
        readFileSync(makeImage(spooled, "vmdk", join(dir, "spooled.vmdk"))),
      );
      await waitFor(() => readdirSync(out).some((name) => name.includes(".diskpipe-tmp-")), "a conversion under way");
      const beforeRestart = events.text().length;
      await redis.restart(1500);
      assert.equal(await submit.exited, 0, submit.stderr());
      const results = submit
        .stdout()
        .trim()
        .split("\n")
        .filter((line) => line.startsWith("{"));
      assert.equal(results.length, 4, submit.stdout());
      for (let i = 0; i < 4; i++)
        assert.ok(sameDisk(raws[i] ?? "", "raw", join(out, `r${i}.qcow2`), "qcow2"), `r${i}.qcow2 reads as its source`);
      assert.deepEqual(readdirSync(out).sort(), ["r0.qcow2", "r1.qcow2", "r2.qcow2", "r3.qcow2"]);
      await waitFor(
        () => existsSync(join(spool, "done", "spooled.qcow2")) && readdirSync(join(spool, "work")).length === 0,
        "the spool to finish its job",
        60_000,
      );
      assert.ok(sameDisk(spooled, "raw", join(spool, "done", "spooled.qcow2"), "qcow2"));
      await waitFor(
        () => /"state":"done"/.test(events.text().slice(beforeRestart)),
        "a completion on the dashboard's event stream after the restart",
        30_000,
      );
      events.close();
      assert.equal((await fetch(new URL("/api/jobs", url))).status, 200);
      const queue = await createQueue({ url: redis.url });
      try {
        const views = await queue.list();
        assert.equal(views.length, 5);
        for (const view of views) {
          assert.equal(view.state, "completed", view.id);
          const journal = (await queue.job(view.id))?.journal ?? [];
          assert.equal(journal.filter((entry) => entry.event === "done").length, 1, `${view.id}: one completion`);
        }
      } finally {
        await queue.close();
      }
      worker.child.kill("SIGTERM");
      assert.equal(await worker.exited, 0);
      assert.match(worker.stderr(), /warning: queue: connect ECONNREFUSED/, "the worker saw Redis go away");
      assert.doesNotMatch(`${worker.stderr()}${submit.stderr()}`, /^\s+at /m, "no stack traces");
      assert.deepEqual(
        readdirSync(join(work, "diskpipe")).filter((name) => name.startsWith("job-")),
        [],
      );
    });
  },
);
