import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import type { JobContext } from "../../../src/core/context.ts";
import { FetchCache } from "../../../src/core/io/fetch-cache.ts";
import { httpSource, type HttpSourceOptions } from "../../../src/core/io/http-source.ts";
import type { StreamInspector } from "../../../src/core/io/types.ts";
import type { InspectResult } from "../../../src/core/inspect/types.ts";
import { tempDir } from "../../helpers/images.ts";
import { codeOf, serve, sha256 } from "./download-run.ts";
import { cut, reply, stall, type Answer } from "./scripted-server.ts";

const TEN = "0123456789";
let jobs = 0;

/** A job context under `root` that records progress, warnings and cleanups. */
function context(root: string, extra: { checksum?: string; signal?: AbortSignal } = {}) {
  const workDir = join(root, `job-${++jobs}`);
  mkdirSync(workDir, { recursive: true });
  const record = {
    progress: [] as [number, number | undefined][],
    warnings: [] as string[],
    cleanups: [] as (() => void | Promise<void>)[],
  };
  const ctx = {
    spec: { source: "x", ...(extra.checksum && { checksum: extra.checksum }) },
    workDir,
    signal: extra.signal ?? new AbortController().signal,
    warn: (message: string) => record.warnings.push(message),
    progress: (bytes: number, total?: number) => record.progress.push([bytes, total]),
    onCleanup: (fn: () => void | Promise<void>) => record.cleanups.push(fn),
  } as unknown as JobContext;
  return { ctx, ...record, cleanup: async () => Promise.all(record.cleanups.map((fn) => fn())) };
}

/** The fetch folders under a work root. */
const fetchDirs = (root: string) => readdirSync(root).filter((name) => name.startsWith("fetch-"));

/** Source options for the tests: a fresh cache, a short timeout, no retry, no backoff. */
const options = (extra: Partial<HttpSourceOptions> = {}): HttpSourceOptions => ({
  timeoutMs: 2000,
  retries: 0,
  backoffMs: 1,
  cache: new FetchCache(),
  ...extra,
});

describe("http source driver", () => {
  const { dir, cleanup } = tempDir();
  after(cleanup);

  it("is the http driver, for http(s) URLs only, and refuses a URL it cannot parse as a usage error", async () => {
    const source = httpSource(options());
    assert.equal(source.name, "http");
    assert.equal(source.matches("https://h/x"), true);
    assert.equal(source.matches("/srv/x"), false);
    await assert.rejects(source.fetch("http://[bad/x", context(dir).ctx), { code: "usage" });
  });

  it("downloads into a fetch folder beside the job, hashed, with progress, removed at the job's cleanup", async () => {
    const root = join(dir, "plain");
    await serve([reply(200, { "content-length": 10 }, TEN)], async (server) => {
      const job = context(root);
      const cache = new FetchCache();
      const image = await httpSource(options({ cache })).fetch(server.url().href, job.ctx);
      assert.deepEqual(image, {
        path: join(root, String(fetchDirs(root)[0]), "image"),
        temporary: false,
        hash: sha256(TEN),
      });
      assert.equal(readFileSync(image.path, "utf8"), TEN);
      assert.deepEqual(job.progress.at(-1), [10, 10]);
      assert.equal(cache.size, 1, "in the cache it was given");
      await job.cleanup();
      assert.deepEqual(fetchDirs(root), []);
      assert.equal(cache.size, 0);
    });
  });

  it("hashes with the algorithm of the job's checksum, and passes notices on as warnings", async () => {
    const root = join(dir, "sha512");
    const answers = [
      cut({ "content-length": 10 }, "0123"),
      reply(206, { "content-length": 6, "content-range": "bytes 4-9/10" }, "456789"),
    ];
    await serve(answers, async (server) => {
      const job = context(root, { checksum: `sha512:${"0".repeat(128)}` });
      job.ctx.progress = () => server.drop();
      const image = await httpSource(options({ retries: 1 })).fetch(server.url().href, job.ctx);
      assert.match(String(image.hash), /^sha512:[0-9a-f]{128}$/);
      assert.equal(job.warnings.length, 1);
      assert.match(String(job.warnings[0]), /interrupted at 4 B/);
      await job.cleanup();
    });
  });

  it("passes the timeout, the deadline, the allowed redirects and the rate on to the download", async () => {
    const root = join(dir, "options");
    await serve([stall({ "content-length": 10 }, "01")], async (server) => {
      await assert.rejects(
        httpSource(options({ timeoutMs: 20 })).fetch(server.url().href, context(root).ctx),
        /no data for 20 ms/,
      );
    });
    await serve([stall({ "content-length": 10 }, "01")], async (server) => {
      await assert.rejects(
        httpSource(options({ deadlineMs: 20 })).fetch(server.url().href, context(root).ctx),
        /within 20 ms \(fetch\.deadlineMs\)/,
      );
    });
    await serve([reply(200, { "content-length": 1000 }, "x".repeat(1000))], async (server) => {
      const slow = httpSource(options({ bytesPerSecond: 100, deadlineMs: 100 }));
      await assert.rejects(slow.fetch(server.url().href, context(root).ctx), /fetch\.deadlineMs/);
    });
    const elsewhere: Answer = (req, res) =>
      void res
        .writeHead(302, {
          location: `http://localhost:${new URL(`http://${req.headers.host}`).port}/b`,
          "content-length": 0,
        })
        .end();
    await serve([elsewhere, elsewhere, reply(200, { "content-length": 2 }, "ok")], async (server) => {
      await assert.rejects(httpSource(options()).fetch(server.url().href, context(root).ctx), /fetch\.allowRedirects/);
      const image = await httpSource(options({ allowRedirects: ["localhost"] })).fetch(
        server.url().href,
        context(root).ctx,
      );
      assert.equal(image.hash, sha256("ok"));
    });
  });

  it("retries as many times as told", async () => {
    const root = join(dir, "retries");
    await serve([reply(503, {}), reply(503, {}), reply(200, { "content-length": 10 }, TEN)], async (server) => {
      await assert.rejects(
        httpSource(options({ retries: 1 })).fetch(server.url().href, context(root).ctx),
        /\(after 2 attempts\)/,
      );
      const image = await httpSource(options({ retries: 1 })).fetch(server.url().href, context(root).ctx);
      assert.equal(image.hash, sha256(TEN));
    });
  });
});

describe("http source driver: inspection, sharing, own downloads", () => {
  const { dir, cleanup } = tempDir();
  after(cleanup);
  const verdict = { format: "raw" } as unknown as InspectResult;

  it("inspects the bytes as they arrive, with the download's limit, and returns the verdict", async () => {
    const root = join(dir, "inspect");
    await serve([reply(200, { "content-length": 10 }, TEN)], async (server) => {
      let head = "";
      const inspect: StreamInspector = async (reader, limit) => {
        head = Buffer.from(await reader.read(0, 4)).toString();
        limit(100, () => new Error("too big"));
        return verdict;
      };
      const image = await httpSource(options()).fetch(server.url().href, context(root).ctx, inspect);
      assert.equal(head, "0123");
      assert.equal(image.inspection, verdict);
    });
  });

  it("stops and removes the download when the inspector's limit is passed", async () => {
    const root = join(dir, "limit");
    await serve([stall({ "content-length": 10 }, "0123")], async (server) => {
      const inspect: StreamInspector = async (reader, limit) => {
        await reader.read(0, 4);
        limit(3, () => Object.assign(new Error("too big"), { code: "too-big" }));
        return reader.read(4, 1).then(() => verdict);
      };
      await assert.rejects(httpSource(options()).fetch(server.url().href, context(root).ctx, inspect), /too big/);
      assert.deepEqual(fetchDirs(root), []);
    });
  });

  it("fails the inspector's reads with the download's error, and leaves nothing", async () => {
    const root = join(dir, "failed");
    await serve([reply(404, {})], async (server) => {
      let seen: unknown;
      const inspect: StreamInspector = (reader) =>
        reader.read(0, 4).then(
          () => verdict,
          (error: unknown) => ((seen = error), Promise.reject(error)),
        );
      await assert.rejects(httpSource(options()).fetch(server.url().href, context(root).ctx, inspect), {
        code: "fetch-failed",
      });
      assert.equal(codeOf(seen), "fetch-failed");
      assert.deepEqual(fetchDirs(root), []);
    });
  });

  it("shares one download between the jobs of a work root that want the same URL", async () => {
    const root = join(dir, "shared");
    await serve([reply(200, { "content-length": 10 }, TEN)], async (server) => {
      const source = httpSource(options());
      const [a, b] = [context(root), context(root)];
      const [first, second] = await Promise.all([
        source.fetch(server.url().href, a.ctx),
        source.fetch(server.url().href, b.ctx),
      ]);
      assert.equal(first.path, second.path);
      assert.equal(server.asked.length, 1);
      await a.cleanup();
      assert.equal(existsSync(first.path), true, "kept for the other job");
      await b.cleanup();
      assert.equal(existsSync(first.path), false);
    });
  });

  it("stops telling a job that gave up about a shared download", async () => {
    const root = join(dir, "gave-up");
    const answers = [
      cut({ "content-length": 10 }, "0123"),
      reply(206, { "content-length": 6, "content-range": "bytes 4-9/10" }, "456789"),
    ];
    await serve(answers, async (server) => {
      const source = httpSource(options({ retries: 1 }));
      const controller = new AbortController();
      const [quitter, keeper] = [context(root, { signal: controller.signal }), context(root)];
      let told = 0;
      quitter.ctx.progress = () => (told++, controller.abort(new Error("gave up")));
      keeper.ctx.progress = (bytes) => void (bytes === 4 && server.drop());
      const [gaveUp, image] = await Promise.allSettled([
        source.fetch(server.url().href, quitter.ctx),
        source.fetch(server.url().href, keeper.ctx),
      ]);
      assert.equal(gaveUp.status, "rejected");
      assert.equal(image.status === "fulfilled" && image.value.hash, sha256(TEN));
      assert.equal(told, 1);
      await keeper.cleanup();
    });
  });

  it("downloads straight into a given path, sparse, removed when the job fails or is aborted", async () => {
    const root = join(dir, "into");
    mkdirSync(root);
    const zeros = Buffer.alloc(128 * 1024);
    await serve(
      [reply(200, { "content-length": zeros.length }, zeros), stall({ "content-length": 10 }, "01")],
      async (server) => {
        const job = context(root);
        const into = join(root, "out.raw");
        const image = await httpSource(options()).fetch(server.url().href, job.ctx, undefined, into);
        assert.deepEqual(image, { path: into, temporary: false, hash: sha256(zeros) });
        assert.deepEqual(fetchDirs(root), []);
        assert.equal(readFileSync(into).length, zeros.length);
        assert.equal(statSync(into).blocks, 0, "all holes");
        const controller = new AbortController();
        const aborted = context(root, { signal: controller.signal });
        aborted.ctx.progress = () => controller.abort(new Error("job aborted"));
        const other = join(root, "other.raw");
        await assert.rejects(
          httpSource(options()).fetch(server.url().href, aborted.ctx, undefined, other),
          /job aborted/,
        );
        assert.equal(existsSync(other), false);
      },
    );
  });
});
