import type { z } from "zod";
import { sidecarSchema } from "../spool/sidecar.ts";
import { DiskpipeError, UsageError } from "../core/errors.ts";
import type { JobSpec } from "../core/job.ts";
import { lazySchema, zod } from "../core/lazy-zod.ts";
import { redactLocation, safeText } from "../core/redact.ts";
import { isUrlLocation } from "../core/io/location.ts";

/** The version of the message layout this code writes and reads. */
export const MESSAGE_VERSION = 1;

const NAME = /^[a-z0-9][a-z0-9-]*$/;

/**
 * A location a message may carry: an absolute path or a URL, one line, at most 4 KiB. Secrets
 * are refused elsewhere ({@link checkNoSecrets}), so that the reason names the field.
 */
function location() {
  const z = zod();
  return z
    .string()
    .min(1)
    .max(4096)
    .refine((value) => !/[\u0000-\u001f\u007f]/.test(value), "control characters are not allowed")
    .refine(
      (value) => value.startsWith("/") || isUrlLocation(value),
      "an absolute path or a URL (a relative path means nothing to a worker)",
    );
}

/**
 * The schema of a queue message (zod, built on first use). A message is untrusted input: unknown
 * keys are errors, and of the plugin options only `subformat`, `compress` and `keyId` exist, exactly as for
 * a spool sidecar. Nothing in it can name a passphrase file, raise a limit or replace an
 * existing file.
 *
 * @example
 * ```ts
 * messageSchema.parse({ v: 1, spec: { source: "https://h/a.vmdk", destination: "/srv/out/a.qcow2", to: "qcow2" } });
 * ```
 */
export const messageSchema = lazySchema(() => {
  const z = zod();
  return z
    .object({
      v: z.literal(MESSAGE_VERSION),
      spec: z
        .object({
          source: location(),
          destination: location(),
          to: z.string().regex(NAME, "a format name is lower-case letters, digits and dashes"),
          // What a spool user may ask in a sidecar, with the same checks: from, container,
          // checksum, a maxSize that can only lower the worker's, and the subformat, compress and keyId options.
          ...sidecarSchema.shape,
        })
        .strict(),
    })
    .strict();
});

/**
 * A validated queue message: what a worker is asked to do.
 *
 * @example
 * ```ts
 * const message: QueueMessage = { v: 1, spec: { source: "/shared/in/a.vmdk", destination: "/shared/out/a.qcow2", to: "qcow2" } };
 * ```
 */
export type QueueMessage = z.output<typeof messageSchema>;

/** What a caller may ask of the queue: a {@link JobSpec} without the parts a message cannot carry. */
export type QueueSpec = Pick<JobSpec, "source" | "destination" | "to" | "from" | "container" | "checksum"> & {
  maxSize?: number | string;
  options?: { subformat?: string; compress?: boolean; keyId?: string };
};

/** The most shown of one issue: some quote what the queue writer wrote (a size's parser, zod's unknown keys). */
const ISSUE_CHARS = 200;
const bounded = (text: string) => (text.length <= ISSUE_CHARS ? text : `${text.slice(0, ISSUE_CHARS - 1)}…`);

/**
 * Validates a message read from the queue. Anything else (an older layout, a hand-written
 * entry, a hostile one) is a usage error naming each bad field, never a location (an issue
 * that quotes a value, such as a size that does not parse, is cut to 200 characters).
 *
 * @example
 * ```ts
 * import type { Job } from "bullmq";
 * declare const job: Job;
 * const { spec } = parseMessage(job.data);
 * ```
 */
export function parseMessage(data: unknown): QueueMessage {
  const parsed = messageSchema.safeParse(data);
  if (!parsed.success) {
    const fields = parsed.error.issues.map(
      (issue) => `${issue.path.length ? issue.path.join(".") : "(root)"}: ${bounded(safeText(issue.message))}`,
    );
    throw new DiskpipeError("usage", `malformed job: ${fields.join("; ")}`, { stage: "queue" });
  }
  checkNoSecrets(parsed.data);
  return parsed.data;
}

/**
 * The message for `spec`, validated as a worker will validate it, so a bad request fails at
 * submission rather than on a worker.
 *
 * @example
 * ```ts
 * const message = messageFor({ source: "https://h/a.vmdk", destination: "/srv/out/a.qcow2", to: "qcow2" });
 * ```
 */
export function messageFor(spec: QueueSpec): QueueMessage {
  const { source, destination, to, from, container, checksum, maxSize, options } = spec;
  const unknown = Object.keys(spec).filter(
    (key) => !["source", "destination", "to", "from", "container", "checksum", "maxSize", "options"].includes(key),
  );
  if (unknown.length > 0) throw new UsageError(`a queued job cannot carry ${unknown.join(", ")}`);
  const defined = <T extends object>(value: T) =>
    Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined));
  try {
    return parseMessage({
      v: MESSAGE_VERSION,
      spec: defined({
        source,
        destination,
        to,
        from,
        container,
        checksum,
        maxSize,
        options: options && defined(options),
      }),
    });
  } catch (error) {
    // Stryker disable next-line Regex: parseMessage's messages all start with it, and replace takes the first occurrence
    throw new UsageError((error as Error).message.replace(/^malformed job: /, "cannot queue this job: "));
  }
}

/**
 * Refuses a location that carries a credential (a user name or password, a signed query): job
 * data is readable by everyone who can read the queue. Credentials belong in the worker's
 * configuration (an image service, a plugin), not in a message.
 */
function checkNoSecrets(message: QueueMessage): void {
  for (const field of ["source", "destination"] as const) {
    const value = message.spec[field];
    if (redactLocation(value) !== value || /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*@/i.test(value)) {
      throw new DiskpipeError(
        "usage",
        `malformed job: spec.${field}: a URL with credentials is not accepted in a queue (give workers their credentials in their configuration)`,
        { stage: "queue" },
      );
    }
  }
}

/**
 * The {@link JobSpec} a worker runs for a message: its `maxSize` never above the worker's own.
 *
 * @example
 * ```ts
 * import type { Job } from "bullmq";
 * declare const job: Job;
 * const controller = new AbortController();
 * const spec = specOf(parseMessage(job.data), pipeline.config.maxSize, controller.signal);
 * ```
 */
export function specOf(message: QueueMessage, workerMaxSize: number | undefined, signal: AbortSignal): JobSpec {
  const { maxSize, options, ...rest } = message.spec;
  const limit = maxSize === undefined ? workerMaxSize : Math.min(maxSize, workerMaxSize ?? maxSize);
  return {
    ...rest,
    ...(limit !== undefined && { maxSize: limit }),
    ...(options && { options: { ...options } }),
    signal,
  };
}
