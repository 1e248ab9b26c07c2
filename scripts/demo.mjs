#!/usr/bin/env node
// The quick start's main job: makes a sample VMDK with real data, then lets diskpipe inspect it
// and convert it to qcow2, and checks the result with `qemu-img compare`.
import { execFileSync } from "node:child_process";
import { closeSync, ftruncateSync, mkdirSync, openSync, rmSync, writeSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const dir = join(root, "demo-output");
const diskpipe = (...args) =>
  execFileSync(process.execPath, [join(root, "bin", "diskpipe.mjs"), ...args], { stdio: "inherit" });

rmSync(dir, { recursive: true, force: true });
mkdirSync(dir);
const raw = join(dir, "sample.raw");
const block = Buffer.alloc(1024 * 1024);
for (let i = 0; i < block.length; i++) block[i] = (i * 31 + 7) & 0xff;
const fd = openSync(raw, "w");
ftruncateSync(fd, 64 * 1024 * 1024);
writeSync(fd, block, 0, block.length, 8 * 1024 * 1024);
closeSync(fd);
execFileSync("qemu-img", ["convert", "-f", "raw", "-O", "vmdk", raw, join(dir, "sample.vmdk")]);
rmSync(raw);

console.log("\n$ diskpipe inspect demo-output/sample.vmdk");
diskpipe("inspect", join(dir, "sample.vmdk"));
console.log("\n$ diskpipe convert demo-output/sample.vmdk demo-output/sample.qcow2 --to qcow2");
diskpipe("convert", join(dir, "sample.vmdk"), join(dir, "sample.qcow2"), "--to", "qcow2");
execFileSync(
  "qemu-img",
  ["compare", "-f", "vmdk", "-F", "qcow2", join(dir, "sample.vmdk"), join(dir, "sample.qcow2")],
  { stdio: "inherit" },
);
console.log(`\nDone: ${join("demo-output", "sample.qcow2")} holds the same disk as sample.vmdk.`);
