import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import tar from "tar-stream";
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
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on("data", (chunk: unknown) => chunks.push(chunk as Buffer));
  const ended = new Promise<void>((resolve) => pack.on("end", () => resolve()));
  for (const member of members) {
    const type = member.type ?? "file";
    if (type === "file")
      pack.entry({ name: member.name, type, size: member.data?.length ?? 0 }, member.data ?? Buffer.alloc(0));
    else pack.entry({ name: member.name, type, size: 0, linkname: member.linkname });
  }
  pack.finalize();
  await ended;
  writeFileSync(path, Buffer.concat(chunks));
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
