import assert from "node:assert/strict";
import { copyFileSync, existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Queue } from "bullmq";
import { chromium, type Browser } from "playwright-core";
import { createQueue, type DiskpipeQueue } from "../../src/queue/queue.ts";
import { openEvents } from "../helpers/event-stream.ts";
import { makeDataImage, makeImage, sameDisk, tempDir } from "../helpers/images.ts";
import { redisMissing, startRedis, type TestRedis } from "../helpers/redis.ts";
import { startDiskpipe, stopAll, type RunningCommand } from "../helpers/worker-process.ts";
import { writeSlowConfig } from "../helpers/slow-config.ts";

const CHROMIUM = "/usr/bin/chromium";
const MiB = 1024 * 1024;

describe(
  "the queue's dashboard in headless Chromium (real CLI: dashboard --queue, a worker, redis-server)",
  { skip: redisMissing },
  () => {
    const { dir, cleanup } = tempDir("diskpipe-queue-browser-");
    const processes: RunningCommand[] = [];
    let redis: TestRedis;
    let queue: DiskpipeQueue;
    let browser: Browser | undefined;
    let url = "";

    before(async () => {
      assert.ok(
        existsSync(CHROMIUM),
        `Chromium is missing at ${CHROMIUM}: run the test set-up first (node scripts/setup.mjs --test)`,
      );
      redis = await startRedis();
      queue = await createQueue({ url: redis.url, backoffMs: 50 });
      mkdirSync(join(dir, "work"));
      const config = join(dir, "worker.config.mjs");
      writeSlowConfig(config, {
        workDir: join(dir, "work"),
        mibPerSecond: 2,
        noPlugins: true,
        queue: { backoffMs: 50, allow: { sources: [dir], destinations: [dir] } },
      });
      const worker = startDiskpipe([
        "worker",
        "--config",
        config,
        "--queue",
        redis.url,
        "--jobs",
        "1",
        "--name",
        "browser-worker",
      ]);
      const dashboard = startDiskpipe(["dashboard", "--queue", redis.url, "--port", "0"]);
      processes.push(worker, dashboard);
      await worker.waitFor(/taking jobs/);
      url = /dashboard at (http:\/\/\S+)/.exec(await dashboard.waitFor(/dashboard at http/))?.[1] ?? "";
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: [
          "--headless",
          "--no-sandbox",
          "--disable-gpu",
          "--disable-background-networking",
          "--disable-component-update",
          "--disable-sync",
          "--no-first-run",
        ],
      });
    });
    after(async () => {
      await browser?.close();
      await stopAll(processes);
      await queue?.close();
      await redis?.stop();
      cleanup();
    });

    it("shows a submitted job go to running on its worker and to done without a reload; the Retry button runs a failed job again", async () => {
      const page = await (browser ?? assert.fail("no browser")).newPage();
      const errors: string[] = [];
      page.on("pageerror", (error) => errors.push(error.message));
      page.on("console", (message) => message.type() === "error" && errors.push(message.text()));
      await page.goto(url);
      await page.waitForSelector("#live.on", { timeout: 10_000 });
      assert.match((await page.textContent("header")) ?? "", /queue diskpipe at redis:\/\/127\.0\.0\.1:\d+/);
      await page.evaluate(`(() => {
      window.marker = 42;
      window.seen = [];
      const record = () => {
        for (const row of document.querySelectorAll("#jobs tr.job")) {
          const state = row.dataset.state + (row.textContent.includes("browser-worker") ? "@worker" : "");
          if (window.seen.at(-1) !== state) window.seen.push(state);
        }
      };
      new MutationObserver(record).observe(document.getElementById("jobs"), { childList: true, subtree: true, attributes: true });
    })()`);
      const raw = makeDataImage(join(dir, "b.raw"), 4 * MiB, 2);
      const { id } = await queue.submit({
        source: makeImage(raw, "vmdk", join(dir, "b.vmdk")),
        destination: join(dir, "b.qcow2"),
        to: "qcow2",
      });
      await page.waitForSelector(`#job-${id}[data-state=done]`, { timeout: 30_000 });
      const { marker, seen } = (await page.evaluate("({ marker: window.marker, seen: window.seen })")) as {
        marker: number;
        seen: string[];
      };
      assert.equal(marker, 42, "the page was not reloaded");
      assert.ok(seen.includes("running@worker"), `states seen: ${seen.join(" -> ")}`);
      assert.equal(seen.at(-1), "done@worker", `states seen: ${seen.join(" -> ")}`);
      assert.equal(await page.textContent("#count-done"), "1");
      assert.ok(sameDisk(raw, "raw", join(dir, "b.qcow2"), "qcow2"));

      const late = join(dir, "late.vmdk");
      const failed = await queue.submit({ source: late, destination: join(dir, "late.qcow2"), to: "qcow2" });
      await page.waitForSelector(`#job-${failed.id}[data-state=failed]`, { timeout: 30_000 });
      await page.click(`#job-${failed.id} a`);
      await page.waitForSelector("#detail[data-state=failed]");
      assert.match((await page.textContent("#detail")) ?? "", /\[fetch-failed\][\s\S]*Worker\s*browser-worker/);
      copyFileSync(makeImage(raw, "vmdk", join(dir, "late-made.vmdk")), late);
      await page.click("#detail form button");
      await page.waitForSelector("#detail[data-state=done]", { timeout: 30_000 }).catch(async (error: Error) => {
        assert.fail(
          `${error.message}\n${page.url()}\n${await page.content()}\n${JSON.stringify(await queue.job(failed.id))}`,
        );
      });
      assert.ok(sameDisk(raw, "raw", join(dir, "late.qcow2"), "qcow2"));
      assert.deepEqual(errors, [], "no script errors (CSP included)");
      await page.close();
    });

    it("a job added after the page loaded but before its event stream opened is shown (the stream starts with the rows as they stand)", async () => {
      const page = await (browser ?? assert.fail("no browser")).newPage();
      const errors: string[] = [];
      page.on("pageerror", (error) => errors.push(error.message));
      let release: () => void = () => {};
      const held = new Promise<void>((resolve) => (release = resolve));
      // The page's event stream is held back until the job was added and the dashboard had told its other streams.
      await page.route("**/api/events*", async (route) => {
        await held;
        await route.continue();
      });
      const bull = new Queue("diskpipe", { connection: { host: "127.0.0.1", port: redis.port } });
      const other = await openEvents(new URL("/api/events", url).href);
      try {
        await page.goto(url);
        await other.until(/event: hello/);
        assert.equal(await page.$("#job-race-1"), null);
        // Delayed for an hour: nothing will happen to it again, so no later event could show it.
        await bull.add(
          "convert",
          { v: 1, spec: { source: join(dir, "race.vmdk"), destination: join(dir, "race.qcow2"), to: "qcow2" } },
          { jobId: "race-1", delay: 3_600_000 },
        );
        await other.until(/"id":"race-1"/);
        release();
        await page.waitForSelector("#live.on", { timeout: 10_000 });
        await page.waitForSelector("#job-race-1[data-state=queued]", { timeout: 10_000 });
        assert.match((await page.textContent("#job-race-1")) ?? "", /race\.vmdk/);
        assert.deepEqual(errors, []);
      } finally {
        release();
        other.close();
        await bull.remove("race-1").catch(() => undefined);
        await bull.close();
        await page.close();
      }
    });
  },
);
