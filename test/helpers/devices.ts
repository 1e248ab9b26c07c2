import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * An unused loop device (`losetup -f`): a real block device to open, left unbound, so a test
 * killed midway (a mutation run's timeout) leaves nothing attached.
 */
export function freeLoopDevice(): string {
  return execFileSync("losetup", ["-f"], { encoding: "utf8" }).trim();
}

const PREFIX = "diskpipe-mounts-";

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Unmounts and removes what a killed run of a test left under `<tmp>/diskpipe-mounts-<pid>-*`. */
function sweep(): void {
  const dead = (name: string) => name.startsWith(PREFIX) && !alive(Number(name.slice(PREFIX.length).split("-")[0]));
  const points = readFileSync("/proc/self/mounts", "utf8")
    .split("\n")
    .map((line) => line.split(" ")[1] ?? "");
  for (const point of points.filter((p) => p.startsWith(join(tmpdir(), PREFIX))).reverse()) {
    if (dead(point.slice(tmpdir().length + 1).split("/")[0]!)) spawnSync("umount", ["-l", point]);
  }
  for (const name of readdirSync(tmpdir()).filter(dead)) rmSync(join(tmpdir(), name), { recursive: true, force: true });
}

/**
 * A temporary directory to mount file systems in (root only). `mount` mounts at a new
 * subdirectory (a loop file system with `-o loop`, freed at unmount); `cleanup` unmounts all.
 */
export function mountPlace(): { dir: string; mount: (name: string, args: string[]) => string; cleanup: () => void } {
  sweep();
  const dir = mkdtempSync(join(tmpdir(), `${PREFIX}${process.pid}-`));
  const points: string[] = [];
  return {
    dir,
    mount(name, args) {
      const at = join(dir, name);
      mkdirSync(at, { recursive: true });
      execFileSync("mount", [...args, at]);
      points.push(at);
      return at;
    },
    cleanup() {
      for (const at of points.reverse()) spawnSync("umount", ["-l", at]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
