import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { buildChain, chainEntries, listing, randomWrites, removeTempDirs, rng, tarball, tempDir } from "./helpers.ts";
import { requirement } from "../../helpers/requirement.ts";

const exec = promisify(execFile);
const root = fileURLToPath(new URL("../../../", import.meta.url));
const bin = join(root, "bin/diskpipe.mjs");
const built = existsSync(join(root, "dist/bundle/cli/main.js"));
const registered = /xenserverOvf\s*\(/.test(await readFile(join(root, "plugins.config.ts"), "utf8").catch(() => ""));
const skip = requirement(
  !built
    ? "diskpipe is not built (npm run build)"
    : !registered
      ? "plugins.config.ts does not register xenserverOvf()"
      : false,
);

const MiB = 1024 * 1024;

async function diskpipe(cwd: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [bin, ...args], {
      cwd,
      env: { ...process.env, NO_COLOR: "1" },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe("diskpipe convert --from vhd --container ovf", { skip }, () => {
  after(removeTempDirs);

  it("converts a chain tarball to qcow2 equal to the layered disk", async () => {
    const dir = await tempDir();
    const size = 6 * MiB + 1024;
    const random = rng(42);
    const { files, expected } = buildChain({
      size,
      base: "dynamic",
      filler: 0xee,
      layers: Array.from({ length: 3 }, () => randomWrites(random, size, 10)),
    });
    await writeFile(join(dir, "chain.tgz"), await tarball(chainEntries(files, "./")));
    await writeFile(join(dir, "expected.raw"), expected);
    const result = await diskpipe(
      root,
      "convert",
      join(dir, "chain.tgz"),
      join(dir, "out.qcow2"),
      "--from",
      "vhd",
      "--container",
      "ovf",
      "--to",
      "qcow2",
    );
    assert.equal(result.code, 0, result.stderr);
    await exec("qemu-img", ["compare", "-f", "raw", "-F", "qcow2", join(dir, "expected.raw"), join(dir, "out.qcow2")]);
    const info = JSON.parse(
      (await exec("qemu-img", ["info", "--output=json", "-f", "qcow2", join(dir, "out.qcow2")])).stdout,
    ) as { "virtual-size": number };
    assert.equal(info["virtual-size"], size);
  });

  it("exits 3 with no output for a hostile tarball", async () => {
    const dir = await tempDir();
    const { files } = buildChain({ size: MiB, base: "dynamic", layers: [[]] });
    await writeFile(join(dir, "evil.tgz"), await tarball([{ header: { name: "../0.vhd" }, data: files[0] }]));
    const result = await diskpipe(
      root,
      "convert",
      join(dir, "evil.tgz"),
      join(dir, "out.qcow2"),
      "--from",
      "vhd",
      "--container",
      "ovf",
      "--to",
      "qcow2",
    );
    assert.equal(result.code, 3, result.stderr);
    assert.match(result.stderr, /archive-entry|climbs out/);
    assert.deepEqual(await listing(dir), ["evil.tgz"]);
  });
});
