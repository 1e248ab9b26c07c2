import { createHash } from "node:crypto";
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  truncateSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { after, before } from "node:test";
import type { UserConfig } from "../../../src/core/config.ts";
import { MiB } from "../../helpers/failure.ts";
import { makeImage, makeRaw, qemuImg, tempDir } from "../../helpers/images.ts";
import { TestServer } from "./server.ts";

/** The hex digest of a file. */
export function sha(path: string, algorithm = "sha256"): string {
  return createHash(algorithm).update(readFileSync(path)).digest("hex");
}

/** What the http source tests share: images, a real server on 127.0.0.1 with their routes, a configuration. */
export interface HttpSourceFixture {
  dir: string;
  work: string;
  out: string;
  server: TestServer;
  /** The images, made before the first test. */
  images: { raw: string; qcow2: string; hostile: string; vhd: string };
  config(extra?: UserConfig): UserConfig;
  /** Temporary files left in the work root, and hidden files left in the output folder. */
  leftovers(): string[];
}

/** Registers the before/after hooks of the calling suite that make and remove the shared fixture. */
export function useHttpSourceFixture(): HttpSourceFixture {
  const { dir, cleanup } = tempDir();
  const work = join(dir, "work");
  const out = join(dir, "out");
  const server = new TestServer();
  const images = { raw: "", qcow2: "", hostile: "", vhd: "" };
  const config = (extra: UserConfig = {}): UserConfig => ({
    workDir: work,
    fetch: { timeoutMs: 5000, retries: 3, backoffMs: 10 },
    ...extra,
  });
  const leftovers = () => [
    ...(existsSync(join(work, "diskpipe")) ? readdirSync(join(work, "diskpipe")) : []),
    ...readdirSync(out).filter((name) => name.startsWith(".")),
  ];
  before(async () => {
    mkdirSync(out);
    const raw = (images.raw = makeRaw(join(dir, "disk.raw"), 6 * MiB));
    for (let at = 0; at < 6 * MiB; at += 512 * 1024) makeRawChunk(raw, at);
    const qcow2 = (images.qcow2 = makeImage(raw, "qcow2", join(dir, "disk.qcow2")));
    const vhd = (images.vhd = makeImage(raw, "vpc", join(dir, "disk.vhd"), ["-o", "subformat=fixed,force_size=on"]));
    const base = makeImage(raw, "qcow2", join(dir, "base.qcow2"));
    const hostile = (images.hostile = join(dir, "hostile.qcow2"));
    qemuImg("create", "-f", "qcow2", "-b", base, "-F", "qcow2", hostile);
    truncateSync(hostile, 256 * MiB);
    await server.start();
    server.routes.set("/disk.qcow2", { file: qcow2 });
    server.routes.set("/disk.raw", { file: raw });
    server.routes.set("/drop.raw", { file: raw, dropAfter: 1 * MiB + 17 });
    server.routes.set("/norange.raw", { file: raw, dropAfter: 2 * MiB + 5, ignoreRange: true });
    server.routes.set("/norange-direct.raw", { file: raw, dropAfter: 2 * MiB + 5, ignoreRange: true });
    server.routes.set("/flaky.raw", { file: raw, dropAfter: 300 * 1024, dropTimes: 100 });
    server.routes.set("/stall-body.raw", { file: raw, stall: "body" });
    server.routes.set("/stall-headers.raw", { file: raw, stall: "headers" });
    server.routes.set("/hostile.qcow2", { file: hostile });
    server.routes.set("/chunked.vhd", { file: vhd, noLength: true });
    server.routes.set("/moved.qcow2", { redirect: "/disk.qcow2" });
    server.routes.set("/broken.raw", { status: 500 });
  });
  after(async () => {
    await server.stop();
    cleanup();
  });
  return { dir, work, out, server, images, config, leftovers };
}

function makeRawChunk(path: string, at: number): void {
  const fd = openSync(path, "r+");
  try {
    writeSync(fd, Buffer.alloc(4096, (at / 4096) & 0xff || 1), 0, 4096, at);
  } finally {
    closeSync(fd);
  }
}
