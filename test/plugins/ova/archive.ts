import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tarball } from "../../helpers/tar.ts";
import { makeImage, makeRaw } from "../../helpers/images.ts";
import { vmwareOvf, type ApplianceDisk } from "./fixtures.ts";

/** One member of a test archive: a file (name, bytes) or any other tar header. */
export interface Member {
  name: string;
  data?: Buffer;
  type?: "file" | "symlink" | "directory";
  linkname?: string;
}

/** Writes `members`, in order, as a tar file at `path`. */
export async function writeTar(path: string, members: Member[]): Promise<string> {
  writeFileSync(
    path,
    await tarball(
      members.map(({ name, data, type, linkname }) => ({ header: { name, type, linkname }, data })),
      false,
    ),
  );
  return path;
}

/** A SHA256 manifest of `members`. */
export function manifestOf(members: Member[]): Buffer {
  return Buffer.from(
    members
      .map(
        (m) =>
          `SHA256(${m.name})= ${createHash("sha256")
            .update(m.data ?? Buffer.alloc(0))
            .digest("hex")}\n`,
      )
      .join(""),
  );
}

/** Two streamOptimized VMDKs made by qemu-img from raw disks of 3 MiB and 1 MiB, and their raws. */
export function twoVmdks(dir: string): Array<{ raw: string; vmdk: Buffer }> {
  return [3, 1].map((mib, i) => {
    const raw = makeRaw(join(dir, `disk${i + 1}.raw`), mib * 1024 * 1024, i + 5);
    const vmdk = makeImage(raw, "vmdk", join(dir, `disk${i + 1}.vmdk`), ["-o", "subformat=streamOptimized"]);
    return { raw, vmdk: readFileSync(vmdk) };
  });
}

/** The members of an OVA of `disks` (descriptor, manifest, files), as VMware lays them out. */
export function applianceMembers(
  disks: Array<ApplianceDisk & { data: Buffer }>,
  edit = (ovf: string) => ovf,
): Member[] {
  const files = disks.map((d) => ({ name: d.href, data: d.data }));
  const ovf = { name: "vm.ovf", data: Buffer.from(edit(vmwareOvf(disks))) };
  return [ovf, { name: "vm.mf", data: manifestOf([ovf, ...files]) }, ...files];
}

/** A plain descriptor: the members of an OVA written as files of one directory; returns the descriptor's path. */
export function writeBeside(dir: string, members: Member[]): string {
  mkdirSync(dir, { recursive: true });
  for (const { name, data } of members) writeFileSync(join(dir, name), data ?? Buffer.alloc(0));
  return join(dir, members[0]?.name ?? "vm.ovf");
}
