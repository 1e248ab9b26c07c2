import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import type { JobContext } from "../../../src/plugin-api.ts";
import { MAX_PASSPHRASE_BYTES, passphraseFile } from "../../../src/plugins/luks/passphrase.ts";
import { failure } from "../../helpers/failure.ts";
import { tempDir } from "../../helpers/images.ts";
import { asUser, needsRoot } from "../../helpers/process-state.ts";

/** A job context with these options (none when undefined) that records its warnings. */
function job(options?: Record<string, unknown>): { ctx: JobContext; warnings: string[] } {
  const warnings: string[] = [];
  const spec = { source: "in.raw", destination: "out.luks", to: "luks", ...(options && { options }) };
  return { ctx: { spec, warn: (message: string) => warnings.push(message) } as unknown as JobContext, warnings };
}

describe("passphraseFile: which file holds a job's LUKS passphrase", () => {
  const { dir, cleanup } = tempDir();
  const keys = join(dir, "keys");
  const secret = (path: string, content: string | Buffer = "passphrase", mode = 0o600) => {
    writeFileSync(path, content);
    chmodSync(path, mode);
    return path;
  };
  const refusedWith = async (options: Record<string, unknown> | undefined, keyDirectory: string | undefined) => {
    const error = await failure(passphraseFile(job(options).ctx, "LUKS output", keyDirectory));
    assert.equal(error.code, "usage");
    return error.message;
  };
  const refused = (options: Record<string, unknown> | undefined) => refusedWith(options, keys);

  before(() => {
    mkdirSync(join(keys, "sub"), { recursive: true, mode: 0o700 });
    for (const name of ["tenant-a", ".hidden", "a..b", "sub/key", "x".repeat(129), "x".repeat(128)])
      secret(join(keys, name));
    symlinkSync(join(keys, "tenant-a"), join(keys, "linked"));
    secret(join(keys, "empty"), "");
    secret(join(keys, "big"), Buffer.alloc(MAX_PASSPHRASE_BYTES + 1, 0x61));
    execFileSync("mkfifo", [join(keys, "fifo")]);
  });
  after(cleanup);

  it("takes a key by id from the key directory, and a passphrase file by its absolute path", async () => {
    const { ctx, warnings } = job({ keyId: "tenant-a" });
    assert.equal(await passphraseFile(ctx, "LUKS output", keys), join(keys, "tenant-a"));
    assert.equal(
      await passphraseFile(job({ keyId: "x".repeat(128) }).ctx, "LUKS output", keys),
      join(keys, "x".repeat(128)),
    );
    const relative = secret(join(dir, "pass"));
    assert.equal(
      await passphraseFile(job({ passphraseFile: relative }).ctx, "LUKS output", undefined),
      resolve(relative),
    );
    assert.deepEqual(warnings, []);
  });

  it("refuses a passphrase file and a key id given together", async () => {
    assert.equal(
      await refused({ keyId: "tenant-a", passphraseFile: join(keys, "tenant-a") }),
      "LUKS output: give a passphrase file or a key id, not both",
    );
  });

  it("refuses a key id that is not a plain file name of the key directory, even where such a file exists", async () => {
    for (const keyId of [".hidden", "a..b", "sub/key", "x".repeat(129), "", 42]) {
      assert.match(await refused({ keyId }), /^LUKS output: invalid key id/, `key id ${JSON.stringify(keyId)}`);
    }
  });

  it("refuses a key id without a key directory", async () => {
    assert.equal(
      await refusedWith({ keyId: "tenant-a" }, undefined),
      "LUKS output: a key id needs a key directory in the configuration (luks({ keyDirectory }))",
    );
    assert.equal(
      await refusedWith({ keyId: "tenant-a" }, ""),
      "LUKS output: a key id needs a key directory in the configuration (luks({ keyDirectory }))",
    );
  });

  it("asks for a passphrase file when none is named", async () => {
    for (const options of [undefined, {}, { passphraseFile: "" }, { passphraseFile: 42 }]) {
      assert.equal(await refused(options), "LUKS output needs --passphrase-file FILE", JSON.stringify(options));
    }
  });

  it("never reaches a key through a symbolic link, but follows one named as a passphrase file", async () => {
    assert.equal(await refused({ keyId: "linked" }), "key linked is a symbolic link, not a passphrase file");
    assert.equal(
      await passphraseFile(job({ passphraseFile: join(keys, "linked") }).ctx, "LUKS output", undefined),
      join(keys, "linked"),
    );
  });

  it("refuses a missing, unreadable, empty, oversized or non-regular file, saying which", async () => {
    assert.equal(await refused({ keyId: "missing" }), "no key missing");
    assert.equal(await refused({ passphraseFile: join(dir, "nowhere") }), `no passphrase file ${join(dir, "nowhere")}`);
    assert.equal(await refusedWith({ keyId: "k" }, join(keys, "tenant-a")), "key k cannot be read (ENOTDIR)");
    assert.equal(await refused({ keyId: "empty" }), "key empty is empty");
    assert.equal(
      await refused({ keyId: "big" }),
      `key big is larger than ${MAX_PASSPHRASE_BYTES} bytes, not a passphrase file`,
    );
    assert.equal(await refused({ keyId: "fifo" }), "key fifo is a FIFO, not a passphrase file");
  });

  it(
    "says a file diskpipe's user may not read cannot be read, not that it is missing",
    { skip: needsRoot("to read as another user") },
    async () => {
      chmodSync(dir, 0o755);
      chmodSync(keys, 0o755);
      const message = await asUser(65534, () => refused({ keyId: "tenant-a" }));
      assert.equal(message, "key tenant-a cannot be read (EACCES)");
    },
  );

  it("warns about a file its group or others may read, and only then", async () => {
    const open = secret(join(dir, "open-pass"), "passphrase", 0o640);
    const { ctx, warnings } = job({ passphraseFile: open });
    assert.equal(await passphraseFile(ctx, "LUKS output", undefined), open);
    assert.deepEqual(warnings, [`passphrase file ${open} is readable by group or others (mode 640); chmod 600 it`]);
  });
});
