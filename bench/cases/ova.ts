import { createHash } from "node:crypto";
import { readFile, readdir, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { alternate } from "../alternate.ts";
import { writeCompressibleImage } from "../compressible.ts";
import type { BenchContext } from "../context.ts";
import { run } from "../exec.ts";
import { ratioRow, type CaseResult } from "../report.ts";

const MiB = 1024 * 1024;

/**
 * Case 13 OVA: a two-disk OVA (descriptor, SHA256 manifest, streamOptimized VMDKs, as VMware
 * exports it) converted by `diskpipe convert vm.ova DIR --to qcow2` (manifest checked, each
 * disk inspected, converted, described), against `tar x` and `qemu-img convert` for each disk
 * (target ≤ 0.8).
 *
 * @example
 * ```ts
 * const result = await ovaCase(ctx);
 * ```
 */
export async function ovaCase(ctx: BenchContext): Promise<CaseResult> {
  const src = await ctx.scratch("ova-src");
  const a = await ctx.scratch("out-ova-diskpipe");
  const b = await ctx.scratch("out-ova-sequence");
  const sizes = ctx.args.quick ? [192 * MiB, 64 * MiB] : [768 * MiB, 256 * MiB];
  for (const [i, size] of sizes.entries()) {
    const raw = join(src, `disk${i + 1}.raw`);
    await writeCompressibleImage(raw, size);
    await run("qemu-img", [
      "convert",
      "-f",
      "raw",
      "-O",
      "vmdk",
      "-o",
      "subformat=streamOptimized",
      raw,
      join(src, `vm-disk${i + 1}.vmdk`),
    ]);
    await rm(raw);
  }
  const disks = sizes.map((size, i) => ({ href: `vm-disk${i + 1}.vmdk`, size }));
  await writeFile(join(src, "vm.ovf"), descriptor(disks));
  const members = ["vm.ovf", ...disks.map((d) => d.href)];
  const digests = await Promise.all(
    members.map(
      async (name) =>
        `SHA256(${name})= ${createHash("sha256")
          .update(await readFile(join(src, name)))
          .digest("hex")}\n`,
    ),
  );
  await writeFile(join(src, "vm.mf"), digests.join(""));
  await run("tar", ["cf", "vm.ova", "vm.ovf", "vm.mf", ...disks.map((d) => d.href)], { cwd: src });
  for (const name of [...members, "vm.mf"]) await rm(join(src, name));
  const ova = join(src, "vm.ova");
  const empty = async (dir: string) => {
    for (const name of await readdir(dir)) await rm(join(dir, name), { recursive: true, force: true });
  };
  const [diskpipe, sequence] = await alternate(
    [
      {
        label: "diskpipe convert vm.ova DIR",
        reset: () => empty(a),
        run: async () => void (await ctx.diskpipe(["convert", ova, a, "--to", "qcow2"])),
      },
      {
        label: "tar x + qemu-img convert ×2",
        reset: () => empty(b),
        run: async () => {
          await run("tar", ["xf", ova, "-C", b]);
          for (const disk of disks)
            await run("qemu-img", [
              "convert",
              "-f",
              "vmdk",
              "-O",
              "qcow2",
              join(b, disk.href),
              join(b, `${disk.href}.qcow2`),
            ]);
        },
      },
    ],
    { runs: ctx.args.runs, policy: ctx.policy, warmups: ctx.warmups, durable: true, log: ctx.log },
  );
  const archive = (await stat(ova)).size;
  return {
    rows: [
      ratioRow(
        "13 OVA",
        `2-disk OVA (${(archive / MiB).toFixed(0)} MiB) to qcow2 vs \`tar x\` + \`qemu-img convert\` ×2`,
        diskpipe.ms,
        sequence.ms,
        0.8,
      ),
    ],
  };
}

/** A minimal OVF 1.0 descriptor naming each disk's file, with its capacity in bytes. */
function descriptor(disks: Array<{ href: string; size: number }>): string {
  const files = disks.map((d, i) => `<File ovf:href="${d.href}" ovf:id="file${i + 1}"/>`).join("");
  const entries = disks
    .map(
      (d, i) =>
        `<Disk ovf:capacity="${d.size}" ovf:diskId="vmdisk${i + 1}" ovf:fileRef="file${i + 1}" ovf:format="http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized"/>`,
    )
    .join("");
  return `<?xml version="1.0" encoding="UTF-8"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1" xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData">
  <References>${files}</References>
  <DiskSection><Info>Virtual disks</Info>${entries}</DiskSection>
  <VirtualSystem ovf:id="bench"><Info>A virtual machine</Info><Name>bench</Name>
    <VirtualHardwareSection><Info>Hardware</Info></VirtualHardwareSection>
  </VirtualSystem>
</Envelope>
`;
}
