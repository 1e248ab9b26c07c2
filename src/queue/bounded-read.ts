import type { Redis } from "ioredis";
import type { JobFields } from "./job-view.ts";

/**
 * The most a reader takes of each field of a job's hash, in bytes. Whoever can write the queue
 * writes these fields: a longer one is not read at all (Redis answers its length instead), so a
 * 50 MB `failedReason` costs the dashboard and `submit --wait` a number, not 50 MB. Honest
 * values are far smaller: a message is at most two 4 KiB locations and a few fields, a reason
 * one line, a progress message or a result a few KiB (the inspector's details included).
 */
export const FIELD_LIMITS = {
  data: 64 * 1024,
  progress: 256 * 1024,
  returnvalue: 256 * 1024,
  failedReason: 8 * 1024,
  timestamp: 32,
  finishedOn: 32,
  attemptsMade: 32,
  ats: 32,
} as const;

/**
 * The same for each job of a list (the dashboard's jobs page reads up to 500 jobs at once: at
 * most 15 MB, however hostile the queue): a field above these is left out of that job's row
 * and read on its own page within {@link FIELD_LIMITS}.
 */
export const LIST_FIELD_LIMITS: Record<Field, number> = {
  data: 12 * 1024,
  progress: 8 * 1024,
  returnvalue: 8 * 1024,
  failedReason: 2 * 1024,
  timestamp: 32,
  finishedOn: 32,
  attemptsMade: 32,
  ats: 32,
};

/** How many journal lines a reader takes (the newest; a job writes a few per attempt), and the longest line it keeps. */
export const LOG_LIMITS = { lines: 200, lineBytes: 16 * 1024 } as const;

type Field = keyof typeof FIELD_LIMITS;
const FIELDS = Object.keys(FIELD_LIMITS) as Field[];

// KEYS[1] the job's hash, KEYS[2] its log list; ARGV[1] how many of the newest log lines, ARGV[2]
// the longest line kept, then field and limit pairs. Answers false for a job that does not exist
// (or a key of another type);
// else each field's value (nil when absent, its length when longer than its limit), the number
// of log lines, and the newest lines (a line longer than its limit as its length).
const SCRIPT = `
if redis.call("TYPE", KEYS[1]).ok ~= "hash" then return false end
local out = {}
for i = 3, #ARGV, 2 do
  local length = redis.call("HSTRLEN", KEYS[1], ARGV[i])
  if length > tonumber(ARGV[i + 1]) then out[#out + 1] = length
  else out[#out + 1] = redis.call("HGET", KEYS[1], ARGV[i]) end
end
local count = 0
if redis.call("TYPE", KEYS[2]).ok == "list" then count = redis.call("LLEN", KEYS[2]) end
out[#out + 1] = count
local wanted = tonumber(ARGV[1])
if wanted > 0 and count > 0 then
  for _, line in ipairs(redis.call("LRANGE", KEYS[2], -wanted, -1)) do
    if #line > tonumber(ARGV[2]) then out[#out + 1] = #line else out[#out + 1] = line end
  end
end
return out
`;

/** A client with the script defined: EVALSHA (the script's text is sent once per connection, not with every job of a list). */
type ScriptClient = { diskpipeReadJob(...args: string[]): Promise<unknown> };
const defined = new WeakSet<Redis>();

function withScript(redis: Redis): ScriptClient {
  if (!defined.has(redis)) {
    redis.defineCommand("diskpipeReadJob", { numberOfKeys: 2, lua: SCRIPT });
    defined.add(redis);
  }
  return redis as unknown as ScriptClient;
}

/**
 * A job as a bounded read finds it: the fields a view needs, parsed, with an oversized or
 * malformed one left out (and named in `omitted`).
 *
 * @example
 * ```ts
 * const job: BoundedJob = { id: "dp-1", data: { v: 1 }, progress: undefined, timestamp: 0, attemptsMade: 0, attemptsStarted: 0, omitted: [] };
 * ```
 */
export interface BoundedJob extends JobFields {
  /** Fields that were too long to read (`failedReason: 52428800 bytes`) or not valid JSON. */
  omitted: string[];
}

/**
 * Reads one job within bounds, in one Redis call: the fields a view shows ({@link FIELD_LIMITS},
 * or tighter `limits` such as {@link LIST_FIELD_LIMITS})
 * and the newest `lines` of its journal ({@link LOG_LIMITS}), from the queue whose keys start
 * with `queueKey` (`prefix:name`). Undefined when the job does not exist.
 *
 * @example
 * ```ts
 * declare const redis: Redis;
 * const found = await readJobBounded(redis, "bull:diskpipe", "dp-1", { lines: 500 });
 * if (found) console.log(found.job.omitted, found.logs.length, found.logCount);
 * ```
 */
export async function readJobBounded(
  redis: Redis,
  queueKey: string,
  id: string,
  options: { lines: number; limits?: Record<Field, number> },
): Promise<{ job: BoundedJob; logs: string[]; logCount: number } | undefined> {
  const key = `${queueKey}:${id}`;
  const bounds = options.limits ?? FIELD_LIMITS;
  const limits = FIELDS.flatMap((field) => [field, String(Math.min(bounds[field], FIELD_LIMITS[field]))]);
  const lines = Math.max(0, Math.min(options.lines, LOG_LIMITS.lines));
  const reply = await withScript(redis).diskpipeReadJob(
    key,
    `${key}:logs`,
    String(lines),
    String(LOG_LIMITS.lineBytes),
    ...limits,
  );
  if (!Array.isArray(reply)) return undefined;
  const omitted: string[] = [];
  const values = new Map<Field, string>();
  FIELDS.forEach((field, i) => {
    const value: unknown = reply[i];
    if (typeof value === "number") omitted.push(`${field}: ${value} bytes`);
    else if (typeof value === "string") values.set(field, value);
  });
  const json = (field: Field) => {
    const value = values.get(field);
    if (value === undefined) return undefined;
    try {
      return JSON.parse(value) as unknown;
    } catch {
      omitted.push(`${field}: not JSON`);
      return undefined;
    }
  };
  const number = (field: Field) => {
    const value = Number(values.get(field));
    return Number.isFinite(value) ? value : 0;
  };
  const finishedOn = number("finishedOn");
  const job: BoundedJob = {
    id,
    data: json("data"),
    progress: json("progress"),
    returnvalue: json("returnvalue"),
    timestamp: number("timestamp"),
    attemptsMade: number("attemptsMade"),
    attemptsStarted: number("ats"),
    ...(values.has("failedReason") && { failedReason: values.get("failedReason") }),
    ...(finishedOn > 0 && { finishedOn }),
    omitted,
  };
  const tail = reply.slice(FIELDS.length);
  // Stryker disable next-line ConditionalExpression: the script always puts the count (an integer) there
  const logCount = typeof tail[0] === "number" ? tail[0] : 0;
  // Stryker disable next-line MethodExpression: the count before the lines is a number, which the filter drops anyway
  const logs = tail.slice(1).flatMap((line: unknown) => (typeof line === "string" ? [line] : []));
  return { job, logs, logCount };
}
