import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { requirement } from "./requirement.ts";

/**
 * Why the queue tests cannot run here (no `redis-server`), or false. With `CI` set a missing
 * redis-server fails the test file instead (see {@link requirement}).
 */
export const redisMissing: string | false = requirement(
  spawnSync("redis-server", ["--version"], { encoding: "utf8" }).status === 0
    ? false
    : "needs redis-server (apt-get install redis-server)",
);

/** A redis-server this test started, on a free loopback port, with its data in a temporary folder. */
export interface TestRedis {
  url: string;
  port: number;
  /** The server's process id. */
  readonly pid: number;
  /** Kills the server (SIGKILL) and starts it again on the same port and data after `downMs`. */
  restart(downMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/** A free TCP port on 127.0.0.1 (asked of the kernel, then released). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** `setpriv --pdeathsig KILL`, when there is one: a server outlives no test process, even one killed (a mutation run's timeout). */
const TIED = spawnSync("setpriv", ["--version"]).status === 0 ? ["setpriv", "--pdeathsig", "KILL"] : [];

/** Starts one redis-server process (killed with this process) and resolves once it accepts connections. */
async function launch(args: string[]): Promise<ChildProcess> {
  const [command, ...rest] = [...TIED, "redis-server", ...args];
  const child: ChildProcess = spawn(command, rest, { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis-server did not start: ${output}`)), 10_000);
    child.stdout?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes("Ready to accept connections")) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited with ${code}: ${output}`));
    });
  });
  child.stdout?.resume();
  return child;
}

async function ended(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill(signal);
  await exited;
}

/**
 * Starts redis-server on 127.0.0.1 and a free port, with `password` required when given;
 * resolves once it accepts connections. Without persistence unless `appendonly` (AOF, fsynced
 * on every write, in the server's own temporary folder): then `restart` kills it (SIGKILL, a
 * crash) and starts it again on the same port with the same data.
 *
 * @example
 * ```ts
 * const redis = await startRedis({ appendonly: true });
 * await redis.restart(1000); // down for a second
 * after(() => redis.stop());
 * ```
 */
export async function startRedis(options: { password?: string; appendonly?: boolean } = {}): Promise<TestRedis> {
  const dir = mkdtempSync(join(tmpdir(), "diskpipe-redis-"));
  const port = await freePort();
  const persistence = options.appendonly ? ["--appendonly", "yes", "--appendfsync", "always"] : ["--appendonly", "no"];
  const args = [
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--dir",
    dir,
    "--save",
    "",
    ...persistence,
    "--protected-mode",
    "yes",
  ];
  if (options.password) args.push("--requirepass", options.password);
  let child = await launch(args);
  const auth = options.password ? `:${encodeURIComponent(options.password)}@` : "";
  return {
    url: `redis://${auth}127.0.0.1:${port}`,
    port,
    get pid() {
      return child.pid ?? 0;
    },
    async restart(downMs = 0) {
      await ended(child, "SIGKILL");
      await new Promise((resolve) => setTimeout(resolve, downMs));
      child = await launch(args);
    },
    async stop() {
      await ended(child, "SIGTERM");
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
