import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { qemuImg } from "./images.ts";
import { requirement } from "./requirement.ts";

/** The unprivileged user the attacker runs as. */
export const NOBODY = { uid: 65534, gid: 65534 };

/**
 * Whether this process can run another user's processes (root). Tests that need it fail when
 * `CI` is set instead of skipping, so a CI run never hides them.
 */
export function canSwitchUser(): boolean {
  const root = process.getuid?.() === 0;
  requirement(root ? false : "needs root (to run an attacker as another user)");
  return root;
}

/** Whether strace is installed (the test set-up installs it; CI must have it). */
export function hasStrace(): boolean {
  const found = spawnSync("sh", ["-c", "command -v strace"], { stdio: "ignore" }).status === 0;
  requirement(found ? false : "strace is missing (npm test installs it: apt-get install strace)");
  return found;
}

const ATTACKER = `
const fs = require("node:fs");
const [target, good, evil, dir] = process.argv.slice(2);
// Creates the image as the attacker (when asked) and keeps a descriptor open for writing.
const fd = good === "-" ? fs.openSync(target, "r+") : fs.openSync(target, "wx+", 0o644);
if (good !== "-") { const bytes = fs.readFileSync(good); fs.writeSync(fd, bytes, 0, bytes.length, 0); }
const bad = fs.readFileSync(evil);
process.stdout.write("ready\\n");
const deadline = Date.now() + 120000;
const timer = setInterval(() => {
  if (fs.existsSync(dir + "/go")) {
    clearInterval(timer);
    fs.writeSync(fd, bad, 0, bad.length, 0);
    fs.fsyncSync(fd);
    fs.writeFileSync(dir + "/ack", "");
  } else if (Date.now() > deadline) clearInterval(timer);
}, 2);
process.stdin.resume();
process.stdin.on("end", () => process.exit(0));
`;

/**
 * A process of another user that holds a descriptor of an image open for writing and, when
 * triggered, rewrites it with other bytes (`evil`): the time-of-check attack on a local source.
 */
export interface Attacker {
  /** Where the trigger and acknowledgement files go (writable by the attacker). */
  readonly dir: string;
  /** Makes the attacker rewrite the image now, and waits until it has. */
  trigger(): Promise<void>;
  /** Whether the rewrite happened. */
  readonly struck: boolean;
  stop(): void;
}

/**
 * Starts an attacker as `nobody`. With `good`, it creates `target` itself (owned by nobody)
 * with those bytes; otherwise it opens an existing `target`. Resolves once its descriptor is open.
 */
export async function startAttacker(base: string, target: string, evil: string, good?: string): Promise<Attacker> {
  const dir = join(base, `attacker-${Math.random().toString(36).slice(2, 8)}`);
  mkdirSync(dir, { mode: 0o777 });
  chmodSync(dir, 0o777);
  const script = join(dir, "attacker.cjs");
  writeFileSync(script, ATTACKER, { mode: 0o755 });
  const child: ChildProcess = spawn(process.execPath, [script, target, good ?? "-", evil, dir], {
    ...NOBODY,
    stdio: ["pipe", "pipe", "inherit"],
  });
  await new Promise<void>((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`the attacker exited (${code}) before it was ready`)));
    child.stdout!.once("data", () => resolve());
  });
  return {
    dir,
    get struck() {
      return existsSync(join(dir, "ack"));
    },
    async trigger() {
      writeFileSync(join(dir, "go"), "");
      for (let i = 0; i < 2000 && !existsSync(join(dir, "ack")); i++) await sleep(5);
      assert.ok(existsSync(join(dir, "ack")), "the attacker did not rewrite the image");
    },
    stop() {
      child.stdin?.end();
      child.kill("SIGKILL");
    },
  };
}

/** When a stand-in qemu-img lets the attacker strike. */
export type StrikePoint = "info-start" | "after-info" | "convert-start";

/**
 * A stand-in qemu-img (a shell script) that runs the real one under strace (where installed,
 * logging every file it opens into `dir/trace.*`) and triggers `attacker` at `when`.
 */
export function raceQemu(dir: string, attacker: Pick<Attacker, "dir">, when: StrikePoint): string {
  const real = spawnSync("sh", ["-c", "command -v qemu-img"], { encoding: "utf8" }).stdout.trim();
  const strace = hasStrace();
  const path = join(dir, `qemu-img-${when}`);
  const run = strace
    ? `strace -f -qq -e trace=open,openat,openat2 -o "${dir}/trace.$$" "${real}" "$@"`
    : `"${real}" "$@"`;
  const strike = `touch "${attacker.dir}/go"; i=0; while [ ! -e "${attacker.dir}/ack" ] && [ $i -lt 2000 ]; do sleep 0.01; i=$((i+1)); done`;
  writeFileSync(
    path,
    `#!/bin/sh
if { [ "$1" = convert ] && [ "${when}" = convert-start ]; } || { [ "$1" = info ] && [ "${when}" = info-start ]; }; then ${strike}; fi
${run}
rc=$?
if [ "$1" = info ] && [ "${when}" = after-info ]; then ${strike}; fi
exit $rc
`,
    { mode: 0o755 },
  );
  return path;
}

/** The lines of every strace log in `dir` that name `path`; and how many logs there were. */
export function opensOf(dir: string, path: string): { lines: string[]; logs: number } {
  const logs = readdirSync(dir).filter((name) => name.startsWith("trace."));
  const lines = logs.flatMap((name) =>
    readFileSync(join(dir, name), "utf8")
      .split("\n")
      .filter((line) => line.includes(path)),
  );
  return { lines, logs: logs.length };
}

/** The virtual size of the race test images. */
export const RACE_SIZE = 1024 * 1024;

/** A secret only root can read, and two qcow2 headers of the same size: one clean, one naming the secret as its backing file. */
export function raceImages(dir: string): { secret: string; secretBytes: Buffer; good: string; evil: string } {
  const vault = join(dir, "vault");
  mkdirSync(vault, { mode: 0o700 });
  const secret = join(vault, "secret.raw");
  const secretBytes = randomBytes(RACE_SIZE);
  writeFileSync(secret, secretBytes, { mode: 0o600 });
  const good = join(dir, "good.qcow2");
  const evil = join(dir, "evil.qcow2");
  qemuImg("create", "-f", "qcow2", good, String(RACE_SIZE));
  qemuImg("create", "-f", "qcow2", "-b", secret, "-F", "raw", evil, String(RACE_SIZE));
  chmodSync(good, 0o644);
  chmodSync(evil, 0o644);
  assert.equal(statSync(good).size, statSync(evil).size, "the two headers must have the same layout");
  return { secret, secretBytes, good, evil };
}

/** Whether `output` holds any 64-byte piece of the secret. */
export function leaks(output: Buffer, secretBytes: Buffer): boolean {
  for (let at = 0; at + 64 <= secretBytes.length; at += 64 * 1024)
    if (output.includes(secretBytes.subarray(at, at + 64))) return true;
  return false;
}
