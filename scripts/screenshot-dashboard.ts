// Takes docs/dashboard.png: a spool with jobs done, failed, running and queued, in headless
// Chromium. Run: node --import tsx scripts/screenshot-dashboard.ts
import { execFileSync } from "node:child_process";
import { closeSync, copyFileSync, ftruncateSync, mkdirSync, openSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { createPipeline } from "../src/create-pipeline.ts";
import { definePlugin } from "../src/core/plugin.ts";
import { createDashboard } from "../src/dashboard/app.ts";
import { serve } from "../src/dashboard/serve.ts";
import { defaultConfig } from "../src/scripting.ts";
import { createSpool } from "../src/spool/spool.ts";

const repo = fileURLToPath(new URL("..", import.meta.url));
const base = "/tmp/diskpipe-screenshot";
const root = join(base, "spool");
const images = join(base, "images");
rmSync(base, { recursive: true, force: true });
mkdirSync(images, { recursive: true });

const qemuImg = (...args: string[]) => execFileSync("qemu-img", args, { stdio: "ignore" });
function rawImage(path: string, size: number, dataBytes: number): string {
  const fd = openSync(path, "w");
  ftruncateSync(fd, size);
  for (let at = 0; at < dataBytes; at += 1024 * 1024) writeSync(fd, randomBytes(1024 * 1024), 0, 1024 * 1024, at);
  closeSync(fd);
  return path;
}

const small = rawImage(join(images, "small.raw"), 64 * 1024 * 1024, 4 * 1024 * 1024);
const big = rawImage(join(images, "big.raw"), 256 * 1024 * 1024, 96 * 1024 * 1024);
qemuImg("convert", "-f", "raw", "-O", "vmdk", small, join(images, "ubuntu-24.04-server.vmdk"));
qemuImg("convert", "-f", "raw", "-O", "vhdx", small, join(images, "win2022-core.vhdx"));
qemuImg("convert", "-f", "raw", "-O", "qcow2", small, join(images, "debian-12-genericcloud.qcow2"));
qemuImg("convert", "-f", "raw", "-O", "vmdk", big, join(images, "build-agent-07.vmdk"));
qemuImg("convert", "-f", "raw", "-O", "vdi", big, join(images, "legacy-crm.vdi"));
qemuImg("create", "-q", "-f", "qcow2", join(images, "base.qcow2"), "64M");
qemuImg(
  "create",
  "-q",
  "-f",
  "qcow2",
  "-b",
  join(images, "base.qcow2"),
  "-F",
  "qcow2",
  join(images, "tenant-upload.qcow2"),
);

// Large images convert at 8 MiB/s so the shot catches one running with its percentage.
const throttle = definePlugin({
  name: "throttle",
  hooks: {
    preConvert: (plan) =>
      plan.input.path.includes("build-agent") || plan.input.path.includes("legacy")
        ? { ...plan, flags: { ...plan.flags, rateLimit: 8 * 1024 * 1024 } }
        : plan,
  },
});
const config = await defaultConfig();
const spool = createSpool({
  root,
  pipeline: createPipeline({ ...config, jobs: 1, plugins: [...(config.plugins ?? []), throttle] }),
  settleMs: 100,
});
await spool.start();
const dashboard = createDashboard({ spool });
const server = await serve({ fetch: dashboard.app.fetch, hostname: "127.0.0.1", port: 0 });

const drop = async (format: string, name: string, sidecar?: unknown) => {
  mkdirSync(join(root, "incoming", format), { recursive: true });
  if (sidecar !== undefined) writeFileSync(join(root, "incoming", format, `${name}.json`), JSON.stringify(sidecar));
  copyFileSync(join(images, name), join(root, "incoming", format, name));
  await new Promise((resolve) => setTimeout(resolve, 400));
  await spool.idle();
};
await drop("qcow2", "ubuntu-24.04-server.vmdk");
await drop("raw", "win2022-core.vhdx");
await drop("raw", "tenant-upload.qcow2");
await drop("vmdk", "debian-12-genericcloud.qcow2", { from: "qcow2", options: { subformat: "streamOptimized" } });
await drop("vhd", "ubuntu-24.04-server.vmdk", { from: "vmdk", maxSize: "lots" });
mkdirSync(join(root, "incoming", "qcow2"), { recursive: true });
copyFileSync(join(images, "build-agent-07.vmdk"), join(root, "incoming", "qcow2", "build-agent-07.vmdk"));
await new Promise((resolve) => setTimeout(resolve, 300));
copyFileSync(join(images, "legacy-crm.vdi"), join(root, "incoming", "qcow2", "legacy-crm.vdi"));

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
  ],
});
const page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
await page.goto(server.url);
// Polled from here: waitForFunction would evaluate strings in the page, which its CSP forbids.
const ready = `(() => { const p = document.querySelector("tr.state-running progress"); return Boolean(p && p.value > 30 && p.value < 70 && document.querySelector("tr.state-queued")); })()`;
for (const until = Date.now() + 60_000; !(await page.evaluate(ready));) {
  if (Date.now() > until) throw new Error("the dashboard never showed a running job at 30–70% with one queued");
  await new Promise((resolve) => setTimeout(resolve, 100));
}
mkdirSync(join(repo, "docs"), { recursive: true });
await page.screenshot({ path: join(repo, "docs", "dashboard.png"), fullPage: true });
await browser.close();
dashboard.close();
await server.close();
await spool.stop();
rmSync(base, { recursive: true, force: true });
process.stderr.write(`wrote ${join(repo, "docs", "dashboard.png")}\n`);
