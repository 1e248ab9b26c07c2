import { ChainRejection } from "./rejection.ts";
import { VhdFile, type VhdInfo } from "./vhd.ts";

/**
 * Checks that VHDs form one chain, leaf first: each member's parent id is the next member's
 * unique id, all virtual sizes agree, the last member (the base) is fixed or dynamic and every
 * other member is differencing, and no unique id repeats. Throws a `vhd-chain` `ChainRejection`
 * naming the file at fault.
 *
 * @example
 * ```ts
 * declare const leaf: VhdFile, parent: VhdFile, base: VhdFile;
 * validateChain([leaf.info, parent.info, base.info]); // 0.vhd, 1.vhd, 2.vhd
 * ```
 */
export function validateChain(members: readonly VhdInfo[]): void {
  if (members.length === 0) throw new ChainRejection("vhd-chain", "the archive holds no VHD");
  const base = members[members.length - 1];
  if (base.type === "differencing") {
    throw new ChainRejection(
      "vhd-chain",
      `${base.label}: the base of the chain is a differencing disk (its parent ${base.parentId} is missing)`,
    );
  }
  const seen = new Map<string, string>();
  members.forEach((member, index) => {
    const twin = seen.get(member.uniqueId);
    if (twin)
      throw new ChainRejection(
        "vhd-chain",
        `${member.label}: unique id ${member.uniqueId} repeats ${twin}'s (a cycle or a copied disk)`,
      );
    seen.set(member.uniqueId, member.label);
    if (member.size !== base.size) {
      throw new ChainRejection(
        "vhd-chain",
        `${member.label}: virtual size ${member.size} differs from the base ${base.label}'s ${base.size}`,
      );
    }
    if (member === base) return;
    if (member.type !== "differencing") {
      throw new ChainRejection(
        "vhd-chain",
        `${member.label}: a ${member.type} disk can only be the base, yet ${base.label} follows it`,
      );
    }
    const parent = members[index + 1];
    if (member.parentId !== parent.uniqueId) {
      throw new ChainRejection(
        "vhd-chain",
        `${member.label}: its parent is ${member.parentId} (${member.parentName || "no name"}), but ${parent.label} is ${parent.uniqueId}`,
      );
    }
  });
}

/**
 * Opens the VHDs of a chain (leaf first), validates each and the chain; on any failure every
 * file opened so far is closed again.
 *
 * @example
 * ```ts
 * const chain = await openChain(["w/0.vhd", "w/1.vhd"]);
 * try { console.log(chain[0].info.size); } finally { await closeChain(chain); }
 * ```
 */
export async function openChain(paths: readonly string[]): Promise<VhdFile[]> {
  const members: VhdFile[] = [];
  try {
    for (const [index, path] of paths.entries()) members.push(await VhdFile.open(path, `${index}.vhd`));
    validateChain(members.map((member) => member.info));
    return members;
  } catch (error) {
    await closeChain(members);
    throw error;
  }
}

/**
 * Closes every member of a chain, ignoring members already closed.
 *
 * @example
 * ```ts
 * const chain = await openChain(["w/0.vhd", "w/1.vhd"]);
 * await closeChain(chain);
 * ```
 */
export async function closeChain(members: readonly VhdFile[]): Promise<void> {
  await Promise.allSettled(members.map((member) => member.close()));
}
