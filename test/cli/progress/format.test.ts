import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  bar,
  formatDuration,
  jobLine,
  nameWidthFor,
  overallLine,
  stageDetails,
} from "../../../src/cli/progress/format.ts";

describe("progress formatting", () => {
  it("durations: seconds, minutes and seconds, hours and minutes", () => {
    assert.equal(formatDuration(0.4), "0 s");
    assert.equal(formatDuration(17), "17 s");
    assert.equal(formatDuration(59.6), "1 min 00 s");
    assert.equal(formatDuration(130), "2 min 10 s");
    assert.equal(formatDuration(3 * 3600 + 5 * 60 + 9), "3 h 05 min");
    assert.equal(formatDuration(-5), "0 s");
  });

  it("bars: the share done in # of the width, clamped to 0..1", () => {
    assert.equal(bar(0.5, 10), "[#####-----]");
    assert.equal(bar(0, 4), "[----]");
    assert.equal(bar(1.7, 4), "[####]");
    assert.equal(bar(-1, 4), "[----]");
  });

  it("stage details: only what is known, no ETA once all bytes are there", () => {
    assert.equal(stageDetails({ bytes: 512, total: 1024, rate: 256, eta: 2 }), "512 B of 1 KiB, 256 B/s, ETA 2 s");
    assert.equal(stageDetails({ bytes: 3 * 1024 ** 2 }), "3 MiB");
    assert.equal(stageDetails({ bytes: 1024, total: 1024, rate: 256, eta: 0 }), "1 KiB of 1 KiB, 256 B/s");
    assert.equal(stageDetails({}), "");
  });

  it("a job's line: name column, stage, bar and percentage when the stage has a total, cut to the terminal", () => {
    const row = { id: "j", name: "disk.vmdk", stage: "convert" as const, bytes: 512, total: 1024, rate: 256, eta: 2 };
    assert.equal(
      jobLine(row, 100, 9),
      "disk.vmdk  convert  [############------------]   50%  512 B of 1 KiB, 256 B/s, ETA 2 s",
    );
    assert.equal(jobLine({ id: "j", name: "a.img", stage: "inspect" }, 80, 9), "a.img      inspect");
    assert.equal(
      jobLine({ ...row, name: "a-very-long-name-of-a-disk-image.vmdk" }, 80, 12).slice(0, 15),
      "a-very-long…  c",
    );
    const cut = jobLine(row, 30, 9);
    assert.equal([...cut].length, 29);
    assert.ok(cut.endsWith("…"));
  });

  it("the total line: its bar under the jobs' bars, done and failed of all, summed rate, ETA once known", () => {
    const job = jobLine({ id: "j", name: "disk.vmdk", stage: "convert", bytes: 1, total: 2 }, 120, 9);
    const total = overallLine({ jobs: 8, done: 3, failed: 1, fraction: 0.5, rate: 1024, eta: 130 }, 120, 9);
    assert.equal(
      total,
      "total               [############------------]   50%  3 of 8 done, 1 failed, 1 KiB/s, ETA 2 min 10 s",
    );
    assert.equal(total.indexOf("["), job.indexOf("["));
    assert.equal(
      overallLine({ jobs: 2, done: 0, failed: 0, fraction: 0, rate: 0 }, 120, 0),
      "total      [------------------------]    0%  0 of 2 done",
    );
  });

  it("the name column: the longest name, at most 28", () => {
    assert.equal(nameWidthFor([]), 0);
    assert.equal(
      nameWidthFor([
        { id: "a", name: "ab", stage: "fetch" },
        { id: "b", name: "日本語.img", stage: "fetch" },
      ]),
      7,
    );
    assert.equal(nameWidthFor([{ id: "a", name: "x".repeat(40), stage: "fetch" }]), 28);
  });
});
