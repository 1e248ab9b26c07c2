#!/usr/bin/env node
// Installs what diskpipe needs on a fresh Debian/Ubuntu machine that has only Node:
// npm dependencies (and the build), qemu-utils, with --test the test-only tools, with --bench fio.
// Plain Node, no dependencies: it runs before `npm ci`.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const forTests = process.argv.includes("--test");
const forBench = process.argv.includes("--bench");
const say = (line) => process.stderr.write(`setup: ${line}\n`);

function has(command) {
  return spawnSync("sh", ["-c", `command -v ${command}`], { stdio: "ignore" }).status === 0;
}

function run(command, args, options = {}) {
  execFileSync(command, args, { stdio: ["ignore", "inherit", "inherit"], cwd: root, ...options });
}

let aptUpdated = false;
function aptInstall(packages, why) {
  const isRoot = process.getuid?.() === 0;
  if (!has("apt-get")) throw new Error(`${why}: install ${packages.join(" ")} with your package manager`);
  const sudo = isRoot ? [] : has("sudo") ? ["sudo", "-n"] : null;
  if (!sudo) throw new Error(`${why}: run as root, or install them: apt-get install ${packages.join(" ")}`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  const apt = (...args) =>
    sudo.length ? run(sudo[0], [...sudo.slice(1), "apt-get", ...args], { env }) : run("apt-get", args, { env });
  say(`installing ${packages.join(" ")} (${why})`);
  if (!aptUpdated) apt("-qq", "update");
  aptUpdated = true;
  apt("install", "-y", "-qq", "--no-install-recommends", ...packages);
}

const needed = [];
if (!has("qemu-img")) needed.push("qemu-utils");
// The compressed plugin decodes xz, zstd and bzip2 images with the command-line tools (gzip in-process).
for (const [tool, pkg] of [
  ["xz", "xz-utils"],
  ["zstd", "zstd"],
  ["bzip2", "bzip2"],
])
  if (!has(tool)) needed.push(pkg);
if (forTests && !has("vhdiinfo")) needed.push("libvhdi-utils");
if (forTests && !has("chromium")) needed.push("chromium");
if (forTests && !has("strace")) needed.push("strace");
if (forTests && !has("mkfs.btrfs")) needed.push("btrfs-progs");
if (forTests && !has("redis-server")) needed.push("redis-server");
if (forBench && !has("fio")) needed.push("fio");
if (needed.length)
  aptInstall(
    needed,
    "diskpipe converts with qemu-img and decompresses xz, zstd and bzip2 images with their tools; the tests also cross-check with vhdiinfo, drive Chromium, watch qemu-img's file opens with strace, snapshot a source on a btrfs loop file system (a reflink) and run the shared queue on a redis-server they start; the bench measures the disk's own limit with fio",
  );

const lock = join(root, "package-lock.json");
const installed = join(root, "node_modules", ".package-lock.json");
if (!existsSync(installed) || statSync(installed).mtimeMs < statSync(lock).mtimeMs) {
  say("installing npm dependencies");
  run("npm", ["ci", "--no-audit", "--no-fund", "--ignore-scripts"]);
}
// Without install scripts the deno package unpacks its binary on first use; the Deno tests
// start the binary itself, so it is unpacked here, before any test needs it.
if (forTests && !existsSync(join(root, "node_modules", "deno", "deno"))) {
  say("unpacking the Deno binary for the Deno tests");
  run(process.execPath, [join(root, "node_modules", "deno", "bin.cjs"), "--version"]);
}
if (!forTests) {
  say("building");
  run(process.execPath, [join(root, "scripts", "build.mjs")]);
}
