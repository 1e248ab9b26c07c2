import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseMessage } from "../../../src/queue/message.ts";
import { parseSidecar } from "../../../src/spool/sidecar.ts";
import { failure } from "../../helpers/failure.ts";

/** Whether `options` (as parsed) lets a job read the files a descriptor names, own or inherited. */
function asksForFiles(options: object | undefined): boolean {
  return (options as { ovfFiles?: unknown } | undefined)?.ovfFiles === true;
}

/** No spool user or queue writer can ask for the files a plain .ovf names (ovfFiles). Instant. */
describe("ovfFiles is the operator's alone", () => {
  const smuggled = [
    '{"options":{"ovfFiles":true}}',
    '{"ovfFiles":true}',
    '{"options":{"__proto__":{"ovfFiles":true}}}',
    '{"__proto__":{"options":{"ovfFiles":true}}}',
    '{"options":{"constructor":{"prototype":{"ovfFiles":true}}}}',
  ];

  for (const text of smuggled) {
    it(`a sidecar ${text} is refused`, async () => {
      let parsed: ReturnType<typeof parseSidecar> | undefined;
      try {
        parsed = parseSidecar(text, "web.ovf.json");
      } catch (error) {
        const refused = await failure(Promise.reject(error));
        assert.equal(refused.code, "usage");
        assert.ok(!refused.message.includes("\n"), refused.message);
      }
      assert.ok(!asksForFiles(parsed?.options));
      assert.equal(parsed, undefined, "the sidecar was accepted");
      assert.ok(!asksForFiles({}), "Object.prototype was not polluted");
    });

    it(`a queue message with spec ${text} is refused`, async () => {
      const spec = { source: "/srv/in/web.ovf", destination: "/srv/out/", to: "qcow2", ...JSON.parse(text) };
      let parsed: ReturnType<typeof parseMessage> | undefined;
      try {
        parsed = parseMessage(JSON.parse(JSON.stringify({ v: 1, spec })));
      } catch (error) {
        const refused = await failure(Promise.reject(error));
        assert.equal(refused.code, "usage");
      }
      assert.ok(!asksForFiles(parsed?.spec.options));
      assert.equal(parsed, undefined, "the message was accepted");
      assert.ok(!asksForFiles({}), "Object.prototype was not polluted");
    });
  }
});
