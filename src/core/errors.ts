import { safeText } from "./redact.ts";

/**
 * The one error family of diskpipe: every failure carries a stable `code`,
 * the process exit code it maps to, and where it happened (stage, plugin, hook).
 */

/** Stable error codes. Scripts and the dashboard may match on these strings. */
export type ErrorCode =
  | "image-rejected"
  | "format-mismatch"
  | "checksum-mismatch"
  | "no-space"
  | "qemu-img-missing"
  | "qemu-img-failed"
  | "fetch-failed"
  | "upload-failed"
  | "usage"
  | "config-invalid"
  | "plugin-failed"
  | "io-failed"
  | "aborted"
  | "queue-unavailable";

const BRAND = Symbol.for("diskpipe.error");

const exitCodes: Record<ErrorCode, number> = {
  "image-rejected": 3,
  "format-mismatch": 3,
  "checksum-mismatch": 3,
  "no-space": 1,
  "qemu-img-missing": 1,
  "qemu-img-failed": 1,
  "fetch-failed": 1,
  "upload-failed": 1,
  usage: 2,
  "config-invalid": 2,
  "plugin-failed": 1,
  "io-failed": 1,
  aborted: 1,
  "queue-unavailable": 1,
};

/** One finding of the inspector or a safety check: a stable code and a sentence. */
export interface Problem {
  code: string;
  message: string;
}

/** Where an error happened, when known. */
export interface ErrorOrigin {
  stage?: string;
  plugin?: string;
  hook?: string;
}

/**
 * The base class of every error diskpipe throws on purpose.
 *
 * @example
 * ```ts
 * try { await convert({ source: "a.img", destination: "b.qcow2", to: "qcow2" }); }
 * catch (e) { if (e instanceof DiskpipeError) process.exitCode = e.exitCode; }
 * ```
 */
export class DiskpipeError extends Error {
  readonly code: ErrorCode;
  stage?: string;
  plugin?: string;
  hook?: string;
  /** Inspector findings behind an `image-rejected` or `format-mismatch`. */
  readonly problems: Problem[];

  /**
   * The message is shown as given except for what input could smuggle into it: URLs lose
   * their credentials and control characters are escaped, so it stays one line.
   */
  constructor(code: ErrorCode, message: string, options: ErrorOrigin & { cause?: unknown; problems?: Problem[] } = {}) {
    super(safeText(message), options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "DiskpipeError";
    // Marks diskpipe errors across module copies (a config loaded by another loader has its own class).
    Object.defineProperty(this, BRAND, { value: true });
    this.code = code;
    this.stage = options.stage;
    this.plugin = options.plugin;
    this.hook = options.hook;
    this.problems = (options.problems ?? []).map((p) => ({ code: p.code, message: safeText(p.message) }));
  }

  /** The process exit code: 1 failure, 2 usage error, 3 image rejected. */
  get exitCode(): number {
    return exitCodes[this.code];
  }

  /** A plain object for `--json` output, error files and the dashboard. */
  toJSON(): { code: ErrorCode; message: string; stage?: string; plugin?: string; hook?: string; problems?: Problem[] } {
    return {
      code: this.code,
      message: this.message,
      ...(this.stage && { stage: this.stage }),
      ...(this.plugin && { plugin: this.plugin }),
      ...(this.hook && { hook: this.hook }),
      ...(this.problems.length > 0 && { problems: this.problems }),
    };
  }
}

/**
 * An image refused because it is unsafe (exit 3).
 *
 * @example
 * ```ts
 * throw new ImageRejectedError("backing file set", [{ code: "qcow2-backing-file", message: "…" }]);
 * ```
 */
export class ImageRejectedError extends DiskpipeError {
  constructor(message: string, problems: Problem[] = [], origin: ErrorOrigin = {}) {
    super(problems.some((p) => p.code === "format-mismatch") ? "format-mismatch" : "image-rejected", message, {
      ...origin,
      problems,
    });
    this.name = "ImageRejectedError";
  }
}

/**
 * A command line or API call that cannot be carried out as written (exit 2).
 *
 * @example
 * ```ts
 * throw new UsageError("--to is required");
 * ```
 */
export class UsageError extends DiskpipeError {
  constructor(message: string) {
    super("usage", message);
    this.name = "UsageError";
  }
}

/**
 * Turns anything thrown into a DiskpipeError, keeping the original as `cause`.
 *
 * @example
 * ```ts
 * const err = toDiskpipeError(new Error("boom"), "plugin-failed");
 * err.code; // "plugin-failed"
 * ```
 */
export function toDiskpipeError(
  error: unknown,
  fallback: ErrorCode = "io-failed",
  origin: ErrorOrigin = {},
): DiskpipeError {
  if (isDiskpipeError(error)) {
    error.stage ??= origin.stage;
    error.plugin ??= origin.plugin;
    error.hook ??= origin.hook;
    return error;
  }
  const nodeCode = (error as { code?: string } | null)?.code;
  if (nodeCode === "ENOSPC")
    return new DiskpipeError("no-space", `no space left on device: ${(error as Error).message}`, {
      ...origin,
      cause: error,
    });
  if ((error as Error | null)?.name === "AbortError")
    return new DiskpipeError("aborted", "the job was aborted", { ...origin, cause: error });
  const message = error instanceof Error ? error.message : String(error);
  return new DiskpipeError(fallback, message, { ...origin, cause: error });
}

/**
 * Whether a value is a DiskpipeError, including one made by another copy of this module.
 *
 * @example
 * ```ts
 * declare const e: unknown;
 * if (isDiskpipeError(e)) process.exitCode = e.exitCode;
 * ```
 */
export function isDiskpipeError(error: unknown): error is DiskpipeError {
  return typeof error === "object" && error !== null && (error as Record<symbol, unknown>)[BRAND] === true;
}
