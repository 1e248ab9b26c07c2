import assert from "node:assert/strict";
import { copyFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createPipeline } from "../../src/create-pipeline.ts";
import { definePlugin } from "../../src/core/plugin.ts";
import { createDashboard, type Dashboard } from "../../src/dashboard/app.ts";
import { defaultConfig } from "../../src/scripting.ts";
import { createSpool, type Spool } from "../../src/spool/spool.ts";
import type { SpoolJob } from "../../src/spool/types.ts";
import { makeImage, makeRaw, qemuImg, sameDisk, tempDir } from "../helpers/images.ts";
import { filesIn, waitFor } from "../spool/helpers.ts";
import { multipart, readUntil, streamOf } from "./request-bodies.ts";

const TOKEN = "correct horse battery staple";
/** A file name that is markup: must be shown escaped everywhere. */
const HOSTILE = "<img src=x onerror=alert(1)>good.vmdk";

describe("dashboard routes (Hono app.request, real spool)", () => {
  const { dir, cleanup } = tempDir("diskpipe-dashboard-");
  const root = join(dir, "spool");
  let raw = "";
  let vmdk = "";
  let evil = "";
  let spool: Spool;
  let open: Dashboard;
  let locked: Dashboard;
  let small: Dashboard;
  let good: SpoolJob;
  let bad: SpoolJob;

  const drop = (format: string, name: string, from: string) => {
    mkdirSync(join(root, "incoming", format), { recursive: true });
    copyFileSync(from, join(root, "incoming", format, name));
  };
  const settled = (name: string) =>
    waitFor(
      () => spool.jobs().find((j) => j.name === name && (j.state === "done" || j.state === "failed")),
      `${name} to finish`,
    );

  before(async () => {
    raw = makeRaw(join(dir, "disk.raw"), 4 * 1024 * 1024);
    vmdk = makeImage(raw, "vmdk", join(dir, "disk.vmdk"));
    qemuImg("create", "-q", "-f", "qcow2", join(dir, "base.qcow2"), "1M");
    evil = join(dir, "evil.qcow2");
    qemuImg("create", "-q", "-f", "qcow2", "-b", join(dir, "base.qcow2"), "-F", "qcow2", evil);
    const config = await defaultConfig();
    const audit = definePlugin({ name: "audit", hooks: { verify() {} } });
    spool = createSpool({
      root,
      pipeline: createPipeline({ ...config, plugins: [...(config.plugins ?? []), audit] }),
      settleMs: 100,
    });
    await spool.start();
    open = createDashboard({ spool, keepAliveSeconds: 1 });
    locked = createDashboard({ spool, token: TOKEN });
    small = createDashboard({ spool, maxUpload: 1024 * 1024 });
    drop("qcow2", HOSTILE, vmdk);
    drop("raw", "evil.qcow2", evil);
    good = await settled(HOSTILE);
    bad = await settled("evil.qcow2");
    assert.equal(good.state, "done", good.error?.message);
    assert.equal(bad.state, "failed");
  });
  after(async () => {
    for (const d of [open, locked, small]) d?.close();
    await spool.stop();
    cleanup();
  });

  it("GET / lists the jobs, escaped, with counters and a CSP nonce on the inline script", async () => {
    const res = await open.app.request("/");
    assert.equal(res.status, 200);
    const html = await res.text();
    assert.ok(html.includes("&lt;img src=x onerror=alert(1)&gt;good.vmdk"), "the name is escaped");
    assert.ok(!html.includes("<img"), "no raw markup from a file name");
    assert.match(html, /id="count-done">1</);
    assert.match(html, /id="count-failed">1</);
    assert.match(html, /\[image-rejected\]/);
    const csp = res.headers.get("content-security-policy") ?? "";
    const nonce = /script-src 'nonce-([^']+)'/.exec(csp)?.[1];
    assert.ok(nonce, csp);
    assert.ok(html.includes(`<script nonce="${nonce}">`));
    assert.match(html, /new EventSource\("\/api\/events\?rows=1"\)/);
  });

  it("GET /api/jobs and /api/jobs/:id give JSON with the output path", async () => {
    const list = (await (await open.app.request("/api/jobs")).json()) as SpoolJob[];
    assert.ok(Array.isArray(list));
    assert.deepEqual(new Set(list.map((j) => j.id)), new Set([good.id, bad.id]));
    const one = (await (await open.app.request(`/api/jobs/${good.id}`)).json()) as SpoolJob;
    assert.equal(one.output, join(root, "done", "<img src=x onerror=alert(1)>good.qcow2"));
    assert.equal(one.state, "done");
    assert.equal((await open.app.request("/api/jobs/zzzzzzzz-000000")).status, 404);
    assert.equal((await open.app.request("/api/jobs/not-an-id")).status, 400);
  });

  it("GET /jobs/:id shows the inspection, stage timings, hook timeline and output", async () => {
    const html = await (await open.app.request(`/jobs/${good.id}`)).text();
    assert.match(html, /<h2>Inspection<\/h2>/);
    assert.match(html, /<dt>Format<\/dt><dd>vmdk/);
    assert.match(html, /<code>verify<\/code> audit/, "the hook timeline names the plugin");
    assert.match(html, /<td>convert<\/td>/);
    assert.ok(html.includes("done/&lt;img src=x onerror=alert(1)&gt;good.qcow2"));
    assert.ok(!html.includes("<img"));
    const failed = await (await open.app.request(`/jobs/${bad.id}`)).text();
    assert.match(failed, /qcow2-backing-file/);
    assert.match(failed, /action="\/api\/jobs\/[^"]+\/retry"/);
    const fragment = await (await open.app.request(`/jobs/${good.id}?fragment=1`)).text();
    assert.match(fragment, /^<div id="detail"/);
  });

  it("streams a raw upload into incoming/<format>/ (then converted)", async () => {
    const data = readFileSync(vmdk);
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let at = 0; at < data.length; at += 64 * 1024)
          controller.enqueue(new Uint8Array(data.subarray(at, at + 64 * 1024)));
        controller.close();
      },
    });
    const res = await open.app.request("/upload?format=vdi&name=up.vmdk", {
      method: "POST",
      body,
      duplex: "half",
    } as RequestInit);
    assert.equal(res.status, 201, await res.clone().text());
    assert.deepEqual(await res.json(), { ok: true, path: "incoming/vdi/up.vmdk", bytes: data.length });
    const job = await settled("up.vmdk");
    assert.equal(job.state, "done", job.error?.message);
    assert.ok(sameDisk(raw, "raw", join(root, "done", "up.vdi"), "vdi"));
  });

  it("takes an upload whose name is 255 bytes (multi-byte) and converts it into done/ under a name that fits", async () => {
    const name = `${"x".repeat(7)}${"ü日😀".repeat(27)}.vmdk`; // 255 bytes
    assert.equal(Buffer.byteLength(name), 255);
    const res = await open.app.request(`/upload?format=qcow2&name=${encodeURIComponent(name)}`, {
      method: "POST",
      body: readFileSync(vmdk),
    });
    assert.equal(res.status, 201, await res.clone().text());
    assert.deepEqual(await res.json(), { ok: true, path: `incoming/qcow2/${name}`, bytes: readFileSync(vmdk).length });
    const job = await settled(name);
    assert.equal(job.state, "done", job.error?.message);
    const output = basename(job.output!);
    assert.ok(Buffer.byteLength(output) <= 255 && output.endsWith(".qcow2") && !output.includes("\uFFFD"), output);
    assert.ok(sameDisk(raw, "raw", job.output!, "qcow2"));
    await spool.idle();
    assert.deepEqual(filesIn(root, "incoming/qcow2"), [], "no partial file left");
    assert.deepEqual(filesIn(root, "work"), []);
  });

  it("takes a multipart form upload and redirects a browser back to the jobs", async () => {
    const form = multipart({ format: "vhd" }, { name: "form.vmdk", data: readFileSync(vmdk) });
    const res = await open.app.request("/upload", {
      method: "POST",
      body: form.body,
      headers: { "content-type": form.type, accept: "text/html" },
    });
    assert.equal(res.status, 303);
    assert.equal(res.headers.get("location"), "/");
    const job = await settled("form.vmdk");
    assert.equal(job.state, "done", job.error?.message);
    assert.ok(sameDisk(raw, "raw", join(root, "done", "form.vhd"), "vpc"));
  });

  it("answers 413 over --max-upload and removes the partial file", async () => {
    const streamed = await small.app.request("/upload?format=raw&name=big.img", {
      method: "POST",
      body: streamOf(40, 64 * 1024),
      duplex: "half",
    } as RequestInit);
    assert.equal(streamed.status, 413);
    const declared = await small.app.request("/upload?format=raw&name=big.img", {
      method: "POST",
      body: "x",
      headers: { "content-length": String(2 * 1024 * 1024) },
    });
    assert.equal(declared.status, 413);
    const form = multipart({ format: "raw" }, { name: "big.img", data: new Uint8Array(1024 * 1024 + 1) });
    assert.equal(
      (await small.app.request("/upload", { method: "POST", body: form.body, headers: { "content-type": form.type } }))
        .status,
      413,
    );
    assert.deepEqual(filesIn(root, "incoming/raw"), [], "no partial file, no upload");
  });

  it("POST /api/jobs/:id/retry moves a failed file back into incoming/<format>/", async () => {
    assert.equal(
      (await open.app.request(`/api/jobs/${good.id}/retry`, { method: "POST" })).status,
      409,
      "only failed jobs",
    );
    const res = await open.app.request(`/api/jobs/${bad.id}/retry`, { method: "POST" });
    assert.equal(res.status, 200);
    const { job } = (await res.json()) as { job: SpoolJob };
    assert.equal(job.state, "retried");
    assert.ok(!existsSync(join(root, "failed", "evil.qcow2.error.json")));
    const again = await waitFor(
      () => spool.jobs().find((j) => j.name === "evil.qcow2" && j.id !== bad.id && j.state === "failed"),
      "the retried file to be claimed again",
    );
    assert.equal(again.error?.code, "image-rejected");
  });

  it("requires the token: bearer header or the login cookie; pages redirect to /login", async () => {
    assert.equal((await locked.app.request("/api/jobs")).status, 401);
    assert.equal((await locked.app.request("/api/jobs", { headers: { authorization: "Bearer wrong" } })).status, 401);
    assert.equal((await locked.app.request("/api/events")).status, 401);
    assert.equal(
      (await locked.app.request("/upload?format=raw&name=x.img", { method: "POST", body: "x" })).status,
      401,
    );
    assert.equal(
      (await locked.app.request("/api/jobs", { headers: { authorization: `Bearer ${TOKEN}` } })).status,
      200,
    );
    const page = await locked.app.request("/", { headers: { accept: "text/html" } });
    assert.equal(page.status, 303);
    assert.equal(page.headers.get("location"), "/login");
    const form = await locked.app.request("/login");
    assert.equal(form.status, 200);
    assert.ok(!(await form.text()).includes(root), "the login page does not show the spool path");

    const wrong = await locked.app.request("/login", { method: "POST", body: new URLSearchParams({ token: "nope" }) });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.headers.get("set-cookie"), null);
    const right = await locked.app.request("/login", { method: "POST", body: new URLSearchParams({ token: TOKEN }) });
    assert.equal(right.status, 303);
    const cookie = right.headers.get("set-cookie") ?? "";
    assert.match(cookie, /HttpOnly/);
    assert.match(cookie, /SameSite=Strict/);
    assert.ok(
      !cookie.includes(TOKEN) && !cookie.includes(encodeURIComponent(TOKEN)),
      "the cookie does not hold the token",
    );
    const session = cookie.split(";")[0];
    const home = await locked.app.request("/", { headers: { cookie: session } });
    assert.equal(home.status, 200);
    assert.match(await home.text(), /good/);
    assert.equal(
      (await locked.app.request("/api/jobs", { headers: { cookie: "diskpipe_session=forged" } })).status,
      401,
    );
  });

  it("refuses a non-loopback Host (DNS rebinding) and cross-origin writes", async () => {
    assert.equal((await open.app.request("http://attacker.example/api/jobs")).status, 403);
    assert.equal((await open.app.request("http://127.0.0.1:8080/api/jobs")).status, 200);
    const csrf = await open.app.request(`/api/jobs/${bad.id}/retry`, {
      method: "POST",
      headers: { origin: "http://attacker.example" },
    });
    assert.equal(csrf.status, 403);
  });

  it("delivers job events over server-sent events at /api/events", async () => {
    const res = await open.app.request("/api/events");
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /text\/event-stream/);
    const reader = res.body!.getReader();
    try {
      assert.match(await readUntil(reader, /event: hello/), /"counts"/);
      drop("qcow2", "live.vmdk", vmdk);
      const text = await readUntil(reader, /event: job\ndata: .*"name":"live\.vmdk".*"state":"done"/);
      const data = JSON.parse(/event: job\ndata: (.*"state":"done".*)\n/.exec(text)![1]);
      assert.equal(data.job.output, join(root, "done", "live.qcow2"));
      assert.match(data.row, /^<tr id="job-/);
      assert.ok(data.counts.done >= 1);
      assert.match(await readUntil(reader, /: keep-alive/, 5000), /keep-alive/);
    } finally {
      await reader.cancel();
    }
  });

  it("with ?rows=1 the stream's first message carries every row as it stands (the jobs page misses nothing added before it connected); without, only the counters", async () => {
    const withRows = (await open.app.request("/api/events?rows=1")).body!.getReader();
    const plain = (await open.app.request("/api/events")).body!.getReader();
    try {
      const hello = JSON.parse(
        /event: hello\ndata: (.*)\n/.exec(await readUntil(withRows, /event: hello\ndata: .*\n/))![1],
      ) as { rows: Array<{ id: string; row: string }>; counts: object };
      const listed = (await (await open.app.request("/api/jobs")).json()) as Array<{ id: string }>;
      const ids = (list: Array<{ id: string }>) => list.map((item) => item.id);
      assert.deepEqual(ids(hello.rows), ids(listed));
      assert.ok(hello.rows.length > 0);
      for (const { id, row } of hello.rows) assert.ok(row.startsWith(`<tr id="job-${id}"`), row);
      assert.ok(hello.counts);
      const bare = JSON.parse(
        /event: hello\ndata: (.*)\n/.exec(await readUntil(plain, /event: hello\ndata: .*\n/))![1],
      ) as object;
      assert.deepEqual(Object.keys(bare), ["counts"]);
    } finally {
      await withRows.cancel();
      await plain.cancel();
    }
  });
});
