import { randomBytes } from "node:crypto";
import { lstat, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

/**
 * Existing files moved aside (renamed, in their own directory, to a hidden name) before new
 * outputs replace them, so that a failure after some were replaced can put them back.
 *
 * @example
 * ```ts
 * declare const commitAll: () => Promise<void>; // renames the new outputs into place
 * const aside = await SetAside.of(["/srv/out/vm-disk1.qcow2", "/srv/out/vm.ovf.json"]);
 * try { await commitAll(); await aside.discard(); } catch (error) { await aside.restore(); throw error; }
 * ```
 */
export class SetAside {
  readonly #moved: Array<{ path: string; aside: string }>;

  private constructor(moved: Array<{ path: string; aside: string }>) {
    this.#moved = moved;
  }

  /** Moves each of `paths` that exists aside; the ones moved before a failure are put back. */
  static async of(paths: readonly string[]): Promise<SetAside> {
    const set = new SetAside([]);
    try {
      for (const path of paths) {
        const exists = await lstat(path).then(
          () => true,
          (error: NodeJS.ErrnoException) => {
            if (error.code === "ENOENT") return false;
            throw error;
          },
        );
        if (!exists) continue;
        const aside = join(
          dirname(path),
          `.${basename(path).slice(0, 200)}.replaced-${randomBytes(4).toString("hex")}`,
        );
        await rename(path, aside);
        set.#moved.push({ path, aside });
      }
    } catch (error) {
      await set.restore();
      throw error;
    }
    return set;
  }

  /** The paths moved aside. */
  get paths(): string[] {
    return this.#moved.map((entry) => entry.path);
  }

  /** Puts every file back under its name (over whatever took it meanwhile). */
  async restore(): Promise<void> {
    for (const { path, aside } of this.#moved.splice(0)) await rename(aside, path).catch(() => undefined);
  }

  /** Removes the files set aside: their replacements are in place. */
  async discard(): Promise<void> {
    for (const { aside } of this.#moved.splice(0)) await rm(aside, { force: true });
  }
}
