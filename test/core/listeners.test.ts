import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Listeners } from "../../src/core/listeners.ts";
import { SpoolEvents } from "../../src/spool/events.ts";

describe("Listeners", () => {
  it("calls every listener in the order added, until it is removed", () => {
    const listeners = new Listeners<number>();
    const heard: string[] = [];
    const offA = listeners.on((n) => heard.push(`a${n}`));
    listeners.on((n) => heard.push(`b${n}`));
    listeners.emit(1);
    offA();
    listeners.emit(2);
    assert.deepEqual(heard, ["a1", "b1", "b2"]);
  });

  it("goes on to the next listener when one throws, and does not throw itself", () => {
    const listeners = new Listeners<string>();
    const heard: string[] = [];
    listeners.on(() => {
      throw new Error("broken listener");
    });
    listeners.on((event) => heard.push(event));
    assert.doesNotThrow(() => listeners.emit("done"));
    assert.deepEqual(heard, ["done"]);
  });

  it("is what the spool's events and the pipeline's job events are made of", async () => {
    assert.ok(new SpoolEvents() instanceof Listeners);
    const { createPipeline } = await import("../../src/create-pipeline.ts");
    const pipeline = createPipeline({ plugins: [] });
    const off = pipeline.on(() => {
      throw new Error("a listener's failure must not fail anything");
    });
    assert.equal(typeof off, "function");
    assert.equal(off(), true);
  });
});
