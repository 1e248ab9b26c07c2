import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import { messages, routeMessages, setVerbosity, useColor, verbosityOf } from "../../src/cli/log.ts";

describe("CLI messages (consola, one reporter)", () => {
  afterEach(() => {
    routeMessages();
    setVerbosity("normal");
  });

  it("colour on a terminal unless NO_COLOR (not empty) or TERM=dumb; FORCE_COLOR colours a pipe", () => {
    const tty = { isTTY: true };
    assert.equal(useColor(tty, {}), true);
    assert.equal(useColor(tty, { NO_COLOR: "1" }), false);
    assert.equal(useColor(tty, { NO_COLOR: "" }), true, "an empty NO_COLOR does not count");
    assert.equal(useColor(tty, { TERM: "dumb" }), false);
    assert.equal(useColor({ isTTY: false }, {}), false);
    assert.equal(useColor({}, { FORCE_COLOR: "1" }), true);
    assert.equal(useColor({}, { FORCE_COLOR: "0" }), false);
    assert.equal(useColor(tty, { FORCE_COLOR: "1", NO_COLOR: "1" }), false, "NO_COLOR wins");
  });

  it("writes each message as the line it is given; the verbosity decides which are shown; none is collapsed", () => {
    const seen: string[] = [];
    routeMessages((text) => seen.push(text));
    const all = () => {
      messages.error("diskpipe: broken [io-failed]");
      messages.warn("warning: x: careful");
      messages.info("3 converted, 0 failed");
      messages.debug("x: fetch took 3 ms");
    };
    all();
    setVerbosity("quiet");
    all();
    setVerbosity("verbose");
    all();
    assert.deepEqual(seen, [
      "diskpipe: broken [io-failed]\n",
      "warning: x: careful\n",
      "3 converted, 0 failed\n",
      "diskpipe: broken [io-failed]\n",
      "warning: x: careful\n",
      "diskpipe: broken [io-failed]\n",
      "warning: x: careful\n",
      "3 converted, 0 failed\n",
      "x: fetch took 3 ms\n",
    ]);
    seen.length = 0;
    for (let i = 0; i < 20; i++) messages.error("diskpipe: same [io-failed]");
    assert.equal(seen.length, 20, "consola's throttling of repeats is off");
  });

  it("--verbose wins over nothing, --quiet over nothing", () => {
    assert.equal(verbosityOf({}), "normal");
    assert.equal(verbosityOf({ quiet: true }), "quiet");
    assert.equal(verbosityOf({ verbose: true }), "verbose");
  });
});
