import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { after, describe, it } from "node:test";
import { tempDir } from "../../helpers/images.ts";

const repoRoot = join(import.meta.dirname, "..", "..", "..");
const ROUNDS = 30;
/** Whether a Deno process shows the race varies from process to process: several run at once. */
const PROCESSES = 4;

/** Runs `script` in Deno and gives what it printed. */
function denoEval(script: string): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(join(repoRoot, "node_modules", "deno", "deno"), ["eval", "--ext=ts", script], {
      cwd: repoRoot,
      stdio: ["ignore", "pipe", "pipe"],
      timeout: 120_000,
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk));
    child.on("close", () => resolve({ stdout, stderr }));
  });
}

describe("NbdClient under Deno", () => {
  const { dir, cleanup } = tempDir("diskpipe-nbd-deno-");
  after(cleanup);

  it("takes the server's greeting when it arrives in the same turn as the connection", async () => {
    // Deno can deliver the first bytes before code awaiting the connection runs; blocking the
    // thread just after connect() makes the greeting wait ready beside the connection.
    const image = join(dir, "disk.raw");
    writeFileSync(image, Buffer.alloc(65536, 7));
    const socket = join(dir, "s");
    const server = spawn(
      "qemu-nbd",
      ["-k", socket, "-f", "raw", "--read-only", "--persistent", "-e", String(PROCESSES), image],
      {
        stdio: "ignore",
      },
    );
    try {
      for (let i = 0; i < 500 && !existsSync(socket); i++) await sleep(10);
      assert.ok(existsSync(socket), "qemu-nbd did not create its socket");
      const script = `
        import { NbdClient } from ${JSON.stringify(join(repoRoot, "src/core/content-hash/nbd-client.ts"))};
        let taken = 0;
        for (let round = 0; round < ${ROUNDS}; round++) {
          const connecting = NbdClient.connect(${JSON.stringify(socket)}, () => false);
          const until = performance.now() + 50;
          while (performance.now() < until);
          let timer;
          const client = await Promise.race([connecting, new Promise((r) => (timer = setTimeout(r, 2000)))]);
          clearTimeout(timer);
          if (!client) break;
          const buffer = Buffer.alloc(4);
          await client.read(buffer, 4, 100);
          if (client.size === 65536 && buffer.every((b) => b === 7)) taken++;
          await client.close();
        }
        console.log("taken " + taken);
        Deno.exit(0);`;
      const results = await Promise.all(Array.from({ length: PROCESSES }, () => denoEval(script)));
      for (const result of results) assert.equal(result.stdout.trim(), `taken ${ROUNDS}`, result.stderr);
    } finally {
      server.kill();
    }
  });
});
