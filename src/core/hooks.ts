import { DiskpipeError, isDiskpipeError, toDiskpipeError, type ErrorCode } from "./errors.ts";
import type { JobSpec } from "./job.ts";
import type { Hook, HookName, Plugin, PluginHooks, PluginOption } from "./plugin.ts";

/** Called after each hook handler with its plugin's name and duration. */
export type HookTimer = (hook: HookName, plugin: string, ms: number) => void;

const rank = { pre: 0, normal: 1, post: 2 } as const;

/**
 * Flattens presets, drops falsy entries and sorts plugins: `enforce: "pre"`, normal, `"post"`,
 * then registration order.
 *
 * @example
 * ```ts
 * declare const a: Plugin, b: Plugin, c: Plugin;
 * sortPlugins([a, false, [b, c]]); // [b if pre, …]
 * ```
 */
export function sortPlugins(options: PluginOption[]): Plugin[] {
  const flat = (options.flat(Infinity as 1) as Array<Plugin | false | null | undefined>).filter((p): p is Plugin =>
    Boolean(p),
  );
  return flat
    .map((plugin, index) => ({ plugin, index }))
    .sort((a, b) => rank[a.plugin.enforce ?? "normal"] - rank[b.plugin.enforce ?? "normal"] || a.index - b.index)
    .map(({ plugin }) => plugin);
}

/** The hook points whose handlers run one after another, any of them able to veto by throwing. */
export type SequentialHook = "preFetch" | "verify" | "postConvert" | "upload";

/** The hook points whose handlers each transform what the previous one returned. */
export type ReduceHook = "preConvert";

/**
 * Each hook point's strategy.
 *
 * @example
 * ```ts
 * HOOK_STRATEGIES.preConvert; // "reduce"
 * ```
 */
export const HOOK_STRATEGIES: { readonly [K in HookName]: K extends ReduceHook ? "reduce" : "sequential" } =
  Object.freeze({
    preFetch: "sequential",
    verify: "sequential",
    preConvert: "reduce",
    postConvert: "sequential",
    upload: "sequential",
  });

interface BoundHandler<F> {
  plugin: string;
  owner: Plugin;
  handler: F;
}

/**
 * The handlers of one hook point, in run order (a hook's own `order` refines its plugin's).
 *
 * @example
 * ```ts
 * handlersOf(pipeline.plugins, "verify").map((h) => h.plugin); // the plugins with a verify hook, in run order
 * ```
 */
export function handlersOf<K extends HookName>(plugins: Plugin[], hook: K): BoundHandler<HookFn<K>>[] {
  const found: Array<BoundHandler<HookFn<K>> & { rank: number; index: number }> = [];
  plugins.forEach((plugin, index) => {
    const entry = plugin.hooks?.[hook] as Hook<HookFn<K>> | undefined;
    if (!entry) return;
    const isObject = typeof entry === "object";
    const handler = (isObject ? entry.handler : entry) as HookFn<K>;
    const order = isObject ? entry.order : undefined;
    found.push({ plugin: plugin.name, owner: plugin, handler, rank: order ? rank[order] : 1, index });
  });
  return found.sort((a, b) => a.rank - b.rank || a.index - b.index);
}

/** The function type of a hook point. */
export type HookFn<K extends HookName> = Extract<NonNullable<PluginHooks[K]>, (...args: never[]) => unknown>;

const failureCode: Record<HookName, ErrorCode> = {
  preFetch: "plugin-failed",
  verify: "image-rejected",
  preConvert: "plugin-failed",
  postConvert: "plugin-failed",
  upload: "upload-failed",
};

function wrap(error: unknown, hook: HookName, plugin: string): DiskpipeError {
  if (isDiskpipeError(error)) return toDiskpipeError(error, "plugin-failed", { plugin, hook, stage: hook });
  const message = error instanceof Error ? error.message : String(error);
  return new DiskpipeError(failureCode[hook], `${plugin} (${hook}): ${message}`, {
    plugin,
    hook,
    stage: hook,
    cause: error,
  });
}

async function timed<T>(
  hook: HookName,
  plugin: string,
  timer: HookTimer | undefined,
  run: () => T | Promise<T>,
): Promise<T> {
  const start = performance.now();
  try {
    return await run();
  } catch (error) {
    throw wrap(error, hook, plugin);
  } finally {
    timer?.(hook, plugin, performance.now() - start);
  }
}

/**
 * Sequential strategy: every handler runs in order; any may veto by throwing, which stops the
 * chain with an error naming the plugin and hook.
 *
 * @example
 * ```ts
 * declare const plugins: Plugin[];
 * await runSequential(plugins, "verify", [ctx]);
 * ```
 */
export function runSequential<K extends SequentialHook>(
  plugins: Plugin[],
  hook: K,
  args: Parameters<HookFn<K>>,
  timer?: HookTimer,
): Promise<void> {
  return sequentialOver(handlersOf(plugins, hook), hook, args, timer);
}

async function sequentialOver<K extends SequentialHook>(
  handlers: BoundHandler<HookFn<K>>[],
  hook: K,
  args: Parameters<HookFn<K>>,
  timer?: HookTimer,
): Promise<void> {
  for (const { plugin, handler } of handlers) {
    await timed(hook, plugin, timer, () => (handler as (...a: unknown[]) => unknown)(...args));
  }
}

/**
 * Reduce strategy: each handler receives the value the previous one returned (or the same
 * value when it returned nothing).
 *
 * @example
 * ```ts
 * declare const plugins: Plugin[], initialPlan: ConvertPlan;
 * const plan = await runReduce(plugins, "preConvert", initialPlan, ctx);
 * ```
 */
export function runReduce<V, C>(
  plugins: Plugin[],
  hook: ReduceHook,
  initial: V,
  context: C,
  timer?: HookTimer,
): Promise<V> {
  return reduceOver(handlersOf(plugins, hook), hook, initial, context, timer);
}

async function reduceOver<V, C>(
  handlers: BoundHandler<HookFn<ReduceHook>>[],
  hook: ReduceHook,
  initial: V,
  context: C,
  timer?: HookTimer,
): Promise<V> {
  let value = initial;
  for (const { plugin, handler } of handlers) {
    const next = await timed(hook, plugin, timer, () =>
      (handler as (v: V, c: C) => V | void | Promise<V | void>)(value, context),
    );
    if (next !== undefined) value = next;
  }
  return value;
}

/**
 * First strategy: returns the first candidate the predicate accepts (format resolution).
 *
 * @example
 * ```ts
 * declare const formats: FormatDefinition[], spec: JobSpec;
 * const handler = runFirst(formats, (f: FormatDefinition) => f.claims?.(spec) ?? false);
 * ```
 */
export function runFirst<T>(candidates: Iterable<T>, accepts: (candidate: T) => boolean): T | undefined {
  for (const candidate of candidates) if (accepts(candidate)) return candidate;
  return undefined;
}

/**
 * The hooks of the plugins that apply to one job, each hook point run with its strategy.
 *
 * @example
 * ```ts
 * declare const hooks: PluginHooksRunner, initialPlan: ConvertPlan, timer: HookTimer;
 * await hooks.sequential("verify", [ctx], timer);
 * const plan = await hooks.reduce("preConvert", initialPlan, ctx, timer);
 * ```
 */
export interface PluginHooksRunner {
  sequential<K extends SequentialHook>(hook: K, args: Parameters<HookFn<K>>, timer?: HookTimer): Promise<void>;
  reduce<V, C>(hook: ReduceHook, initial: V, context: C, timer?: HookTimer): Promise<V>;
}

/**
 * A pipeline's hooks: the sorted handler list of each hook point worked out once, then
 * filtered per job to the plugins whose `apply` accepts it.
 *
 * @example
 * ```ts
 * declare const userPlugins: PluginOption[], spec: JobSpec;
 * const hooks = new HookRunner(sortPlugins(userPlugins));
 * await hooks.forJob(spec).sequential("preFetch", [ctx]);
 * ```
 */
export class HookRunner {
  readonly #plugins: Plugin[];
  readonly #handlers = new Map<HookName, BoundHandler<unknown>[]>();

  constructor(plugins: Plugin[]) {
    this.#plugins = plugins;
  }

  /** The hooks of the plugins that apply to a job (`apply(spec)`; a plugin without one always does). */
  forJob(spec: JobSpec): PluginHooksRunner {
    const applied = new Set(this.#plugins.filter((p) => !p.apply || p.apply(spec)));
    const of = <K extends HookName>(hook: K) => this.#of(hook).filter((bound) => applied.has(bound.owner));
    return {
      sequential: (hook, args, timer) => sequentialOver(of(hook), hook, args, timer),
      reduce: (hook, initial, context, timer) => reduceOver(of(hook), hook, initial, context, timer),
    };
  }

  #of<K extends HookName>(hook: K): BoundHandler<HookFn<K>>[] {
    let handlers = this.#handlers.get(hook);
    if (!handlers) {
      handlers = handlersOf(this.#plugins, hook);
      this.#handlers.set(hook, handlers);
    }
    return handlers as BoundHandler<HookFn<K>>[];
  }
}
