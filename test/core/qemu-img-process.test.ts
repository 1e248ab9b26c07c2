import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { describe, it } from "node:test";
import type { DiskpipeError } from "../../src/core/errors.ts";
import { requirement } from "../helpers/requirement.ts";
import { check, runChild, spawnFilter, tiedToParent, type Finished } from "../../src/core/qemu-img-process.ts";

/** A run that ended with `over` (exit 0, no output by default). */
const ended = (over: Partial<Finished> = {}): Finished => ({
  stdout: "",
  stderr: "",
  exitCode: 0,
  signal: null,
  canceled: false,
  ...over,
});

/** The error `check` throws for `run` of `command`. */
function thrown(run: Finished, command = "info"): DiskpipeError {
  try {
    check(run, command);
  } catch (error) {
    return error as DiskpipeError;
  }
  throw new Error("check accepted a failed run");
}

const setpriv = ["/usr/bin/setpriv", "/bin/setpriv", "/usr/sbin/setpriv"].find((path) => existsSync(path));

describe("qemu-img child processes: what a run's end means", () => {
  it("a clean exit passes the run through", () => {
    const run = ended({ stdout: "{}" });
    assert.equal(check(run, "info"), run);
  });

  it("cancelled: aborted", () => {
    const error = thrown(ended({ canceled: true, exitCode: null }), "convert");
    assert.equal(error.code, "aborted");
    assert.equal(error.message, "qemu-img convert was aborted");
  });

  it("missing: ENOENT from the spawn, or a shell's 127 saying not found; a 127 without that is a failure", () => {
    const enoent = Object.assign(new Error("spawn qemu-img ENOENT"), { code: "ENOENT" });
    assert.equal(thrown(ended({ error: enoent, exitCode: null })).code, "qemu-img-missing");
    assert.match(thrown(ended({ error: enoent, exitCode: null })).message, /apt-get install qemu-utils/);
    assert.equal(
      thrown(ended({ exitCode: 127, stderr: "prlimit: failed to execute qemu-img: No such file or directory" })).code,
      "qemu-img-missing",
    );
    assert.equal(thrown(ended({ exitCode: 127, stderr: "sh: qemu-img: not found" })).code, "qemu-img-missing");
    assert.equal(thrown(ended({ exitCode: 127, stderr: "something else" })).code, "qemu-img-failed");
    assert.equal(
      thrown(ended({ exitCode: 1, stderr: "qemu-img: Could not open 'x': No such file or directory" })).code,
      "qemu-img-failed",
    );
  });

  it("a spawn that failed otherwise: could not start", () => {
    const error = thrown(
      ended({ error: Object.assign(new Error("spawn EACCES"), { code: "EACCES" }), exitCode: null }),
    );
    assert.equal(error.code, "qemu-img-failed");
    assert.equal(error.message, "qemu-img info could not start: spawn EACCES");
  });

  it("killed by a resource limit (SIGKILL from --as, SIGXCPU from --cpu) says so", () => {
    for (const signal of ["SIGKILL", "SIGXCPU"] as const) {
      const error = thrown(ended({ exitCode: null, signal, stderr: "noise" }));
      assert.equal(error.code, "qemu-img-failed");
      assert.equal(error.message, `qemu-img info failed: killed by its resource limit (${signal})`);
    }
  });

  it("other failures quote the last three lines of stderr, else the signal, else the exit code", () => {
    assert.equal(thrown(ended({ exitCode: 1, stderr: "a\nb\nc\nd\n" })).message, "qemu-img info failed: b c d");
    assert.equal(
      thrown(ended({ exitCode: null, signal: "SIGTERM" })).message,
      "qemu-img info failed: killed by SIGTERM",
    );
    assert.equal(thrown(ended({ exitCode: 2, stderr: "  \n" })).message, "qemu-img info failed: exit code 2");
  });

  it("a full disk is no-space, in any case", () => {
    assert.equal(
      thrown(
        ended({ exitCode: 1, stderr: "qemu-img: error while writing at byte 0: No space left on device" }),
        "convert",
      ).code,
      "no-space",
    );
    assert.equal(thrown(ended({ exitCode: 1, stderr: "NO SPACE LEFT ON DEVICE" }), "convert").code, "no-space");
  });
});

describe("qemu-img child processes: running them", () => {
  it(
    "tiedToParent: under setpriv --pdeathsig KILL when setpriv exists",
    { skip: requirement(setpriv ? false : "needs setpriv (util-linux)") },
    () => {
      assert.deepEqual(tiedToParent("prlimit", ["--cpu=1", "--", "qemu-img"]), [
        setpriv,
        ["--pdeathsig", "KILL", "--", "prlimit", "--cpu=1", "--", "qemu-img"],
      ]);
    },
  );

  it("runChild: output, exit code and signal of a real process, with qemu's environment (C locale, two malloc arenas), stdin closed", async () => {
    const run = await runChild("sh", ["-c", 'echo "$LC_ALL $MALLOC_ARENA_MAX"; cat; echo err >&2; exit 3']);
    assert.deepEqual(run, { stdout: "C 2", stderr: "err", exitCode: 3, signal: null, canceled: false });
    const killed = await runChild("sh", ["-c", "kill -TERM $$"]);
    assert.equal(killed.signal, "SIGTERM");
    assert.equal(killed.exitCode, null);
  });

  it("runChild: streams stdout as it comes", async () => {
    const chunks: string[] = [];
    await runChild("sh", ["-c", "printf one; sleep 0.05; printf two"], undefined, (chunk) =>
      chunks.push(chunk.toString()),
    );
    assert.equal(chunks.join(""), "onetwo");
  });

  it("runChild: a spawn failure is reported, not thrown", async () => {
    const run = await runChild("/nonexistent/qemu-img", []);
    assert.equal(run.error?.code, "ENOENT");
  });

  it("runChild: an aborted signal never starts the process; an abort later cancels it, SIGKILL if it ignores SIGTERM", async () => {
    assert.deepEqual(await runChild("sh", ["-c", "exit 0"], AbortSignal.abort()), {
      stdout: "",
      stderr: "",
      exitCode: null,
      signal: null,
      canceled: true,
    });
    const controller = new AbortController();
    const running = runChild("sh", ["-c", 'trap "" TERM; echo ready; exec sleep 30'], controller.signal, () =>
      controller.abort(),
    );
    const run = await running;
    assert.equal(run.canceled, true);
    assert.equal(run.signal, "SIGKILL");
  });

  it("spawnFilter: stdin from a stream or a file, stdout streamed, under prlimit, stderr's tail kept, killed on demand", async () => {
    const limits = { cpuSeconds: 5, addressSpace: 512 * 1024 ** 2 };
    const filter = await spawnFilter("sh", ["-c", "ulimit -v; cat; echo done >&2"], {
      input: Readable.from([Buffer.from("abc")]),
      limits,
    });
    let out = "";
    for await (const chunk of filter.stdout) out += Buffer.from(chunk).toString();
    assert.equal(out, `${512 * 1024}\nabc`);
    const run = await filter.finished;
    assert.deepEqual([run.exitCode, run.stderr.trim()], [0, "done"]);
    const fromFile = await spawnFilter("cat", [], { input: { file: "/etc/hostname" }, limits });
    let read = "";
    for await (const chunk of fromFile.stdout) read += Buffer.from(chunk).toString();
    assert.equal(read, readFileSync("/etc/hostname", "utf8"));
    const endless = await spawnFilter("sh", ["-c", "exec sleep 30"], { input: Readable.from([]), limits });
    endless.kill();
    assert.equal((await endless.finished).signal, "SIGKILL");
  });

  it("spawnFilter: stdout into a new owner-only file, stopped by the file-size limit (SIGXFSZ)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "diskpipe-filter-out-"));
    try {
      const limits = { cpuSeconds: 5, addressSpace: 512 * 1024 ** 2, fileSize: 4096 };
      const small = join(dir, "small");
      const ok = await spawnFilter("sh", ["-c", "printf abc"], {
        input: Readable.from([]),
        output: { file: small },
        limits,
      });
      assert.equal((await ok.finished).exitCode, 0);
      assert.equal(readFileSync(small, "utf8"), "abc");
      assert.equal(statSync(small).mode & 0o777, 0o600);
      // The file must be new: an existing one is never written over.
      await assert.rejects(spawnFilter("true", [], { input: Readable.from([]), output: { file: small }, limits }), {
        code: "EEXIST",
      });
      const big = join(dir, "big");
      const over = await spawnFilter("head", ["-c", "8192", "/dev/zero"], {
        input: Readable.from([]),
        output: { file: big },
        limits,
      });
      assert.equal((await over.finished).signal, "SIGXFSZ");
      assert.equal(statSync(big).size, 4096);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
