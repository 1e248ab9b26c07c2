import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { makeImage, makeRaw, tempDir } from "../helpers/images.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));

/** Node module hooks that append the URL of every ES module loaded to the file $LOADED_LIST. */
const HOOKS = [
  'import { appendFileSync } from "node:fs";',
  "export async function load(url, context, next) {",
  '  if (url.startsWith("file:")) appendFileSync(process.env.LOADED_LIST, url + "\\n");',
  "  return next(url, context);",
  "}",
].join("\n");
const REGISTER = `import { register } from "node:module"; register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(HOOKS)}`)});`;

/** Runs the diskpipe command and gives the diskpipe modules it loaded, relative to the repository. */
function loadedBy(args: string[], cwd: string): string[] {
  const list = join(cwd, "loaded.txt");
  writeFileSync(list, "");
  const result = spawnSync(
    process.execPath,
    ["--import", `data:text/javascript,${encodeURIComponent(REGISTER)}`, join(root, "bin", "diskpipe.mjs"), ...args],
    { cwd, env: { ...process.env, LOADED_LIST: list }, encoding: "utf8", timeout: 60_000 },
  );
  assert.equal(result.status, 0, result.stderr);
  return readFileSync(list, "utf8")
    .split("\n")
    .filter((url) => url.startsWith("file:"))
    .map((url) => fileURLToPath(url))
    .filter((path) => path.startsWith(root) && !path.includes("/node_modules/"))
    .map((path) => path.slice(root.length));
}

describe("bin/diskpipe.mjs", () => {
  const { dir, cleanup } = tempDir("diskpipe-bin-");
  after(cleanup);

  it("runs the CLI from the bundle: a few files of dist/bundle/, none of dist/src/", () => {
    const raw = makeRaw(join(dir, "disk.raw"), 1024 * 1024);
    const qcow2 = makeImage(raw, "qcow2", join(dir, "disk.qcow2"));
    const help = loadedBy(["--help"], dir);
    assert.ok(help.includes("bin/diskpipe.mjs"), help.join(", "));
    const inspect = loadedBy(["inspect", qcow2], dir);
    const convert = loadedBy(["convert", qcow2, join(dir, "out.vdi"), "--to", "vdi", "--quiet"], dir);
    for (const loaded of [help, inspect, convert]) {
      const own = loaded.filter((path) => path !== "bin/diskpipe.mjs");
      assert.deepEqual(
        own.filter((path) => !path.startsWith("dist/bundle/")),
        [],
        "every module of diskpipe's comes from the bundle",
      );
      assert.ok(own.includes("dist/bundle/cli/main.js"), own.join(", "));
    }
    // A user's configuration that imports diskpipe by name gets the same bundle, not a second copy.
    writeFileSync(
      join(dir, "plugins.config.ts"),
      [
        'import { defineConfig } from "diskpipe";',
        'import { definePlugin } from "diskpipe/plugin";',
        'import { ploop } from "diskpipe/plugins";',
        'const note = definePlugin({ name: "note", hooks: { verify() {} } });',
        "export default defineConfig({ plugins: [ploop(), note] });",
      ].join("\n"),
    );
    const configured = loadedBy(["inspect", qcow2], dir).filter((path) => path.startsWith("dist/"));
    assert.deepEqual(
      configured.filter((path) => !path.startsWith("dist/bundle/")),
      [],
      "the configuration's diskpipe imports resolve into the bundle",
    );
    assert.ok(configured.includes("dist/bundle/mod.js"), configured.join(", "));
    // Unbundled, an inspection loaded 85 of diskpipe's modules and a conversion 87.
    assert.ok(inspect.length < 40, `inspect loaded ${inspect.length} modules: ${inspect.join(", ")}`);
    assert.ok(convert.length < 50, `convert loaded ${convert.length} modules: ${convert.join(", ")}`);
  });
});
