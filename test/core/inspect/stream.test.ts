import assert from "node:assert/strict";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { inspectImage } from "../../helpers/inspect.ts";
import { openFileReader, type ImageReader } from "../../../src/core/io/reader.ts";
import { makeIso, patch, peek, qemuImg } from "./corpus-tools.ts";
import { stalledDownload } from "./readers.ts";

const HEAD = 256 * 1024;
let dir: string;
let backing: string;
let clean: string;
let polyglot: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), "diskpipe-inspect-stream-"));
  qemuImg("create", "-q", "-f", "qcow2", join(dir, "base.qcow2"), "64M");
  backing = join(dir, "overlay.qcow2");
  qemuImg("create", "-q", "-f", "qcow2", "-b", join(dir, "base.qcow2"), "-F", "qcow2", backing, "64M");
  clean = join(dir, "clean.qcow2");
  qemuImg("create", "-q", "-f", "qcow2", clean, "64M");
  polyglot = makeIso(join(dir, "polyglot.iso"), 1024);
  patch(polyglot, 0, peek(clean, 0, 512));
});

after(() => rmSync(dir, { recursive: true, force: true }));

/** Inspects `path` as a download that delivered only its first 256 KiB. */
async function inspectStalled(path: string, sizeKnown: boolean, claimed?: string) {
  const file = await openFileReader(path);
  const download = stalledDownload(file, HEAD, { sizeKnown });
  try {
    const result = await inspectImage(download.reader as ImageReader, claimed ? { claimed } : {});
    return { result, stalledReads: download.stalledReads() };
  } finally {
    await file.close();
  }
}

test("a qcow2 with a backing file is rejected from its head, never reading the tail", { timeout: 5000 }, async () => {
  const { result, stalledReads } = await inspectStalled(backing, true);
  assert.equal(result.safe, false);
  assert.deepEqual(
    result.problems.map((p) => p.code),
    ["qcow2-backing-file"],
  );
  assert.equal(result.stoppedEarly, true);
  assert.equal(stalledReads, 0);
  assert.equal(result.actualSize, statSync(backing).size);
});

test("it is rejected even when the download's size is not known yet (actualSize -1)", { timeout: 5000 }, async () => {
  const { result, stalledReads } = await inspectStalled(backing, false);
  assert.deepEqual(
    result.problems.map((p) => p.code),
    ["qcow2-backing-file"],
  );
  assert.equal(result.actualSize, -1);
  assert.equal(stalledReads, 0);
});

test("a head polyglot and a claim the head already contradicts also stop early", { timeout: 5000 }, async () => {
  const poly = await inspectStalled(polyglot, true);
  assert.deepEqual(
    poly.result.problems.map((p) => p.code),
    ["polyglot"],
  );
  assert.equal(poly.result.stoppedEarly, true);
  const claim = await inspectStalled(clean, true, "raw");
  assert.deepEqual(
    claim.result.problems.map((p) => p.code),
    ["format-mismatch"],
  );
  assert.equal(claim.stalledReads, 0);
});

test("a clean head goes on to the tail detectors", { timeout: 5000 }, async () => {
  const file = await openFileReader(clean);
  try {
    const result = await inspectImage(file);
    assert.equal(result.safe, true);
    assert.equal(result.stoppedEarly, undefined);
  } finally {
    await file.close();
  }
});
