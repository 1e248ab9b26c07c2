import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createPipeline } from "../../src/create-pipeline.ts";
import { createDashboard, type Dashboard } from "../../src/dashboard/app.ts";
import { defaultConfig } from "../../src/scripting.ts";
import { createSpool } from "../../src/spool/spool.ts";
import { tempDir } from "../helpers/images.ts";
import { multipart } from "./request-bodies.ts";

describe("dashboard routes refuse names that leave the spool (Hono app.request, real spool)", () => {
  const { dir, cleanup } = tempDir("diskpipe-dashboard-names-");
  const root = join(dir, "spool");
  let open: Dashboard;

  before(async () => {
    open = createDashboard({ spool: createSpool({ root, pipeline: createPipeline(await defaultConfig()) }) });
  });
  after(() => {
    open?.close();
    cleanup();
  });

  it("refuses path traversal with 400: dotted, encoded, absolute and slashed names", async () => {
    for (const path of [
      "/api/jobs/..%2F..%2Fetc%2Fpasswd",
      "/jobs/x%2e%2e",
      "/api/jobs/%2e%2e%2fetc",
      "/jobs/..%5c..%5cwin.ini",
      "/api/jobs/a%00b",
    ]) {
      assert.equal((await open.app.request(path)).status, 400, path);
    }
    for (const name of [
      "../x.vmdk",
      "..%2Fx.vmdk",
      "%2Fetc%2Fpasswd",
      "a%2Fb.vmdk",
      "..",
      ".hidden",
      "x.vmdk.part",
      "x.json",
      "a%5Cb",
    ]) {
      const res = await open.app.request(`/upload?format=qcow2&name=${name}`, { method: "POST", body: "data" });
      assert.equal(res.status, 400, name);
    }
    const form = multipart({ format: "qcow2" }, { name: "../../escape.vmdk", data: new Uint8Array(10) });
    assert.equal(
      (await open.app.request("/upload", { method: "POST", body: form.body, headers: { "content-type": form.type } }))
        .status,
      400,
    );
    assert.equal(
      (await open.app.request("/upload?format=nope&name=x.vmdk", { method: "POST", body: "x" })).status,
      400,
      "unknown format",
    );
    assert.ok(!existsSync(join(dir, "escape.vmdk")) && !existsSync(join(root, "escape.vmdk")));
  });
});
