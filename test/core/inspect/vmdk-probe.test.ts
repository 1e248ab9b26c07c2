import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { PROBE_WINDOW, qemuProbesDescriptor } from "../../../src/core/inspect/vmdk-probe.ts";

/** What qemu 7.2's VMDK probe makes of these bytes. */
const probes = (text: string) => qemuProbesDescriptor(Buffer.from(text, "latin1"));

/** A comment line of exactly `length` bytes, its LF included. */
const comment = (length: number) => `#${"x".repeat(length - 2)}\n`;

describe("qemu's VMDK text probe", () => {
  test("the window is qemu's 512-byte probe buffer", () => {
    assert.equal(PROBE_WINDOW, 512);
  });

  test("version 1..3 ending in LF or CRLF", () => {
    assert.equal(probes("version=1\n"), true);
    assert.equal(probes("version=2\r\n"), true);
    assert.equal(probes("version=3\nrest"), true);
    assert.equal(probes("version=0\n"), false);
    assert.equal(probes("version=4\n"), false);
    assert.equal(probes("version=1"), false);
    assert.equal(probes("version=1\r"), false);
    assert.equal(probes("version=1\rx"), false);
    assert.equal(probes("version=1x\n"), false);
    assert.equal(probes("version=\n"), false);
    assert.equal(probes("version =1\n"), false);
    assert.equal(probes("version:1\n"), false);
    assert.equal(probes("xxxxxxxx1\n"), false);
  });

  test("comment lines and lines of spaces are skipped", () => {
    assert.equal(probes("# Disk DescriptorFile\nversion=1\n"), true);
    assert.equal(probes("#\n#\nversion=1\n"), true);
    assert.equal(probes("  \nversion=1\n"), true);
    assert.equal(probes(" \r\n#c\n   \nversion=1\n"), true);
  });

  test("anything else before the version line makes it raw", () => {
    assert.equal(probes(""), false);
    assert.equal(probes("\nversion=1\n"), false);
    assert.equal(probes("\r\nversion=1\n"), false);
    assert.equal(probes("\tversion=1\n"), false);
    assert.equal(probes(" version=1\n"), false);
    assert.equal(probes("  \r\r\nversion=1\n"), false);
    assert.equal(probes("  x\nversion=1\n"), false);
    assert.equal(probes("  !version=1\n"), false);
    assert.equal(probes(" \r!version=1\n"), false);
    assert.equal(probes("CID=1\nversion=1\n"), false);
    assert.equal(probes("# no newline"), false);
    assert.equal(probes("    "), false);
  });

  test("the version line must end inside the window", () => {
    // LF at byte 511: inside. At byte 512: outside.
    assert.equal(probes(`${comment(502)}version=1\n`), true);
    assert.equal(probes(`${comment(503)}version=1\n`), false);
    assert.equal(probes(`${comment(501)}version=1\r\n`), true);
    assert.equal(probes(`${comment(502)}version=1\r\n`), false);
    assert.equal(probes(`${comment(504)}version=1\n`), false);
  });

  test("a comment whose LF is past the window ends the probe", () => {
    assert.equal(probes(`${comment(513)}version=1\n`), false);
    assert.equal(probes(`${comment(512)}version=1\n`), false);
    assert.equal(probes(`${comment(511)}\nversion=1\n`), false);
  });

  test("a line of spaces whose LF is past the window ends the probe", () => {
    assert.equal(probes(`${" ".repeat(511)}\nversion=1\n`), false);
    assert.equal(probes(`${" ".repeat(510)}\nversion=1\n`), false);
    assert.equal(probes(`${" ".repeat(10)}\n${comment(490)}version=1\n`), true);
  });
});
