import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Redis } from "ioredis";
import { createQueue, type DiskpipeQueue } from "../../src/queue/queue.ts";
import { diskpipe, diskpipeAsync } from "../helpers/cli.ts";
import { makeDataImage, makeImage, qemuImg, sameDisk, tempDir } from "../helpers/images.ts";
import { redisMissing, startRedis, type TestRedis } from "../helpers/redis.ts";
import { waitFor } from "../helpers/wait.ts";
import { startDiskpipe, type RunningCommand } from "../helpers/worker-process.ts";
import { writeSlowConfig } from "../helpers/slow-config.ts";

const MiB = 1024 * 1024;

/** The part of `qemu-img info --output=json` these tests read. */
interface QemuInfo {
  "format-specific"?: { data?: Record<string, unknown> };
}

const temporaries = (dir: string) => readdirSync(dir).filter((name) => name.includes(".diskpipe-tmp-"));

describe("diskpipe worker and submit, as processes, with a real redis-server", { skip: redisMissing }, () => {
  const { dir, cleanup } = tempDir("diskpipe-queue-cli-");
  const inDir = join(dir, "in");
  const work = join(dir, "work");
  const workers: RunningCommand[] = [];
  let redis: TestRedis;
  let queue: DiskpipeQueue;
  /** A configuration: 2 MiB/s conversions, a 2 s lock checked every second, the test's folders allowed. */
  let slowConfig = "";

  before(async () => {
    mkdirSync(inDir);
    mkdirSync(work);
    redis = await startRedis();
    queue = await createQueue({ url: redis.url });
    slowConfig = join(dir, "slow.config.mjs");
    writeSlowConfig(slowConfig, {
      workDir: work,
      mibPerSecond: 2,
      noPlugins: true,
      queue: { lockMs: 2000, stalledMs: 1000, backoffMs: 50, allow: { sources: [dir], destinations: [dir] } },
    });
  });
  after(async () => {
    for (const worker of workers) worker.child.kill("SIGKILL");
    await queue?.close();
    await redis?.stop();
    cleanup();
  });

  function startWorker(name: string, extra: string[] = []): RunningCommand {
    const worker = startDiskpipe([
      "worker",
      "--config",
      slowConfig,
      "--queue",
      redis.url,
      "--jobs",
      "1",
      "--name",
      name,
      ...extra,
    ]);
    workers.push(worker);
    return worker;
  }

  it("submit --wait: a worker converts, the output reads as the source (qemu-img compare), exit 0; the same job again is not queued twice", async () => {
    const out = join(dir, "out-one");
    mkdirSync(out);
    const source = makeImage(makeDataImage(join(dir, "one.raw"), 2 * MiB, 1), "vmdk", join(inDir, "one.vmdk"));
    const worker = startWorker("one");
    await worker.waitFor(/taking jobs/);
    const run = await diskpipeAsync([
      "submit",
      source,
      join(out, "one.qcow2"),
      "--to",
      "qcow2",
      "--queue",
      redis.url,
      "--wait",
    ]);
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /^dp-[0-9a-f]{24}\n/);
    assert.match(run.stdout, /converted .*one\.vmdk -> .*one\.qcow2 \(vmdk -> qcow2/);
    assert.ok(sameDisk(join(dir, "one.raw"), "raw", join(out, "one.qcow2"), "qcow2"));
    const compressed = await diskpipeAsync([
      "submit",
      source,
      join(out, "one-compressed.qcow2"),
      "--to",
      "qcow2",
      "--compress",
      "--queue",
      redis.url,
      "--wait",
    ]);
    assert.equal(compressed.status, 0, compressed.stderr);
    assert.ok(sameDisk(join(dir, "one.raw"), "raw", join(out, "one-compressed.qcow2"), "qcow2"));
    // --compress reached the worker: the qcow2 plugin asked for zstd (qemu-img's default is zlib).
    const info = (name: string) => JSON.parse(qemuImg("info", "--output=json", join(out, name))) as QemuInfo;
    assert.equal(info("one-compressed.qcow2")["format-specific"]?.data?.["compression-type"], "zstd");
    assert.equal(info("one.qcow2")["format-specific"]?.data?.["compression-type"], "zlib");
    const again = diskpipe(["submit", source, join(out, "one.qcow2"), "--to", "qcow2", "--queue", redis.url]);
    assert.equal(again.status, 0, again.stderr);
    assert.equal(again.stdout, `${run.stdout.split("\n")[0]} (already queued)\n`);
    worker.child.kill("SIGTERM");
    assert.equal(await worker.exited, 0);
  });

  it("a worker killed with SIGKILL mid-conversion: after its lock expires another takes the job over; 12 jobs by 3 workers, 12 outputs, each once, no temporary file", async () => {
    const out = join(dir, "out-twelve");
    mkdirSync(out);
    const raws = Array.from({ length: 12 }, (_, i) => makeDataImage(join(dir, `d${i}.raw`), 3 * MiB, i + 10));
    const sources = raws.map((raw, i) => makeImage(raw, "vmdk", join(inDir, `d${i}.vmdk`)));
    const three = [startWorker("a", ["--json"]), startWorker("b", ["--json"]), startWorker("c", ["--json"])];
    await Promise.all(three.map((worker) => worker.waitFor(/taking jobs/)));
    const submitted = diskpipe(["submit", ...sources, "--out-dir", out, "--to", "qcow2", "--queue", redis.url]);
    assert.equal(submitted.status, 0, submitted.stderr);
    const ids = submitted.stdout.trim().split("\n");
    assert.equal(ids.length, 12);
    const [victim] = three;
    assert.ok(victim);
    // Mid-conversion: the victim's temporary output exists beside its destination.
    await waitFor(
      () => temporaries(out).some((name) => name.includes(`-${victim.pid}-`)),
      "the victim's temporary output",
    );
    victim.child.kill("SIGKILL");
    await victim.exited;
    const results = await Promise.all(ids.map((id) => queue.wait(id)));
    assert.equal(results.length, 12);
    for (let i = 0; i < 12; i++)
      assert.ok(sameDisk(raws[i] ?? "", "raw", join(out, `d${i}.qcow2`), "qcow2"), `d${i}.qcow2 reads as its source`);
    assert.deepEqual(temporaries(out), []);
    assert.deepEqual(readdirSync(out).length, 12);
    assert.deepEqual(
      readdirSync(join(work, "diskpipe")).filter((name) => name.startsWith("job-")),
      [],
    );
    let takenOver = 0;
    for (const id of ids) {
      const journal = (await queue.job(id))?.journal ?? [];
      assert.equal(journal.filter((entry) => entry.event === "done").length, 1, `${id}: one completion`);
      if (journal.filter((entry) => entry.event === "start").length > 1) takenOver++;
    }
    assert.equal(takenOver, 1, "the killed worker's job was started twice");
    for (const worker of three.slice(1)) worker.child.kill("SIGTERM");
    assert.deepEqual(await Promise.all(three.slice(1).map((worker) => worker.exited)), [0, 0]);
  });

  it("SIGTERM mid-conversion: the worker removes its partial output, returns the job to the queue and exits 0; another worker finishes it", async () => {
    const out = join(dir, "out-term");
    mkdirSync(out);
    const raw = makeDataImage(join(dir, "term.raw"), 12 * MiB, 3);
    const source = makeImage(raw, "vmdk", join(inDir, "term.vmdk"));
    const worker = startWorker("term");
    await worker.waitFor(/taking jobs/);
    const { id } = await queue.submit({ source, destination: join(out, "term.qcow2"), to: "qcow2" });
    await waitFor(() => temporaries(out).length > 0, "the temporary output");
    worker.child.kill("SIGTERM");
    assert.equal(await worker.exited, 0);
    assert.match(worker.stderr(), /SIGTERM: stopping/);
    assert.deepEqual(readdirSync(out), []);
    const view = await queue.job(id);
    assert.equal(view?.state, "waiting");
    assert.equal(view?.journal.at(-1)?.event, "returned");
    assert.equal(readdirSync(join(work, "diskpipe")).filter((name) => name.startsWith(`job-${worker.pid}@`)).length, 0);
    const next = startWorker("next");
    await queue.wait(id);
    assert.ok(sameDisk(raw, "raw", join(out, "term.qcow2"), "qcow2"));
    next.child.kill("SIGTERM");
    assert.equal(await next.exited, 0);
  });

  it("an unreachable queue: one line with queue-unavailable, exit 1, within the connect timeout (a server that accepts and never answers)", async () => {
    const accepted: Socket[] = [];
    const silent: Server = createServer((socket) => void accepted.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const address = silent.address();
    const port = typeof address === "object" && address ? address.port : 0;
    const config = join(dir, "timeout.config.mjs");
    writeFileSync(config, `export default { plugins: [], queue: { connectTimeoutMs: 1500 } };\n`);
    try {
      const started = Date.now();
      const run = await diskpipeAsync([
        "worker",
        "--config",
        config,
        "--queue",
        `redis://:hunter2-secret@127.0.0.1:${port}`,
      ]);
      assert.equal(run.status, 1);
      assert.ok(Date.now() - started < 15_000, "bounded");
      assert.match(
        run.stderr,
        /^diskpipe: the queue at redis:\/\/127\.0\.0\.1:\d+ is unavailable: no answer within 1\.5 s \[queue-unavailable\]\n$/,
      );
      const refused = await diskpipeAsync(["submit", "/a.vmdk", "/b.qcow2", "--to", "qcow2"], {
        env: { DISKPIPE_QUEUE: "redis://:hunter2-secret@127.0.0.1:1" },
      });
      assert.equal(refused.status, 1);
      assert.match(refused.stderr, /\[queue-unavailable\]\n$/);
      for (const text of [run.stdout, run.stderr, refused.stdout, refused.stderr])
        assert.ok(!text.includes("hunter2"), text);
    } finally {
      for (const socket of accepted) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it("a queue with a password: the password never shows in stdout, stderr or the job's data; a wrong one is queue-unavailable", async () => {
    const password = "pw-Zq81-never-shown";
    const guarded = await startRedis({ password });
    try {
      const out = join(dir, "out-pw");
      mkdirSync(out);
      const source = makeImage(makeDataImage(join(dir, "pw.raw"), MiB, 5), "qcow2", join(inDir, "pw.qcow2"));
      const env = { DISKPIPE_QUEUE: guarded.url };
      const worker = startDiskpipe(["worker", "--config", slowConfig, "--name", "pw", "-v"], { env });
      workers.push(worker);
      await worker.waitFor(/taking jobs/);
      const run = await diskpipeAsync(["submit", source, join(out, "pw.raw"), "--to", "raw", "--wait", "--json"], {
        env,
      });
      assert.equal(run.status, 0, run.stderr);
      const wrong = await diskpipeAsync(["submit", source, join(out, "x.raw"), "--to", "raw"], {
        env: { DISKPIPE_QUEUE: `redis://:wrong-${password}@127.0.0.1:${guarded.port}` },
      });
      assert.equal(wrong.status, 1);
      assert.match(wrong.stderr, /\[queue-unavailable\]/);
      worker.child.kill("SIGTERM");
      assert.equal(await worker.exited, 0);
      const client = new Redis(guarded.url);
      const keys = await client.keys("bull:diskpipe:*");
      const stored = await Promise.all(
        keys.map(async (key) =>
          (await client.type(key)) === "hash" ? JSON.stringify(await client.hgetall(key)) : key,
        ),
      );
      client.disconnect();
      assert.ok(
        stored.some((text) => text.includes("pw.qcow2")),
        "the job is stored",
      );
      for (const text of [
        run.stdout,
        run.stderr,
        wrong.stdout,
        wrong.stderr,
        worker.stdout(),
        worker.stderr(),
        ...stored,
      ])
        assert.ok(!text.includes(password), text);
      assert.ok(existsSync(join(out, "pw.raw")));
    } finally {
      await guarded.stop();
    }
  });
});
