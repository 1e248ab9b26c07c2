import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { failedNameFor, fitKeepingExtension, outputNameFor, sidecarOf, workNameFor } from "../../src/spool/names.ts";
import { nameProblem } from "../../src/spool/paths.ts";

const bytes = (text: string) => Buffer.byteLength(text);
/** Whole UTF-8: no character was cut in half (a lone surrogate does not survive the round trip). */
const whole = (text: string) => Buffer.from(text, "utf8").toString("utf8") === text;

describe("spool names derived from a dropped name", () => {
  it("fit 255 bytes with every suffix written beside them, cut between code points, for every length and width", () => {
    const id = "mx5qgqc5-3a62dd";
    for (const unit of ["a", "é", "日", "😀"]) {
      for (const extension of ["", ".vmdk", `.${"e".repeat(200)}`]) {
        for (let count = 1; bytes(unit.repeat(count) + extension) <= 255; count++) {
          const name = unit.repeat(count) + extension;
          const work = workNameFor(id, name);
          assert.ok(bytes(`${work}.json`) <= 255 && work.startsWith(`${id}--`) && whole(work), work);
          const output = outputNameFor(name, "qcow2");
          assert.ok(bytes(output) <= 255 && output.endsWith(".qcow2") && whole(output), output);
          for (const failed of [failedNameFor(name), failedNameFor(name, id)]) {
            assert.ok(bytes(`${failed}.error.json`) <= 255 && whole(failed), failed);
          }
          if (extension === ".vmdk")
            assert.ok(work.endsWith(".vmdk") && failedNameFor(name).endsWith(".vmdk"), "a short extension is kept");
        }
      }
    }
  });

  it("leave a name that fits as it is, and cut a long extension with the rest", () => {
    assert.equal(failedNameFor("evil.qcow2"), "evil.qcow2");
    assert.equal(outputNameFor("win.vhdx", "qcow2"), "win.qcow2");
    assert.equal(fitKeepingExtension(`a.${"e".repeat(300)}`, 100), `a.${"e".repeat(98)}`);
    assert.equal(sidecarOf(`/s/${"x".repeat(251)}`), undefined, "no sidecar name can exist beside a 251-byte name");
    assert.equal(sidecarOf("/s/disk.vmdk"), "/s/disk.vmdk.json");
  });

  it("say why a name cannot be used", () => {
    assert.equal(nameProblem("disk.vmdk"), undefined);
    assert.match(nameProblem("bell\u0007.vmdk")!, /control characters/);
    assert.match(nameProblem("x".repeat(256))!, /longer than 255 bytes/);
    assert.match(nameProblem("a..b")!, /'\.\.'/);
    assert.match(nameProblem(".")!, /'\.'/);
  });
});

describe("names that would print as something else", () => {
  it("refuses C1 controls, line separators and bidirectional overrides", () => {
    for (const name of ["a\u0085b.vmdk", "a\u2028b.vmdk", "evil\u202egpj.vmdk", "x\u2066y.raw", "csi\u009b.raw"]) {
      assert.match(String(nameProblem(name)), /control characters/, JSON.stringify(name));
    }
    assert.equal(nameProblem("ünïcode ✓.vmdk"), undefined);
  });
});
