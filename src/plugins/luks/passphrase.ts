import { join, resolve } from "node:path";
import { NotRegularError, openRegular, UsageError, type JobContext } from "../../plugin-api.ts";

/** The largest passphrase file accepted: 64 KiB, far above any passphrase or key file, far below what could strain qemu-img. */
export const MAX_PASSPHRASE_BYTES = 64 * 1024;

/** What a key id may be: a plain file name in the key directory. */
const KEY_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/**
 * The file holding a job's LUKS passphrase. A caller who runs diskpipe (CLI, script) names it
 * with `passphraseFile`; anyone else (a spool sidecar) can only name a key by `keyId` in the
 * directory the operator configured (`luks({ keyDirectory })`). Either way it must be a regular
 * file (a key is never reached through a symbolic link), not empty, at most 64 KiB.
 *
 * @example
 * ```ts
 * const file = await passphraseFile(ctx, "LUKS output", "/etc/diskpipe/keys");
 * ```
 */
export async function passphraseFile(ctx: JobContext, why: string, keyDirectory: string | undefined): Promise<string> {
  const named = ctx.spec.options?.passphraseFile;
  const keyId = ctx.spec.options?.keyId;
  if (named !== undefined && keyId !== undefined)
    throw new UsageError(`${why}: give a passphrase file or a key id, not both`);
  if (keyId !== undefined) {
    if (typeof keyId !== "string" || !KEY_ID.test(keyId) || keyId.includes("..")) {
      throw new UsageError(`${why}: invalid key id: use letters, digits, ".", "_" and "-", not starting with "."`);
    }
    if (!keyDirectory)
      throw new UsageError(`${why}: a key id needs a key directory in the configuration (luks({ keyDirectory }))`);
    return checkedFile(ctx, join(keyDirectory, keyId), `key ${keyId}`, false);
  }
  if (typeof named !== "string" || !named) throw new UsageError(`${why} needs --passphrase-file FILE`);
  return checkedFile(ctx, resolve(named), `passphrase file ${named}`, true);
}

async function checkedFile(ctx: JobContext, path: string, label: string, followLinks: boolean): Promise<string> {
  const opened = await openRegular(path, { followLinks, maxBytes: MAX_PASSPHRASE_BYTES }).catch((error: unknown) => {
    if (error instanceof NotRegularError)
      throw new UsageError(
        `${label} is ${error.kind.startsWith("larger") ? error.kind : `a ${error.kind}`}, not a passphrase file`,
      );
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(code === "ENOENT" ? `no ${label}` : `${label} cannot be read (${code ?? "error"})`);
  });
  const { handle, stats } = opened;
  await handle.close();
  if (stats.size === 0) throw new UsageError(`${label} is empty`);
  if ((stats.mode & 0o077) !== 0)
    ctx.warn(`${label} is readable by group or others (mode ${(stats.mode & 0o777).toString(8)}); chmod 600 it`);
  return path;
}
