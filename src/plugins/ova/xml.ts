import { XMLParser } from "fast-xml-parser";
import { OvaRefusal } from "./refusal.ts";

/** The largest OVF descriptor read (real ones are a few KiB; a hundred disks stay far below). */
export const MAX_DESCRIPTOR_BYTES = 1024 * 1024;

/** Elements that may repeat, always given as arrays (namespace prefixes removed). */
const REPEATED = new Set([
  "VirtualSystem",
  "File",
  "Disk",
  "Network",
  "Item",
  "StorageItem",
  "EthernetPortItem",
  "Config",
]);

/** A parsed XML element: attributes as `@_name`, text as `#text`, children by local name. */
export type XmlNode = Record<string, unknown>;

/**
 * Parses an OVF descriptor's XML with every namespace prefix removed. A document type
 * declaration is refused before parsing (OVF needs none; it is where entity bombs and external
 * entities live), so only XML's five predefined entities (`&amp;`, `&lt;`, …) and character
 * references (`&#233;`, `&#xE9;`) are expanded, in one pass (`&amp;#233;` stays `&#233;`),
 * which cannot make the text longer than the input; a reference to a character XML does not
 * allow is refused.
 *
 * @example
 * ```ts
 * const root = parseXml('<Envelope><References/></Envelope>');
 * ```
 */
export function parseXml(text: string): XmlNode {
  if (Buffer.byteLength(text) > MAX_DESCRIPTOR_BYTES)
    throw new OvaRefusal("ova-descriptor-invalid", `the OVF descriptor is larger than ${MAX_DESCRIPTOR_BYTES} bytes`);
  if (/<!DOCTYPE/i.test(text) || /<!ENTITY/i.test(text))
    throw new OvaRefusal("ova-descriptor-invalid", "the OVF descriptor declares a document type (DTD or entities)");
  const parser = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: "@_",
    removeNSPrefix: true,
    // Expanded here, in one pass over each value, rather than by the parser (which expands
    // character references only together with HTML's named entities).
    processEntities: false,
    htmlEntities: false,
    tagValueProcessor: (_name: string, value: string) => expandReferences(value),
    attributeValueProcessor: (_name: string, value: string) => expandReferences(value),
    parseTagValue: false,
    parseAttributeValue: false,
    trimValues: true,
    isArray: (name) => REPEATED.has(name),
  });
  let root: unknown;
  try {
    root = parser.parse(text, true);
  } catch (error) {
    if (error instanceof OvaRefusal) throw error;
    const why = error instanceof Error ? error.message : String(error);
    throw new OvaRefusal("ova-descriptor-invalid", `the OVF descriptor is not well-formed XML: ${why}`);
  }
  // Stryker disable next-line ConditionalExpression,StringLiteral: fast-xml-parser returns an object or throws (an empty text is not well-formed); kept as a guard
  if (!isNode(root)) throw new OvaRefusal("ova-descriptor-invalid", "the OVF descriptor is empty");
  return root;
}

const PREDEFINED: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

/** `value` with its predefined entities and character references expanded, once. */
function expandReferences(value: string): string {
  return value.replace(/&(?:#([0-9]{1,7})|#x([0-9a-fA-F]{1,6})|(amp|lt|gt|quot|apos));/g, (found, dec, hex, name) => {
    if (name) return PREDEFINED[name as string] ?? found;
    const code = dec === undefined ? Number.parseInt(hex as string, 16) : Number(dec);
    const allowed =
      code === 0x9 ||
      code === 0xa ||
      code === 0xd ||
      (code >= 0x20 && code <= 0xd7ff) ||
      (code >= 0xe000 && code <= 0xfffd) ||
      (code >= 0x10000 && code <= 0x10ffff);
    if (!allowed)
      throw new OvaRefusal(
        "ova-descriptor-invalid",
        `the OVF descriptor refers to a character XML does not allow (${found})`,
      );
    return String.fromCodePoint(code);
  });
}

/**
 * Whether `value` is a parsed element (not text, not an array).
 *
 * @example
 * ```ts
 * isNode(parseXml("<Envelope/>")["Envelope"]); // true
 * ```
 */
export function isNode(value: unknown): value is XmlNode {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * The child elements of `node` named `name`, as an array (none: empty).
 *
 * @example
 * ```ts
 * children(parseXml("<R><File/><File/></R>")["R"] as XmlNode, "File").length; // 2
 * ```
 */
export function children(node: XmlNode | undefined, name: string): XmlNode[] {
  const value = node?.[name];
  const list = Array.isArray(value) ? value : value === undefined ? [] : [value];
  return list.map((item) => (isNode(item) ? item : { "#text": String(item) }));
}

/**
 * The one child element of `node` named `name`, if there is one.
 *
 * @example
 * ```ts
 * child(parseXml("<E><References/></E>")["E"] as XmlNode, "References"); // {}
 * ```
 */
export function child(node: XmlNode | undefined, name: string): XmlNode | undefined {
  return children(node, name)[0];
}

/**
 * The text of the child element `name` of `node` (trimmed), if it has one.
 *
 * @example
 * ```ts
 * textOf(parseXml("<S><Name> web </Name></S>")["S"] as XmlNode, "Name"); // "web"
 * ```
 */
export function textOf(node: XmlNode | undefined, name: string): string | undefined {
  const value = child(node, name)?.["#text"];
  return typeof value === "string" && value !== "" ? value : undefined;
}

/**
 * The attribute `name` of `node` (namespace prefix removed), if present.
 *
 * @example
 * ```ts
 * attr(child(parseXml('<Disk ovf:capacity="4"/>'), "Disk"), "capacity"); // "4"
 * ```
 */
export function attr(node: XmlNode | undefined, name: string): string | undefined {
  const value = node?.[`@_${name}`];
  return typeof value === "string" ? value : undefined;
}
