import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readdirSync } from "node:fs";
import { createServer, request } from "node:http";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { repoRoot } from "../helpers/cli.ts";
import { makeRaw, qemuImg, tempDir } from "../helpers/images.ts";
import { loopbackGet } from "../helpers/loopback-get.ts";
import { requirement } from "../helpers/requirement.ts";

const bin = join(repoRoot, "bin", "diskpipe.mjs");

/** A running `diskpipe watch`: its process, what it printed so far, how it ended. */
interface Watch {
  child: ChildProcess;
  stderr: () => string;
  exited: Promise<number | null>;
}

/** Every watcher started, so that none outlives the tests whatever fails. */
const started = new Set<ChildProcess>();

/**
 * Starts `command` (argv) with `env` replacing DISKPIPE_TOKEN; resolves once stderr matches
 * `ready`, rejects (and kills it) if it exits first or stays silent for 60 s.
 */
function start(command: string[], env: Record<string, string>, ready: RegExp): Promise<Watch> {
  const [file = process.execPath, ...args] = command;
  const child = spawn(file, args, {
    cwd: repoRoot,
    env: { ...process.env, DISKPIPE_TOKEN: "", ...env },
    stdio: ["ignore", "ignore", "pipe"],
  });
  started.add(child);
  let text = "";
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  void exited.then(() => started.delete(child));
  return new Promise((resolve, reject) => {
    const deadline = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`diskpipe watch did not print ${ready} within 60 s: ${text}`));
    }, 60_000);
    child.stderr?.on("data", (chunk: Buffer) => {
      text += chunk.toString();
      if (!ready.test(text)) return;
      clearTimeout(deadline);
      resolve({ child, stderr: () => text, exited });
    });
    void exited.then((code) => {
      clearTimeout(deadline);
      reject(new Error(`diskpipe watch exited (${code}) before ${ready}: ${text}`));
    });
  });
}

/** Sends `signal` and waits for the exit code. */
async function stop(watch: Watch, signal: NodeJS.Signals = "SIGTERM"): Promise<number | null> {
  watch.child.kill(signal);
  return watch.exited;
}

/** GET /api/jobs on 127.0.0.1:`port`: the status code. */
const status = (port: number, headers: Record<string, string> = {}) => loopbackGet(port, "/api/jobs", headers);

/** POST /upload on 127.0.0.1:`port` announcing `length` bytes (none sent): the status code. */
function announceUpload(port: number, length: number, token: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const headers = {
      authorization: `Bearer ${token}`,
      "content-length": String(length),
      "x-diskpipe-format": "raw",
      "x-diskpipe-name": "big.raw",
    };
    const req = request(
      { host: "127.0.0.1", port, path: "/upload?format=raw&name=big.raw", method: "POST", headers },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
        req.destroy();
      },
    );
    req.on("error", reject);
    req.flushHeaders();
  });
}

const portIn = (text: string) => Number(/dashboard at http:\/\/[^\s]*:(\d+)\//.exec(text)?.[1]);

describe("diskpipe watch: where the dashboard listens and who may use it", () => {
  const { dir, cleanup } = tempDir("diskpipe-watch-cli-");
  after(async () => {
    await Promise.all(
      [...started].map((child) => new Promise((resolve) => child.once("exit", resolve).kill("SIGKILL"))),
    );
    cleanup();
  });
  let n = 0;
  const spool = () => join(dir, `spool-${++n}`);

  it("refuses a non-loopback --host without a token (an empty --token or DISKPIPE_TOKEN is none), before touching the spool", () => {
    for (const [args, env] of [
      [["--host", "0.0.0.0"], {}],
      [["--host", "192.0.2.1", "--token", ""], {}],
      [["--host", "::"], { DISKPIPE_TOKEN: "" }],
    ] as const) {
      const root = spool();
      const run = spawnSync(process.execPath, [bin, "watch", root, "--dashboard", "--port", "0", ...args], {
        env: { ...process.env, DISKPIPE_TOKEN: "", ...env },
        encoding: "utf8",
        timeout: 60_000,
      });
      assert.equal(run.status, 2, run.stderr);
      assert.match(
        run.stderr,
        /would open the dashboard to the network without a token: set DISKPIPE_TOKEN \(or --token\) \[usage\]/,
      );
      assert.equal(existsSync(root), false, "nothing was created");
    }
  });

  it("--host 0.0.0.0 with --token: served, and every request needs that token", async () => {
    const watch = await start(
      [
        process.execPath,
        bin,
        "watch",
        spool(),
        "--dashboard",
        "--host",
        "0.0.0.0",
        "--port",
        "0",
        "--token",
        "flag-token",
      ],
      {},
      /dashboard at /,
    );
    try {
      assert.match(watch.stderr(), /dashboard at http:\/\/0\.0\.0\.0:\d+\/ \(token required\)/);
      const port = portIn(watch.stderr());
      assert.equal(await status(port), 401);
      assert.equal(await status(port, { authorization: "Bearer flag-token" }), 200);
    } finally {
      assert.equal(await stop(watch), 0);
    }
  });

  it("the default host is loopback, open without a token, and refuses a foreign Host header", async () => {
    const watch = await start(
      [process.execPath, bin, "watch", spool(), "--dashboard", "--port", "0"],
      {},
      /dashboard at /,
    );
    try {
      assert.match(
        watch.stderr(),
        /^watching .*: drop files into incoming\/<format>\/ \(raw, qcow2, .*\), at most \d+ at once$/m,
      );
      assert.match(watch.stderr(), /dashboard at http:\/\/127\.0\.0\.1:\d+\/\n/);
      const port = portIn(watch.stderr());
      assert.equal(await status(port), 200);
      assert.equal(await status(port, { host: `attacker.example:${port}` }), 403);
    } finally {
      assert.equal(await stop(watch, "SIGINT"), 0);
    }
    assert.match(watch.stderr(), /SIGINT: stopping/);
    assert.match(watch.stderr(), /stopped\n$/);
  });

  it("the token from DISKPIPE_TOKEN guards a loopback dashboard too; --max-upload is announced", async () => {
    const watch = await start(
      [process.execPath, bin, "watch", spool(), "--dashboard", "--port", "0", "--max-upload", "1M"],
      { DISKPIPE_TOKEN: "env-token" },
      /dashboard at /,
    );
    try {
      assert.match(watch.stderr(), /\(token required\), uploads up to 1(\.0)? MiB/);
      const port = portIn(watch.stderr());
      assert.equal(await status(port), 401);
      assert.equal(await status(port, { authorization: "Bearer env-token" }), 200);
      assert.equal(await announceUpload(port, 2 * 1024 * 1024, "env-token"), 413, "--max-upload reaches the dashboard");
    } finally {
      assert.equal(await stop(watch), 0);
    }
  });

  it("without --dashboard, --host needs no token and nothing listens; a second signal quits at once", async () => {
    const watch = await start([process.execPath, bin, "watch", spool(), "--host", "0.0.0.0"], {}, /^watching /m);
    assert.doesNotMatch(watch.stderr(), /dashboard at/);
    watch.child.kill("SIGTERM");
    watch.child.kill("SIGTERM");
    const code = await watch.exited;
    assert.ok(code === 0 || code === 130, `exit ${code}`);
  });

  it("a dashboard that cannot listen (port taken) stops the watch with an error instead of watching without it", async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
    const address = taken.address();
    const port = typeof address === "object" && address ? address.port : 0;
    try {
      const run = spawnSync(process.execPath, [bin, "watch", spool(), "--dashboard", "--port", String(port)], {
        env: { ...process.env, DISKPIPE_TOKEN: "" },
        encoding: "utf8",
        timeout: 60_000,
      });
      assert.notEqual(run.status, 0);
      assert.equal(run.signal, null);
      assert.match(run.stderr, /EADDRINUSE/);
      assert.doesNotMatch(run.stderr, /dashboard at/);
    } finally {
      taken.close();
    }
  });

  const netns = spawnSync("unshare", ["-n", "true"]).status === 0;
  it(
    "listens on port 8080 by default (inside a network namespace of its own, where 8080 is free)",
    { skip: requirement(netns ? false : "needs root and unshare (util-linux) for a network namespace") },
    async () => {
      const inside = `ip link set lo up && exec ${JSON.stringify(process.execPath)} ${JSON.stringify(bin)} watch ${JSON.stringify(spool())} --dashboard`;
      const watch = await start(["unshare", "-n", "sh", "-c", inside], {}, /dashboard at /);
      try {
        assert.match(watch.stderr(), /dashboard at http:\/\/127\.0\.0\.1:8080\//);
      } finally {
        assert.equal(await stop(watch), 0);
      }
    },
  );
});

describe("diskpipe watch --quiet and --verbose", () => {
  const { dir, cleanup } = tempDir("diskpipe-watch-verbosity-");
  after(async () => {
    await Promise.all(
      [...started].map((child) => new Promise((resolve) => child.once("exit", resolve).kill("SIGKILL"))),
    );
    cleanup();
  });
  const raw = () => makeRaw(join(dir, "disk.raw"), 1024 * 1024);
  /** A spool whose incoming/raw/ holds a good raw image and a qcow2 naming a backing file (rejected). */
  const spoolWithWork = (name: string) => {
    const root = join(dir, name);
    mkdirSync(join(root, "incoming", "raw"), { recursive: true });
    copyFileSync(raw(), join(root, "incoming", "raw", "good.img"));
    qemuImg(
      "create",
      "-q",
      "-f",
      "qcow2",
      "-b",
      join(dir, "disk.raw"),
      "-F",
      "raw",
      join(root, "incoming", "raw", "liar.img"),
    );
    return root;
  };
  const until = async (check: () => boolean, what: string) => {
    for (const deadline = Date.now() + 60_000; !check(); await new Promise((resolve) => setTimeout(resolve, 50))) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    }
  };

  it("--quiet: only the failed job's line; nothing about watching, queued, running, done or stopping", async () => {
    const root = spoolWithWork("quiet");
    const watch = await start([process.execPath, bin, "watch", root, "--settle", "100", "--quiet"], {}, /^failed /m);
    await until(
      () => existsSync(join(root, "done")) && readdirSync(join(root, "done")).includes("good.raw"),
      "good.img to be converted",
    );
    assert.equal(await stop(watch), 0);
    assert.match(watch.stderr(), /^failed {2}\S+ liar\.img: .*\[image-rejected\]\n$/);
  });

  it("--verbose: also each job's stage and hook timings", async () => {
    const root = spoolWithWork("verbose");
    const watch = await start(
      [process.execPath, bin, "watch", root, "--settle", "100", "--verbose"],
      {},
      /^done {4}\S+ good\.img/m,
    );
    assert.equal(await stop(watch), 0);
    assert.match(watch.stderr(), /^watching /m);
    assert.match(watch.stderr(), /^timing {2}\S+ good\.img: convert took \d+ ms$/m);
    assert.match(watch.stderr(), /^timing {2}\S+ good\.img: fetch took \d+ ms$/m);
  });
});
