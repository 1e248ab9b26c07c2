import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { chromium, type Browser } from "playwright-core";
import { repoRoot } from "../helpers/cli.ts";
import { makeImage, makeRaw, sameDisk, tempDir } from "../helpers/images.ts";
import { waitFor } from "../spool/helpers.ts";

const CHROMIUM = "/usr/bin/chromium";

/** GET with the request line exactly as given (fetch would normalise dot segments first). */
function rawGet(url: string, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const { hostname, port } = new URL(url);
    const req = request({ hostname, port, path, method: "GET" }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on("error", reject);
    req.end();
  });
}

describe("dashboard in headless Chromium (real CLI: watch --dashboard)", () => {
  const { dir, cleanup } = tempDir("diskpipe-browser-");
  const root = join(dir, "spool");
  let child: ChildProcess | undefined;
  let browser: Browser | undefined;
  let url = "";
  let raw = "";
  let vmdk = "";

  before(async () => {
    assert.ok(
      existsSync(CHROMIUM),
      `Chromium is missing at ${CHROMIUM}: run the test set-up first (node scripts/setup.mjs --test, or npm test, installs it)`,
    );
    raw = makeRaw(join(dir, "disk.raw"), 16 * 1024 * 1024);
    vmdk = makeImage(raw, "vmdk", join(dir, "disk.vmdk"));
    child = spawn(
      process.execPath,
      [join(repoRoot, "bin", "diskpipe.mjs"), "watch", root, "--dashboard", "--port", "0", "--settle", "200"],
      {
        cwd: repoRoot,
        stdio: ["ignore", "ignore", "pipe"],
      },
    );
    let stderr = "";
    child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    url = await waitFor(() => /dashboard at (http:\/\/\S+)/.exec(stderr)?.[1], "the dashboard to listen");
    browser = await chromium.launch({
      executablePath: CHROMIUM,
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
  });
  after(async () => {
    await browser?.close();
    if (child && child.exitCode === null) {
      const exited = new Promise((resolve) => child!.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
    }
    cleanup();
  });

  it("shows a dropped job go from queued to done without a reload", async () => {
    const page = await browser!.newPage();
    const errors: string[] = [];
    page.on("pageerror", (error) => errors.push(error.message));
    page.on("console", (message) => message.type() === "error" && errors.push(message.text()));
    await page.goto(url);
    await page.waitForSelector("#live.on", { timeout: 10_000 });
    assert.equal(await page.textContent("#count-done"), "0");
    // A marker a reload would wipe, and a log of every state the row shows.
    // A string, not a function: tsx's transform would inject helpers the page does not have.
    await page.evaluate(`(() => {
      window.marker = 42;
      window.seen = [];
      const record = () => {
        const state = document.querySelector("#jobs tr.job")?.dataset.state;
        if (state && window.seen.at(-1) !== state) window.seen.push(state);
      };
      new MutationObserver(record).observe(document.getElementById("jobs"), { childList: true, subtree: true, attributes: true });
    })()`);

    mkdirSync(join(root, "incoming", "qcow2"), { recursive: true });
    copyFileSync(vmdk, join(root, "incoming", "qcow2", "browser.vmdk"));

    await page.waitForSelector("#jobs tr.job[data-state=done]", { timeout: 30_000 });
    const { marker, seen } = (await page.evaluate("({ marker: window.marker, seen: window.seen })")) as {
      marker: number;
      seen: string[];
    };
    assert.equal(marker, 42, "the page was not reloaded");
    assert.equal(seen[0], "queued", `states seen: ${seen.join(" -> ")}`);
    assert.equal(seen.at(-1), "done", `states seen: ${seen.join(" -> ")}`);
    assert.equal(await page.textContent("#count-done"), "1");
    assert.match((await page.textContent("#jobs tr.job .result")) ?? "", /done\/browser\.qcow2/);
    assert.deepEqual(errors, [], "no script errors (CSP included)");
    assert.ok(sameDisk(raw, "raw", join(root, "done", "browser.qcow2"), "qcow2"));

    await page.click("#jobs tr.job a");
    await page.waitForSelector("#detail");
    assert.match((await page.textContent("#detail")) ?? "", /Inspection[\s\S]*vmdk/);
    await page.close();
  });

  it("refuses traversal in the request line as sent over HTTP (400)", async () => {
    assert.equal(await rawGet(url, "/jobs/%2e%2e/%2e%2e/etc/passwd"), 400);
    assert.equal(await rawGet(url, "/../../etc/passwd"), 400);
    assert.equal(await rawGet(url, "/api/jobs"), 200);
  });
});
