import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isDiskpipeError } from "../../src/core/errors.ts";
import { handlersOf, runFirst, runReduce, runSequential, sortPlugins } from "../../src/core/hooks.ts";
import { definePlugin, type Plugin } from "../../src/core/plugin.ts";

const named = (name: string, extra: Partial<Plugin> = {}) => definePlugin({ name, ...extra });

describe("sortPlugins", () => {
  it("orders pre, normal, post, keeping registration order within each", () => {
    const order = sortPlugins([named("n1"), named("post1", { enforce: "post" }), named("pre1", { enforce: "pre" }), named("n2"), named("pre2", { enforce: "pre" })]);
    assert.deepEqual(order.map((p) => p.name), ["pre1", "pre2", "n1", "n2", "post1"]);
  });

  it("flattens presets and drops falsy entries", () => {
    const order = sortPlugins([false, [named("a"), [null, named("b")]], undefined, named("c")]);
    assert.deepEqual(order.map((p) => p.name), ["a", "b", "c"]);
  });

  it("lets a hook's own order refine its plugin's place", () => {
    const plugins = sortPlugins([
      named("a", { hooks: { verify: () => {} } }),
      named("b", { hooks: { verify: { order: "pre", handler: () => {} } } }),
    ]);
    assert.deepEqual(handlersOf(plugins, "verify").map((h) => h.plugin), ["b", "a"]);
  });
});

describe("runSequential", () => {
  it("runs every handler in order and times each", async () => {
    const seen: string[] = [];
    const timed: string[] = [];
    const plugins = [named("a", { hooks: { verify: () => void seen.push("a") } }), named("b", { hooks: { verify: async () => void seen.push("b") } })];
    await runSequential(plugins, "verify", [{} as never], (hook, plugin) => timed.push(`${hook}:${plugin}`));
    assert.deepEqual(seen, ["a", "b"]);
    assert.deepEqual(timed, ["verify:a", "verify:b"]);
  });

  it("stops at a veto and names the plugin and hook", async () => {
    const seen: string[] = [];
    const plugins = [
      named("gate", { hooks: { verify: () => { throw new Error("not in my cloud"); } } }),
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
    const plugins = [named("store", { hooks: { upload: () => { throw new Error("quota"); } } })];
    await assert.rejects(runSequential(plugins, "upload", [{} as never]), { code: "upload-failed", plugin: "store" });
  });
});

describe("runReduce", () => {
  it("passes each handler the value the previous one returned", async () => {
    const plugins = [
      named("double", { hooks: { preConvert: (plan) => ({ ...plan, flags: { coroutines: (plan.flags.coroutines ?? 1) * 2 } }) } }),
      named("noop", { hooks: { preConvert: () => undefined } }),
      named("plus", { hooks: { preConvert: async (plan) => ({ ...plan, flags: { coroutines: (plan.flags.coroutines ?? 0) + 3 } }) } }),
    ];
    const plan = await runReduce(plugins, "preConvert", { flags: { coroutines: 2 } } as never, {});
    assert.equal((plan as { flags: { coroutines: number } }).flags.coroutines, 7);
  });
});

describe("runFirst", () => {
  it("returns the first accepted candidate", () => {
    assert.equal(runFirst([1, 2, 3, 4], (n) => n % 2 === 0), 2);
    assert.equal(runFirst([1, 3], (n) => n % 2 === 0), undefined);
  });
});
