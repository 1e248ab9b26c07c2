import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ImageReader } from "../../../src/plugin-api.ts";
import { HEAD_WINDOW, Pace, REAL_CLOCK, type PaceClock } from "../../../src/plugins/compressed/pace.ts";

/** An inner reader whose reads past `written` wait until released; reads say what they were asked. */
function growing(written: { bytes: number }) {
  const held: Array<() => void> = [];
  const inner: ImageReader = {
    size: async () => 1 << 30,
    read: async (offset, length) => {
      if (offset + length > written.bytes) await new Promise<void>((resolve) => held.push(resolve));
      return new Uint8Array(length);
    },
    close: async () => undefined,
  };
  return { inner, release: () => held.splice(0).forEach((resolve) => resolve()) };
}

describe("Pace: the pump waits for the inspector past the head", () => {
  it("the head window is 1 MiB", () => {
    assert.equal(HEAD_WINDOW, 1024 * 1024);
  });

  it("a read past what is written lets the pump go on at once", async () => {
    const written = { bytes: 4096 };
    const { inner, release } = growing(written);
    const pace = new Pace(() => written.bytes);
    const reader = pace.reader(inner);
    const reading = reader.read(4096, 512);
    await pace.permit();
    written.bytes = 8192;
    release();
    assert.equal((await reading).length, 512);
  });

  it("whenFree is told once, when the pump first goes free: a detector's second size() call, or finish", async () => {
    const written = { bytes: 4096 };
    const { inner } = growing(written);
    const pace = new Pace(() => written.bytes);
    let freed = 0;
    pace.whenFree(() => freed++);
    const reader = pace.reader(inner);
    await reader.size();
    assert.equal(freed, 0);
    await reader.size();
    assert.equal(freed, 1);
    pace.finish();
    await reader.size();
    assert.equal(freed, 1);
  });

  it("finish lets every waiting pump go, and every later permit at once", async () => {
    const pace = new Pace(() => 0);
    const first = pace.permit();
    const second = pace.permit();
    pace.finish();
    await Promise.all([first, second]);
    await pace.permit();
  });

  it("a second size() (a detector that needs the end) finishes the pace; the first does not need to", async () => {
    const written = { bytes: 0 };
    const { inner } = growing(written);
    const pace = new Pace(() => written.bytes);
    const reader = pace.reader(inner);
    assert.equal(await reader.size(), 1 << 30);
    assert.equal(await reader.size(), 1 << 30);
    await pace.permit();
  });

  it("an inspector that asks for nothing more (idle) lets the pump go on by itself", async () => {
    const pace = new Pace(() => 0);
    await pace.permit();
    await pace.permit();
  });

  it("reads within what is written pass straight through; close closes the inner reader", async () => {
    let closed = false;
    const pace = new Pace(() => 100);
    const reader = pace.reader({
      size: async () => 100,
      read: async (offset, length) => Uint8Array.from({ length }, (_, i) => offset + i),
      close: async () => void (closed = true),
    });
    assert.deepEqual([...(await reader.read(10, 3))], [10, 11, 12]);
    await reader.close();
    assert.equal(closed, true);
  });
});

/** A clock the test moves by hand: its timers fire only when `advance` passes their time. */
function manualClock(start = 1000) {
  let now = start;
  let timers: Array<{ at: number; wake: () => void; live: boolean }> = [];
  const clock: PaceClock = {
    now: () => now,
    after: (ms, wake) => {
      const timer = { at: now + ms, wake, live: true };
      timers.push(timer);
      return () => void (timer.live = false);
    },
  };
  return {
    clock,
    advance(ms: number) {
      now += ms;
      const due = timers.filter((timer) => timer.live && timer.at <= now);
      timers = timers.filter((timer) => timer.live && timer.at > now);
      for (const timer of due) timer.wake();
    },
    /** Timers still set (not fired, not cancelled). */
    timers: () => timers.filter((timer) => timer.live).length,
  };
}

/** Whether `promise` has settled once the microtasks queued so far and one turn of the event loop have run. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  promise.then(
    () => (done = true),
    () => (done = true),
  );
  await new Promise((resolve) => setImmediate(resolve));
  return done;
}

describe("Pace with a clock the test moves (no real time passes)", () => {
  it("past the head the pump waits while the inspector is busy, and goes on by itself after 50 ms of idleness", async () => {
    const time = manualClock();
    const pace = new Pace(() => 0, time.clock);
    const permit = pace.permit();
    assert.equal(await settled(permit), false, "a fresh pace holds the pump");
    time.advance(49);
    assert.equal(await settled(permit), false, "49 ms of idleness are not enough");
    time.advance(1);
    assert.equal(await settled(permit), true, "50 ms of idleness let the pump go");
    // Idleness finished the pace: later permits pass at once, and no timer is left.
    assert.equal(await settled(pace.permit()), true);
    assert.equal(time.timers(), 0);
  });

  it("reads within what is written keep the pump waiting and restart the idle count; a read ending exactly at the mark is within", async () => {
    const written = { bytes: 4096 };
    const { inner } = growing(written);
    const time = manualClock();
    const pace = new Pace(() => written.bytes, time.clock);
    const reader = pace.reader(inner);
    const permit = pace.permit();
    time.advance(40);
    await reader.read(0, 512);
    await reader.read(3584, 512);
    time.advance(40);
    assert.equal(await settled(permit), false, "40 ms since the last read");
    time.advance(10);
    assert.equal(await settled(permit), true, "50 ms since the last read");
  });

  it("a read past the mark wakes a waiting pump at once; once it is answered the pump waits again", async () => {
    const written = { bytes: 4096 };
    const { inner, release } = growing(written);
    const time = manualClock();
    const pace = new Pace(() => written.bytes, time.clock);
    const reader = pace.reader(inner);
    const first = pace.permit();
    assert.equal(await settled(first), false);
    // Past the mark by one byte (and by far more than its offset alone).
    const reading = reader.read(4000, 97);
    assert.equal(await settled(first), true, "the inspector waits for bytes: the pump goes on");
    assert.equal(await settled(pace.permit()), true, "and goes on while the read waits");
    time.advance(30);
    written.bytes = 8192;
    release();
    await reading;
    const second = pace.permit();
    time.advance(49);
    assert.equal(await settled(second), false, "the read was answered 49 ms ago: the pump waits again");
    time.advance(1);
    assert.equal(await settled(second), true);
  });

  it("a read whose end lies past the mark counts, even when its offset and length are each below it", async () => {
    const written = { bytes: 120 };
    const { inner } = growing(written);
    const time = manualClock();
    const pace = new Pace(() => written.bytes, time.clock);
    void pace.reader(inner).read(100, 50);
    assert.equal(await settled(pace.permit()), true);
  });

  it("the inspector's first size() holds the pump; a second one (a tail detector) frees it for good", async () => {
    const { inner } = growing({ bytes: 0 });
    const time = manualClock();
    const pace = new Pace(() => 0, time.clock);
    const reader = pace.reader(inner);
    const permit = pace.permit();
    await reader.size();
    time.advance(49);
    assert.equal(await settled(permit), false, "one size() call, and 49 ms of idleness since it");
    await reader.size();
    assert.equal(await settled(permit), true);
    assert.equal(await settled(pace.permit()), true);
    assert.equal(time.timers(), 0, "the idle timer was cancelled");
  });

  it("finish wakes every waiting pump at once and frees every later permit, with no time passing", async () => {
    const time = manualClock();
    const pace = new Pace(() => 0, time.clock);
    const waiting = [pace.permit(), pace.permit()];
    assert.equal(time.timers(), 2);
    pace.finish();
    assert.equal(await settled(Promise.all(waiting)), true);
    assert.equal(await settled(pace.permit()), true);
    assert.equal(time.timers(), 0);
  });

  it("with the real clock, finish leaves no timer behind", async () => {
    const timeouts = () => process.getActiveResourcesInfo().filter((kind) => kind === "Timeout").length;
    const before = timeouts();
    const pace = new Pace(() => 0, REAL_CLOCK);
    const permit = pace.permit();
    assert.equal(timeouts(), before + 1, "the pump waits on an idle timer");
    pace.finish();
    await permit;
    assert.equal(timeouts(), before);
  });
});
