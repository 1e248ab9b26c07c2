import assert from "node:assert/strict";
import { copyFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { createQueue, type DiskpipeQueue } from "../../src/queue/queue.ts";
import type { QueueJobView } from "../../src/queue/job-view.ts";
import { diskpipeAsync } from "../helpers/cli.ts";
import { openEvents } from "../helpers/event-stream.ts";
import { makeDataImage, makeImage, makeRaw, sameDisk, tempDir } from "../helpers/images.ts";
import { redisMissing, startRedis, type TestRedis } from "../helpers/redis.ts";
import { startDiskpipe, stopAll, type RunningCommand } from "../helpers/worker-process.ts";
import { waitFor } from "../helpers/wait.ts";
import { writeSlowConfig } from "../helpers/slow-config.ts";

const MiB = 1024 * 1024;

const PASSWORD = "pw-dash-Xk29-never-shown";
const TOKEN = "dashboard-token-for-the-queue";

describe(
  "diskpipe dashboard --queue (real redis-server, worker and dashboard processes)",
  { skip: redisMissing },
  () => {
    const { dir, cleanup } = tempDir("diskpipe-queue-dash-");
    const inDir = join(dir, "in");
    const out = join(dir, "out");
    const processes: RunningCommand[] = [];
    let redis: TestRedis;
    let queue: DiskpipeQueue;
    let worker: RunningCommand;
    let dashboard: RunningCommand;
    let url = "";
    const env = () => ({ DISKPIPE_QUEUE: redis.url });
    const get = async (path: string, init: RequestInit = {}) => fetch(new URL(path, url), init);
    const bodies: string[] = [];
    const text = async (path: string) => {
      const res = await get(path);
      const body = await res.text();
      bodies.push(body);
      assert.equal(res.status, 200, `${path}: ${body}`);
      return body;
    };
    const view = async (id: string) => (await (await get(`/api/jobs/${id}`)).json()) as QueueJobView;

    before(async () => {
      mkdirSync(inDir);
      mkdirSync(out);
      redis = await startRedis({ password: PASSWORD });
      queue = await createQueue({ url: redis.url });
      const config = join(dir, "worker.config.mjs");
      writeSlowConfig(config, {
        workDir: join(dir, "work"),
        mibPerSecond: 2,
        noPlugins: true,
        queue: { backoffMs: 50, allow: { sources: [dir], destinations: [dir] } },
      });
      mkdirSync(join(dir, "work"));
      worker = startDiskpipe(["worker", "--config", config, "--jobs", "1", "--name", "w-dash"], { env: env() });
      dashboard = startDiskpipe(["dashboard", "--port", "0"], { env: env() });
      processes.push(worker, dashboard);
      await worker.waitFor(/taking jobs/);
      url = /dashboard at (http:\/\/\S+)/.exec(await dashboard.waitFor(/dashboard at http/))?.[1] ?? "";
      assert.ok(url);
    });
    after(async () => {
      await stopAll(processes);
      await queue?.close();
      await redis?.stop();
      cleanup();
    });

    it("shows a job live over SSE (waiting, running on its worker with a percentage, done), then its worker, stages, hooks and inspection", async () => {
      const raw = makeDataImage(join(dir, "live.raw"), 6 * MiB, 7);
      const source = makeImage(raw, "vmdk", join(inDir, "live.vmdk"));
      const events = await openEvents(new URL("/api/events", url).href);
      try {
        await events.until(/event: hello/);
        const { id } = await queue.submit({ source, destination: join(out, "live.qcow2"), to: "qcow2" });
        const running = new RegExp(
          `"id":"${id}"[^\\n]*"state":"running"[^\\n]*"percent":[\\d.]+[^\\n]*"worker":"w-dash"`,
        );
        await events.until(running);
        await events.until(new RegExp(`"id":"${id}"[^\\n]*"state":"done"`));
        bodies.push(events.text());
        assert.match(events.text(), /"counts":\{"queued":\d+,"running":\d+,"done":1,"failed":0\}/);
      } finally {
        events.close();
      }
      assert.ok(sameDisk(raw, "raw", join(out, "live.qcow2"), "qcow2"));
      const page = await text("/");
      assert.match(page, /id="count-done">1</);
      assert.match(page, /live\.vmdk/);
      assert.match(page, /by w-dash/);
      assert.doesNotMatch(page, /<section class="panel upload">/, "a queue takes no uploads");
      const [job] = (await (await get("/api/jobs")).json()) as QueueJobView[];
      assert.equal(job?.state, "completed");
      assert.equal(job?.worker, "w-dash");
      const detail = await text(`/jobs/${job?.id}`);
      assert.match(detail, /<dt>Worker<\/dt><dd><code>w-dash<\/code>/);
      assert.match(detail, /<td>convert<\/td>/, "stage timings");
      assert.match(
        detail,
        /<h2>Hooks<\/h2>\n<table class="timeline"><tbody><tr><td><code>upload<\/code> diskpipe-queue<\/td>/,
        "hook timings",
      );
      assert.match(detail, /<dt>Format<\/dt><dd>vmdk/, "the inspection");
      assert.match(detail, /<dt>Submitted<\/dt>/);
    });

    it("a failed job shows its code and reason; Retry queues it again and a worker finishes it; other states answer 409", async () => {
      const late = join(inDir, "late.vmdk");
      const { id } = await queue.submit({ source: late, destination: join(out, "late.qcow2"), to: "qcow2" });
      const retrying = await waitFor(
        async () => ((await view(id)).state === "delayed" ? await text("/") : undefined),
        "the job to wait for its retry",
      );
      assert.match(
        retrying,
        new RegExp(`id="job-${id}"[\\s\\S]*?to be tried again after <code>\\[fetch-failed\\]</code>`),
      );
      await waitFor(async () => (await view(id)).state === "failed" || undefined, "the job to fail (no source yet)");
      const detail = await text(`/jobs/${id}`);
      assert.match(detail, /\[fetch-failed\]<\/code> worker w-dash cannot see the source/);
      assert.match(detail, new RegExp(`action="/api/jobs/${id}/retry"`));
      assert.match(detail, /queues the job again for any worker/);
      const raw = makeRaw(join(dir, "late.raw"), 2 * MiB, 9);
      copyFileSync(makeImage(raw, "vmdk", join(dir, "late-made.vmdk")), late);
      const retried = await get(`/api/jobs/${id}/retry`, { method: "POST" });
      assert.equal(retried.status, 200, await retried.clone().text());
      await queue.wait(id);
      assert.ok(sameDisk(raw, "raw", join(out, "late.qcow2"), "qcow2"));
      const again = await get(`/api/jobs/${id}/retry`, { method: "POST" });
      assert.equal(again.status, 409);
      assert.match(((await again.json()) as { error: string }).error, /is completed: only a failed job can be retried/);
      assert.equal((await get("/api/jobs/no-such-job")).status, 404);
      assert.equal((await get("/api/jobs/a%2f..%2fb")).status, 400);
      assert.equal((await get("/api/jobs/bad!id")).status, 400);
      assert.equal((await get("/upload?format=raw&name=a.raw", { method: "POST", body: "x" })).status, 404);
      assert.equal(
        (await get(`/api/jobs/${id}/retry`, { method: "POST", headers: { origin: "http://evil.example" } })).status,
        403,
      );
    });

    it("hostile data in Redis (markup, wrong types in progress, result and reason) is shown escaped and never breaks a page", async () => {
      const bull = new Queue("diskpipe", { connection: { host: "127.0.0.1", port: redis.port, password: PASSWORD } });
      const client = new Redis({ host: "127.0.0.1", port: redis.port, password: PASSWORD });
      try {
        const source = "https://images.example/<img src=x onerror=alert(1)>.vmdk";
        await bull.add(
          "convert",
          { v: 1, spec: { source, destination: "/nowhere/<b>x</b>.qcow2", to: "qcow2" } },
          { jobId: "hostile-1", attempts: 1 },
        );
        await waitFor(
          async () => (await view("hostile-1")).state === "failed" || undefined,
          "the worker to refuse the job",
        );
        await client.hset("bull:diskpipe:hostile-1", {
          progress: JSON.stringify({
            worker: "<script>alert(1)</script>",
            stage: "<i>convert</i>",
            percent: "50%",
            timings: [{ stage: "<u>x</u>", ms: "slow" }, 7],
            hooks: [{ hook: "<a>", plugin: "p", ms: 1 }],
            inspection: { format: "<svg onload=alert(1)>", virtualSize: "huge" },
          }),
          failedReason: "<img src=x onerror=alert(2)> \u001b[31mred [image-rejected]",
          returnvalue: JSON.stringify({ outputSize: "a lot" }),
          timestamp: "not a time",
        });
        const page = await text("/");
        const detail = await text("/jobs/hostile-1");
        for (const html of [page, detail]) {
          for (const markup of ["<img", "<script>alert", "<svg", "<b>x", "<i>convert", "<u>x", "<a>"])
            assert.ok(!html.includes(markup), `no ${markup} from Redis`);
          assert.ok(!html.includes("\u001b"), "no control characters");
        }
        assert.match(detail, /\[image-rejected\]<\/code> &lt;img src=x onerror=alert\(2\)&gt;/);
        assert.match(detail, /<dt>Worker<\/dt><dd><code>&lt;script&gt;alert\(1\)&lt;\/script&gt;<\/code>/);
        assert.match(detail, /<code>&lt;a&gt;<\/code> p/, "a well-typed hook is kept");
        assert.match(detail, /No stage finished yet/, "timings of the wrong type are left out");
        assert.match(detail, /Not inspected yet|No report/, "an inspection of the wrong shape is left out");
      } finally {
        await bull.close();
        client.disconnect();
      }
    });

    it("a job whose reason is 50 MB and whose journal has 100,000 lines: every page and answer reads and shows a bounded part", async () => {
      const client = new Redis({ host: "127.0.0.1", port: redis.port, password: PASSWORD });
      const sent = async () =>
        Number(/total_net_output_bytes:(\d+)/.exec(await client.info("stats"))?.[1] ?? Number.NaN);
      try {
        const line = JSON.stringify({ at: "2026-12-03T00:00:00.000Z", worker: "w-forged", event: "start", attempt: 1 });
        await client.hset("bull:diskpipe:hostile-huge", {
          name: "convert",
          data: JSON.stringify({
            v: 1,
            spec: { source: "/in/huge.vmdk", destination: "/out/huge.qcow2", to: "qcow2" },
          }),
          failedReason: `${"<b>".repeat(17 * 1024 * 1024)} [image-rejected]`,
          timestamp: String(Date.now()),
          finishedOn: String(Date.now()),
        });
        for (let i = 0; i < 100_000; i += 10_000)
          await client.rpush("bull:diskpipe:hostile-huge:logs", ...Array.from({ length: 10_000 }, () => line));
        await client.zadd("bull:diskpipe:failed", Date.now(), "hostile-huge");
        const before = await sent();
        const started = Date.now();
        for (const path of ["/", "/jobs/hostile-huge", "/api/jobs/hostile-huge", "/api/jobs"]) {
          const res = await get(path);
          const body = await res.text();
          bodies.push(body);
          assert.equal(res.status, 200, path);
          assert.ok(body.length < 512 * 1024, `${path}: ${body.length} characters`);
          assert.ok(!body.includes("<b><b>"), path);
        }
        assert.ok((await sent()) - before < 8 * 1024 * 1024, "Redis sent the dashboard a bounded amount");
        assert.ok(Date.now() - started < 10_000);
        const detail = await text("/jobs/hostile-huge");
        assert.match(detail, /the reason was not read \(\d+ bytes\)/);
        assert.match(detail, /<dt>Not read<\/dt><dd>failedReason: \d+ bytes; journal: the newest 200 of 100000 lines /);
        const shown = await view("hostile-huge");
        assert.ok(shown.journal.length <= 200);
        assert.ok(shown.omitted?.includes("journal: the newest 200 of 100000 lines"), String(shown.omitted));
      } finally {
        client.disconnect();
      }
    });

    it("the Redis password never shows: not in pages, API answers, events or the dashboard's output", () => {
      assert.ok(bodies.length >= 5);
      for (const body of [...bodies, dashboard.stdout(), dashboard.stderr(), worker.stderr()])
        assert.ok(!body.includes(PASSWORD), body.slice(0, 300));
      assert.match(dashboard.stderr(), /for the queue diskpipe at redis:\/\/127\.0\.0\.1:\d+\n/);
    });

    it("another address than loopback needs a token (exit 2 without); with one every route requires it", async () => {
      const open = await diskpipeAsync(["dashboard", "--host", "0.0.0.0", "--port", "0"], {
        env: { ...env(), DISKPIPE_TOKEN: "" },
      });
      assert.equal(open.status, 2);
      assert.match(open.stderr, /--host 0\.0\.0\.0 would open the dashboard to the network without a token/);
      const locked = startDiskpipe(["dashboard", "--host", "0.0.0.0", "--port", "0"], {
        env: { ...env(), DISKPIPE_TOKEN: TOKEN },
      });
      processes.push(locked);
      const port = /:(\d+)\/ \(token required\)/.exec(await locked.waitFor(/dashboard at http/))?.[1];
      const base = `http://127.0.0.1:${port}`;
      assert.equal((await fetch(`${base}/api/jobs`)).status, 401);
      assert.equal((await fetch(`${base}/api/events`)).status, 401);
      const allowed = await fetch(`${base}/api/jobs`, { headers: { authorization: `Bearer ${TOKEN}` } });
      assert.equal(allowed.status, 200);
      assert.ok(Array.isArray(await allowed.json()));
      locked.child.kill("SIGTERM");
      assert.equal(await locked.exited, 0);
      assert.ok(!`${locked.stdout()}${locked.stderr()}`.includes(TOKEN));
    });
  },
);
