import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isDiskpipeError } from "../../src/core/errors.ts";
import {
  HOOK_STRATEGIES,
  HookRunner,
  handlersOf,
  runFirst,
  runReduce,
  runSequential,
  sortPlugins,
} from "../../src/core/hooks.ts";
import type { ConvertPlan, JobSpec } from "../../src/core/job.ts";
import { definePlugin, type Plugin } from "../../src/core/plugin.ts";

const named = (name: string, extra: Partial<Plugin> = {}) => definePlugin({ name, ...extra });

describe("sortPlugins", () => {
  it("orders pre, normal, post, keeping registration order within each", () => {
    const order = sortPlugins([
      named("n1"),
      named("post1", { enforce: "post" }),
      named("pre1", { enforce: "pre" }),
      named("n2"),
      named("pre2", { enforce: "pre" }),
    ]);
    assert.deepEqual(
      order.map((p) => p.name),
      ["pre1", "pre2", "n1", "n2", "post1"],
    );
  });

  it("flattens presets and drops falsy entries", () => {
    const order = sortPlugins([false, [named("a"), [null, named("b")]], undefined, named("c")]);
    assert.deepEqual(
      order.map((p) => p.name),
      ["a", "b", "c"],
    );
  });

  it("lets a hook's own order refine its plugin's place", () => {
    const plugins = sortPlugins([
      named("a", { hooks: { verify: () => {} } }),
      named("b", { hooks: { verify: { order: "pre", handler: () => {} } } }),
    ]);
    assert.deepEqual(
      handlersOf(plugins, "verify").map((h) => h.plugin),
      ["b", "a"],
    );
  });
});

describe("runSequential", () => {
  it("runs every handler in order and times each", async () => {
    const seen: string[] = [];
    const timed: string[] = [];
    const plugins = [
      named("a", { hooks: { verify: () => void seen.push("a") } }),
      named("b", { hooks: { verify: async () => void seen.push("b") } }),
    ];
    await runSequential(plugins, "verify", [{} as never], (hook, plugin) => timed.push(`${hook}:${plugin}`));
    assert.deepEqual(seen, ["a", "b"]);
    assert.deepEqual(timed, ["verify:a", "verify:b"]);
  });

  it("stops at a veto and names the plugin and hook", async () => {
    const seen: string[] = [];
    const plugins = [
      named("gate", {
        hooks: {
          verify: () => {
            throw new Error("not in my cloud");
          },
        },
      }),
      named("after", { hooks: { verify: () => void seen.push("after") } }),
    ];
    await assert.rejects(runSequential(plugins, "verify", [{} as never]), (error: unknown) => {
      assert.ok(isDiskpipeError(error));
      assert.equal(error.code, "image-rejected");
      assert.equal(error.exitCode, 3);
      assert.equal(error.plugin, "gate");
      assert.equal(error.hook, "verify");
      assert.match(error.message, /gate \(verify\): not in my cloud/);
      return true;
    });
    assert.deepEqual(seen, []);
  });

  it("reports an upload veto as upload-failed", async () => {
    const plugins = [
      named("store", {
        hooks: {
          upload: () => {
            throw new Error("quota");
          },
        },
      }),
    ];
    await assert.rejects(runSequential(plugins, "upload", [{} as never]), { code: "upload-failed", plugin: "store" });
  });
});

describe("runReduce", () => {
  it("passes each handler the value the previous one returned", async () => {
    const plugins = [
      named("double", {
        hooks: { preConvert: (plan) => ({ ...plan, flags: { coroutines: (plan.flags.coroutines ?? 1) * 2 } }) },
      }),
      named("noop", { hooks: { preConvert: () => undefined } }),
      named("plus", {
        hooks: { preConvert: async (plan) => ({ ...plan, flags: { coroutines: (plan.flags.coroutines ?? 0) + 3 } }) },
      }),
    ];
    const plan = await runReduce(plugins, "preConvert", { flags: { coroutines: 2 } } as never, {});
    assert.equal((plan as { flags: { coroutines: number } }).flags.coroutines, 7);
  });
});

describe("runFirst", () => {
  it("returns the first accepted candidate", () => {
    assert.equal(
      runFirst([1, 2, 3, 4], (n) => n % 2 === 0),
      2,
    );
    assert.equal(
      runFirst([1, 3], (n) => n % 2 === 0),
      undefined,
    );
  });
});

describe("HookRunner", () => {
  const spec = (to: string): JobSpec => ({ source: "in.raw", destination: "out", to });

  it("names each hook point's strategy", () => {
    assert.deepEqual(HOOK_STRATEGIES, {
      preFetch: "sequential",
      verify: "sequential",
      preConvert: "reduce",
      postConvert: "sequential",
      upload: "sequential",
    });
  });

  it("runs for a job only the plugins whose apply accepts it, in the sorted order", async () => {
    const calls: string[] = [];
    const record = (name: string) => ({
      verify: () => void calls.push(name),
      preConvert: (plan: ConvertPlan) => (calls.push(`${name}:plan`), plan),
    });
    const hooks = new HookRunner(
      sortPlugins([
        named("always", { hooks: record("always") }),
        named("qcow2-only", { apply: (s) => s.to === "qcow2", hooks: record("qcow2-only") }),
        named("first", { enforce: "pre", hooks: record("first") }),
      ]),
    );
    await hooks.forJob(spec("raw")).sequential("verify", [{} as never]);
    assert.deepEqual(calls.splice(0), ["first", "always"]);
    const timed: string[] = [];
    await hooks
      .forJob(spec("qcow2"))
      .sequential("verify", [{} as never], (hook, plugin) => timed.push(`${hook}:${plugin}`));
    assert.deepEqual(calls.splice(0), ["first", "always", "qcow2-only"]);
    assert.deepEqual(timed, ["verify:first", "verify:always", "verify:qcow2-only"]);
    await hooks.forJob(spec("raw")).reduce("preConvert", {} as never, {});
    assert.deepEqual(calls.splice(0), ["first:plan", "always:plan"]);
  });

  it("works out each hook point's handler list once, not per job", async () => {
    let reads = 0;
    const plugin: Plugin = {
      name: "counted",
      get hooks() {
        reads++;
        return { verify: () => {}, upload: () => {} };
      },
    };
    const hooks = new HookRunner([plugin]);
    for (let job = 0; job < 3; job++) {
      const forJob = hooks.forJob(spec("raw"));
      await forJob.sequential("verify", [{} as never]);
      await forJob.sequential("upload", [{} as never]);
    }
    assert.equal(reads, 2, "once for verify, once for upload");
  });
});
