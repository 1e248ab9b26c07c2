import { ImageRejectedError } from "./errors.ts";

/**
 * Why a plugin's helper refused an input, with one of the plugin's stable problem codes. The
 * helpers throw it without depending on the core's errors; the plugin turns it into an
 * `ImageRejectedError` (exit 3) naming the source. A plugin subclasses it once, with its own
 * code type, so that its `instanceof` checks see only its own refusals.
 *
 * @example
 * ```ts
 * class TarRefusal extends PluginRefusal<"archive-entry" | "truncated"> {}
 * throw new TarRefusal("archive-entry", `"../x" climbs out of the archive`);
 * ```
 */
export class PluginRefusal<Code extends string> extends Error {
  readonly code: Code;

  constructor(code: Code, message: string) {
    super(message);
    // Stryker disable next-line StringLiteral: the name shows only in a stack trace, and a refusal becomes an ImageRejectedError before anyone sees it
    this.name = new.target.name;
    this.code = code;
  }
}

/**
 * The error a plugin's refusal of `source` becomes: an `ImageRejectedError` (exit 3) of stage
 * `unpack`, "SOURCE rejected: MESSAGE [CODE]", the refusal as its one problem.
 *
 * @example
 * ```ts
 * class TarRefusal extends PluginRefusal<"archive-entry"> {}
 * throw refusalRejection("disk.tar", new TarRefusal("archive-entry", `"x" is a symbolic link`));
 * ```
 */
export function refusalRejection(source: string, refusal: PluginRefusal<string>): ImageRejectedError {
  return new ImageRejectedError(
    `${source} rejected: ${refusal.message} [${refusal.code}]`,
    [{ code: refusal.code, message: refusal.message }],
    { stage: "unpack" },
  );
}
