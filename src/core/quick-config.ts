/**
 * The defaults the configuration schema fills in, in one place for the schema and the quick
 * path.
 *
 * @example
 * ```ts
 * CONFIG_DEFAULTS.fetch.timeoutMs; // 30000
 * ```
 */
export const CONFIG_DEFAULTS = Object.freeze({
  jobs: 2,
  fetch: Object.freeze({ timeoutMs: 30_000, retries: 5, backoffMs: 500 }),
});

const HOOKS = new Set(["preFetch", "verify", "preConvert", "postConvert", "upload"]);
const FORMAT_NAME = /^[a-z0-9][a-z0-9-]*$/;
const QUICK_KEYS = new Set(["plugins", "jobs", "workDir"]);

type Loose = Record<string, unknown>;

const isObject = (value: unknown): value is Loose => typeof value === "object" && value !== null && !Array.isArray(value);
const isOrder = (value: unknown) => value === undefined || value === "pre" || value === "post";

function isHook(value: unknown): boolean {
  if (typeof value === "function") return true;
  if (!isObject(value) || typeof value.handler !== "function" || !isOrder(value.order)) return false;
  return Object.keys(value).every((key) => key === "handler" || key === "order");
}

function isPlugin(value: unknown): value is Loose {
  if (!isObject(value) || typeof value.name !== "string" || value.name.length === 0) return false;
  if (!isOrder(value.enforce) || (value.apply !== undefined && typeof value.apply !== "function")) return false;
  const { hooks, formats } = value;
  if (hooks !== undefined && !(isObject(hooks) && Object.entries(hooks).every(([key, hook]) => HOOKS.has(key) && (hook === undefined || isHook(hook))))) return false;
  if (formats === undefined) return true;
  return (
    Array.isArray(formats) &&
    formats.every((f) => isObject(f) && typeof f.name === "string" && FORMAT_NAME.test(f.name) && (f.qemuDriver === undefined || typeof f.qemuDriver === "string"))
  );
}

/**
 * The quick path of `resolveConfig`: a configuration of only `plugins`, `jobs` and `workDir`
 * (diskpipe's own, and most users') is checked with plain code, without loading zod (about
 * 100 ms of every command's start-up). Returns undefined for anything else, or anything in
 * doubt, and the schema then decides and explains. It never accepts what the schema refuses,
 * and returns what the schema would (a property test holds it to that), except that plugins'
 * functions are kept as they are rather than wrapped.
 *
 * @example
 * ```ts
 * quickResolve({ plugins: [luks()], jobs: 4 }); // { plugins: [luks], jobs: 4, qemuImg: {}, fetch: {…}, throttle: {} }
 * quickResolve({ jobs: 0 });                     // undefined: the schema explains
 * ```
 */
export function quickResolve(config: unknown): Loose | undefined {
  if (!isObject(config) || Object.getPrototypeOf(config) !== Object.prototype) return undefined;
  if (!Object.keys(config).every((key) => QUICK_KEYS.has(key))) return undefined;
  const { plugins = [], jobs = CONFIG_DEFAULTS.jobs } = config;
  if (typeof jobs !== "number" || !Number.isSafeInteger(jobs) || jobs < 1 || jobs > 64) return undefined;
  if (config.workDir !== undefined && typeof config.workDir !== "string") return undefined;
  if (!Array.isArray(plugins)) return undefined;
  const flat = (plugins.flat(Infinity) as unknown[]).filter(Boolean);
  if (!flat.every(isPlugin)) return undefined;
  return {
    plugins: flat.map((plugin) => ({ ...plugin })),
    ...("workDir" in config && { workDir: config.workDir }),
    jobs,
    qemuImg: {},
    fetch: { ...CONFIG_DEFAULTS.fetch },
    throttle: {},
  };
}
