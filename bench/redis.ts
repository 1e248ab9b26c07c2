import { mkdir } from "node:fs/promises";
import { createServer } from "node:net";
import { join } from "node:path";
import { printed, startChild, stopChild } from "./children.ts";
import { output } from "./exec.ts";

/** A redis-server the bench started on 127.0.0.1 (no persistence, its folder in the work directory). */
export interface BenchRedis {
  url: string;
  version: string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

/**
 * Starts redis-server on a free loopback port, for the queue case only.
 *
 * @example
 * ```ts
 * const redis = await startBenchRedis("/var/tmp/diskpipe-bench-x");
 * await redis.stop();
 * ```
 */
export async function startBenchRedis(work: string): Promise<BenchRedis> {
  const dir = join(work, "redis");
  await mkdir(dir, { recursive: true });
  const port = await freePort();
  const child = startChild(
    "redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--appendonly", "no"],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  await printed(child, /Ready to accept connections/, 10_000);
  child.stdout?.resume();
  child.stderr?.resume();
  const version = /v=(\S+)/.exec(await output("redis-server", ["--version"]))?.[1] ?? "?";
  return { url: `redis://127.0.0.1:${port}`, version, stop: () => stopChild(child) };
}
