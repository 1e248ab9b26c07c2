/**
 * Detection parity with qemu: whatever the inspector calls raw and safe, qemu-img's own format
 * probe (`qemu-img info` without `-f`) must call raw too, or a later tool that probes the image
 * would open it as something else (a VMDK descriptor naming a host file, say). The probe cases
 * cover every probe qemu-img 7.2 runs except dmg's, which matches a ".dmg" file name and so
 * never applies to qemuProbe's private copies (always named "image"). Fuzzed mutants get the
 * same check in property.test.ts.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { inspectFile as inspectBare } from "../../../src/core/inspect/index.ts";
import { inspectFile, inspectImage } from "../../helpers/inspect.ts";
import { withPlugins } from "./plugin-detectors.ts";
import type { InspectResult } from "../../../src/core/inspect/types.ts";
import { buildCorpus, type CorpusImage } from "./corpus.ts";
import { calledRaw, parityFailure, qemuProbe, type QemuProbe } from "./qemu-probe.ts";
import { memoryReader } from "./readers.ts";

/** Fewer images than this means the corpus failed to build, not that parity holds. */
const MIN_IMAGES = 100;
const MIN_CALLED_RAW = 15;
const PARALLEL = 8;

interface Checked {
  image: CorpusImage;
  result: InspectResult;
  /** The verdict of the core's detectors alone: no format plugin loaded. */
  bare: InspectResult;
  probe: QemuProbe;
}

let dir: string;
let checked: Checked[];

async function check(images: CorpusImage[]): Promise<Checked[]> {
  const out: Checked[] = [];
  for (let i = 0; i < images.length; i += PARALLEL) {
    const batch = images.slice(i, i + PARALLEL);
    out.push(
      ...(await Promise.all(
        batch.map(async (image) => ({
          image,
          result: await inspectFile(image.path, withPlugins(image.options)),
          bare: await inspectBare(image.path, { ...image.options, detectors: [] }),
          probe: await qemuProbe(image.path),
        })),
      )),
    );
  }
  return out;
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "diskpipe-parity-"));
  checked = await check(await buildCorpus(dir));
});

after(() => rmSync(dir, { recursive: true, force: true }));

async function inspectBytes(text: string): Promise<InspectResult> {
  const bytes = Uint8Array.from(Buffer.from(text, "latin1"));
  return inspectImage(memoryReader(bytes.length, [{ offset: 0, bytes }]));
}

const ISSUE_DESCRIPTOR = 'version=1\ncreateType="monolithicFlat"\nRW 8 FLAT "/etc/passwd" 0\n';

test("a VMDK descriptor after lines of spaces is a VMDK naming a host file, not raw (issue 16, item 7)", async () => {
  for (const lead of ["   \n", "  \r\n", "  \n \r\n   \n", "# comment\n  \n"]) {
    const result = await inspectBytes(`${lead}${ISSUE_DESCRIPTOR}`);
    assert.equal(result.format, "vmdk", JSON.stringify(lead));
    assert.equal(result.safe, false);
    assert.ok(
      result.problems.some((p) => p.code === "vmdk-extent-file"),
      JSON.stringify(result.problems),
    );
  }
});

test("text qemu's descriptor probe refuses stays raw", async () => {
  for (const lead of ["\n", "\t\n", "  ", "  \r\r\n", " \t\n", "\r\n"]) {
    const result = await inspectBytes(`${lead}${ISSUE_DESCRIPTOR}`);
    assert.equal(result.format, "raw", JSON.stringify(lead));
  }
});

test("every corpus image and probe case the inspector calls raw is raw to qemu's probe", (t) => {
  const raw = checked.filter((c) => calledRaw(c.result));
  t.diagnostic(`${checked.length} images, ${raw.length} called raw`);
  const failures = checked.flatMap((c) => {
    const failure = parityFailure(c.result, c.probe);
    return failure ? [`${c.image.name}: ${failure}`] : [];
  });
  assert.deepEqual(failures, []);
  assert.ok(checked.length >= MIN_IMAGES, `only ${checked.length} images were checked`);
  assert.ok(raw.length >= MIN_CALLED_RAW, `only ${raw.length} images were called raw`);
});

test("with no format plugin loaded, what the core calls raw is raw to qemu's probe, and every format qemu probes is refused", (t) => {
  const failures = checked.flatMap((c) => {
    const failure = parityFailure(c.bare, c.probe);
    return failure ? [`${c.image.name}: ${failure}`] : [];
  });
  assert.deepEqual(failures, []);
  const refused = checked.filter((c) => c.bare.problems.some((p) => p.code === "unsupported-format"));
  t.diagnostic(`${refused.length} of ${checked.length} images refused as unsupported-format by the core alone`);
  const probedAs = new Set(refused.flatMap((c) => ("format" in c.probe ? [c.probe.format] : [])));
  for (const format of ["qcow2", "vmdk", "vhdx", "vdi", "vpc", "parallels", "luks"])
    assert.ok(probedAs.has(format), `no refused image that qemu probes as ${format}`);
  for (const c of checked.filter((c) => "format" in c.probe && c.probe.format !== "raw")) {
    assert.equal(
      c.bare.safe,
      false,
      `${c.image.name}: qemu probes it as ${"format" in c.probe ? c.probe.format : ""}, the core alone must refuse it`,
    );
  }
});

test("each probe case gets from qemu's probe the answer it was built for", () => {
  const cases = checked.filter((c) => c.image.probe !== undefined);
  assert.ok(cases.length >= 30, `only ${cases.length} probe cases`);
  const wrong = cases.flatMap((c) => {
    const got = "format" in c.probe ? c.probe.format : "error";
    return got === c.image.probe ? [] : [`${c.image.name}: qemu's probe gave ${got}, expected ${c.image.probe}`];
  });
  assert.deepEqual(wrong, []);
  const probed = new Set(cases.map((c) => c.image.probe));
  for (const format of ["vmdk", "bochs", "cloop", "qcow", "raw", "error"])
    assert.ok(probed.has(format), `no case for ${format}`);
});
