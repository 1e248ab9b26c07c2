import { asciiField, isTarHeader, readAt, type Detection, type ImageReader } from "../../plugin-api.ts";

/**
 * The plugin's detector: a tar archive whose first member is an OVF descriptor (`*.ovf`), as
 * the OVF specification requires of an OVA, is format `ova`. What the archive holds is read
 * when it is unpacked, under the plugin's bounds.
 *
 * @example
 * ```ts
 * import { openFileReader } from "diskpipe";
 * await detectOva(await openFileReader("web-01.ova")); // { format: "ova", details: { descriptor: "web-01.ovf" }, … }
 * ```
 */
export async function detectOva(reader: ImageReader): Promise<Detection | null> {
  const head = await readAt(reader, 0, 512);
  if (!isTarHeader(head)) return null;
  const name = asciiField(head, 0, 100);
  if (!/\.ovf$/i.test(name)) return null;
  return { format: "ova", problems: [], details: { descriptor: name } };
}
