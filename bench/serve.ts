import { spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";

/** A running {@link startServer} child. */
export interface StaticServer {
  /** The URL of a file of the served directory. */
  url(name: string): string;
  stop(): Promise<void>;
}

/**
 * Starts bench/http-server.ts in a child process serving `root` on 127.0.0.1 (a free port).
 *
 * @example
 * ```ts
 * const server = await startServer("/var/tmp/bench");
 * server.url("src-1.qcow2"); // "http://127.0.0.1:40123/src-1.qcow2"
 * await server.stop();
 * ```
 */
export async function startServer(root: string): Promise<StaticServer> {
  const program = fileURLToPath(new URL("./http-server.ts", import.meta.url));
  const child = spawn(process.execPath, ["--import", "tsx", program, root], { stdio: ["ignore", "pipe", "inherit"] });
  let text = "";
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("the bench's HTTP server did not start within 20 s")), 20_000);
    child.once("exit", (code) => reject(new Error(`the bench's HTTP server exited (${code})`)));
    child.stdout.on("data", (chunk: Buffer) => {
      text += chunk.toString();
      const line = /^(\d+)\n/.exec(text);
      if (line) {
        clearTimeout(timer);
        resolve(Number(line[1]));
      }
    });
  });
  return {
    url: (name) => `http://127.0.0.1:${port}/${encodeURIComponent(name)}`,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill("SIGTERM");
      await once(child, "exit");
    },
  };
}
