import assert from "node:assert/strict";
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import type { ConvertPlan } from "../../src/core/job.ts";
import { QemuImg } from "../../src/core/qemu-img.ts";
import { tempDir } from "../helpers/images.ts";

const { dir, cleanup } = tempDir("diskpipe-qemu-class-");
after(cleanup);
let n = 0;

/**
 * A stand-in qemu-img for what the real one cannot be made to do (print another version,
 * split its progress over writes): a shell script that logs each argv, and the CPU-time limit
 * it runs under, to `<log>` and then runs `body`.
 */
function standIn(body: string): { binary: string; calls: () => string[][]; limits: () => string[] } {
  const base = join(dir, `qemu-${++n}`);
  const log = `${base}.log`;
  writeFileSync(log, "");
  writeFileSync(`${base}.limits`, "");
  writeFileSync(
    base,
    `#!/bin/sh\nprintf '%s\\t' "$@" >> ${log}; echo >> ${log}\nulimit -t >> ${base}.limits\n${body}\n`,
  );
  chmodSync(base, 0o755);
  const lines = (path: string) => readFileSync(path, "utf8").split("\n").filter(Boolean);
  return {
    binary: base,
    calls: () => lines(log).map((line) => line.split("\t").filter(Boolean)),
    limits: () => lines(`${base}.limits`),
  };
}

const image = { path: "/img,1.qcow2", format: "qcow2", driver: "qcow2", options: {} };

describe("QemuImg: the version", () => {
  it("reads major.minor and an optional patch level, once", async () => {
    for (const [printed, version] of [
      ["qemu-img version 10.1.2 (Debian 1:10.1.2+ds-1)", "10.1.2"],
      ["qemu-img version 7.2", "7.2"],
      ["qemu-img version 12.34.56", "12.34.56"],
      ["qemu-img version 8.0.x", "8.0"],
    ]) {
      const fake = standIn(`echo "${printed}"`);
      const qemu = new QemuImg({ binary: fake.binary });
      assert.equal(await qemu.version(), version, printed);
      assert.equal(await qemu.version(), version);
      assert.equal(fake.calls().length, 1, "detected once");
    }
  });

  it("an unreadable version is a qemu-img-failed error, and the next call asks again", async () => {
    const fake = standIn('echo "qemu-img version unknown"');
    const qemu = new QemuImg({ binary: fake.binary });
    await assert.rejects(
      qemu.version(),
      (error: Error & { code?: string }) =>
        error.code === "qemu-img-failed" &&
        /cannot read the qemu-img version from: qemu-img version unknown/.test(error.message),
    );
    await assert.rejects(qemu.version());
    assert.equal(fake.calls().length, 2);
  });

  it("atLeast compares numerically, part by part, a missing part as 0", async () => {
    const qemu = new QemuImg({ binary: standIn('echo "qemu-img version 7.10.2"').binary });
    const answers = Object.fromEntries(
      await Promise.all(
        ["7.10.2", "7.10", "7", "7.9", "7.10.3", "7.11", "8", "6.99", "7.10.2.1", "7.10.2.0"].map(async (want) => [
          want,
          await qemu.atLeast(want),
        ]),
      ),
    );
    assert.deepEqual(answers, {
      "7.10.2": true,
      "7.10": true,
      "7": true,
      "7.9": true,
      "7.10.3": false,
      "7.11": false,
      "8": false,
      "6.99": true,
      "7.10.2.1": false,
      "7.10.2.0": true,
    });
  });
});

describe("QemuImg: header parsing runs under its limits", () => {
  const info = JSON.stringify({ format: "qcow2", "virtual-size": 1024 });

  it("info, measure and map run under prlimit's CPU limit (the configured one, else 8 s), with no version probe when they succeed", async () => {
    const fake = standIn(
      `case "$1" in info) echo '${info}';; measure) echo '{"required":1,"fully-allocated":2}';; map) echo '[]';; esac`,
    );
    const qemu = new QemuImg({ binary: fake.binary, limits: { cpuSeconds: 3 } });
    assert.equal((await qemu.info(image))["virtual-size"], 1024);
    assert.deepEqual(await qemu.measure(image, { format: "raw", driver: "raw", options: {} }), {
      required: 1,
      fullyAllocated: 2,
    });
    assert.deepEqual(await qemu.map(image), []);
    assert.deepEqual(fake.limits(), ["3", "3", "3"]);
    assert.deepEqual(
      fake.calls().map((argv) => argv[0]),
      ["info", "measure", "map"],
    );
    const plain = standIn(`echo '${info}'`);
    await new QemuImg({ binary: plain.binary }).info(image);
    assert.deepEqual(plain.limits(), ["8"]);
  });

  it("argv: info names the format and the image; measure passes -o only with options, as given; map names the format", async () => {
    const fake = standIn(
      `case "$1" in info) echo '${info}';; measure) echo '{"required":1,"fully-allocated":2}';; map) echo '[]';; esac`,
    );
    const qemu = new QemuImg({ binary: fake.binary });
    await qemu.info(image, [{ id: "s", file: "/k" }]);
    await qemu.measure(image, { format: "qcow2", driver: "qcow2", options: {} });
    await qemu.measure(image, {
      format: "luks",
      driver: "luks",
      options: { "key-secret": "s", "cipher-alg": "aes-256" },
    });
    await qemu.measure(image, { format: "qcow2", driver: "qcow2", options: { cluster_size: 65536 } });
    await qemu.map(image);
    assert.deepEqual(fake.calls(), [
      ["info", "--output=json", "--object", "secret,id=s,file=/k,format=raw", "-f", "qcow2", "/img,1.qcow2"],
      ["measure", "--output=json", "-f", "qcow2", "-O", "qcow2", "/img,1.qcow2"],
      [
        "measure",
        "--output=json",
        "-f",
        "qcow2",
        "-O",
        "luks",
        "-o",
        "key-secret=s,cipher-alg=aes-256",
        "/img,1.qcow2",
      ],
      ["measure", "--output=json", "-f", "qcow2", "-O", "qcow2", "-o", "cluster_size=65536", "/img,1.qcow2"],
      ["map", "--output=json", "-f", "qcow2", "/img,1.qcow2"],
    ]);
  });

  it("a failed limited run asks for the version to tell a missing qemu-img from a failure", async () => {
    const failing = standIn(
      'case "$1" in --version) echo "qemu-img version 7.2.0";; *) echo "qemu-img: bad header" >&2; exit 1;; esac',
    );
    await assert.rejects(
      new QemuImg({ binary: failing.binary }).info(image),
      (error: Error & { code?: string }) => error.code === "qemu-img-failed" && /bad header/.test(error.message),
    );
    assert.deepEqual(
      failing.calls().map((argv) => argv[0]),
      ["info", "--version"],
    );
    await assert.rejects(
      new QemuImg({ binary: join(dir, "no-such-qemu-img") }).info(image),
      (error: Error & { code?: string }) => error.code === "qemu-img-missing",
    );
  });
});

describe("QemuImg: conversions", () => {
  const plan = (over: Partial<ConvertPlan> = {}): ConvertPlan => ({
    input: { path: join(dir, "in.raw"), format: "raw", driver: "raw", options: {} },
    output: { path: join(dir, "out.qcow2"), format: "qcow2", driver: "qcow2", options: {} },
    secrets: [],
    flags: {},
    engine: "qemu-img",
    ...over,
  });

  it("convertCommand: the wrapper's prefix, then prlimit with the plan's limits (a minute and 2 GiB by default), then qemu-img", () => {
    const qemu = new QemuImg({
      binary: "/q",
      wrapper: ({ input, output }) => ["ionice", "-c", "3", `--in=${input}`, `--out=${output}`],
    });
    const command = qemu.convertCommand(plan({ limits: { cpuSeconds: 5, addressSpace: 4096 } }));
    assert.deepEqual(command.slice(0, 10), [
      "ionice",
      "-c",
      "3",
      `--in=${join(dir, "in.raw")}`,
      `--out=${join(dir, "out.qcow2")}`,
      "prlimit",
      "--cpu=5",
      "--as=4096",
      "--",
      "/q",
    ]);
    assert.deepEqual(new QemuImg({ binary: "/q" }).convertCommand(plan()).slice(0, 6), [
      "prlimit",
      "--cpu=60",
      `--as=${2 * 1024 ** 3}`,
      "--",
      "/q",
      "convert",
    ]);
    assert.deepEqual(new QemuImg({ binary: "/q", wrapper: () => [] }).convertCommand(plan())[0], "prlimit");
  });

  it("reports the last percentage of each write, also when a figure is split between writes", async () => {
    const fake = standIn(
      "printf '    (0.00/100%%)\\r'; sleep 0.1; printf '    (12.5'; sleep 0.1; printf '0/100%%)\\r'; sleep 0.1; printf '    (25.00/100%%)\\r    (50.00/100%%)\\r'; sleep 0.1; printf '    (100.00/100%%)\\r'",
    );
    const seen: number[] = [];
    await new QemuImg({ binary: fake.binary }).convert(plan(), { onProgress: (percent) => seen.push(percent) });
    assert.deepEqual(seen, [0, 12.5, 50, 100]);
  });

  it("resize names the driver, the path and the size", async () => {
    const fake = standIn("exit 0");
    await new QemuImg({ binary: fake.binary }).resize(
      { path: "/o.qcow2", format: "qcow2", driver: "qcow2", options: {} },
      4096,
    );
    assert.deepEqual(fake.calls(), [["resize", "-f", "qcow2", "/o.qcow2", "4096"]]);
  });
});
