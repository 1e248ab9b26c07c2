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

/** The DMTF OVF envelope's namespace, which every descriptor declares. */
const OVF_NAMESPACE = "http://schemas.dmtf.org/ovf/envelope/";

/**
 * The plugin's detector of a plain OVF descriptor (an `.ovf` file, its disks in files beside
 * it): XML whose head (4 KiB) opens an `Envelope` in the OVF namespace is format
 * `ovf-descriptor`. The files it names are read only when the job allows it (`--ovf-files`).
 *
 * @example
 * ```ts
 * import { openFileReader } from "diskpipe";
 * await detectOvfDescriptor(await openFileReader("web-01.ovf")); // { format: "ovf-descriptor", … }
 * ```
 */
export async function detectOvfDescriptor(reader: ImageReader): Promise<Detection | null> {
  const head = Buffer.from(await readAt(reader, 0, 4096)).toString("latin1");
  const text = head.replace(/^\xef\xbb\xbf/, "").trimStart();
  if (!text.startsWith("<") || !/<([A-Za-z_][\w.-]*:)?Envelope[\s>]/.test(text) || !text.includes(OVF_NAMESPACE))
    return null;
  return { format: "ovf-descriptor", problems: [], details: {} };
}
