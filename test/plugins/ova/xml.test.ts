import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  attr,
  child,
  children,
  isNode,
  MAX_DESCRIPTOR_BYTES,
  parseXml,
  textOf,
  type XmlNode,
} from "../../../src/plugins/ova/xml.ts";

/** Asserts parsing `text` is refused with exactly `message`. */
function refused(text: string, message: string | RegExp): void {
  assert.throws(
    () => parseXml(text),
    (error: Error & { code?: string }) => {
      assert.equal(error.code, "ova-descriptor-invalid");
      if (typeof message === "string") assert.equal(error.message, message);
      else assert.match(error.message, message);
      return true;
    },
  );
}

const DTD = "the OVF descriptor declares a document type (DTD or entities)";

describe("parseXml", () => {
  it("gives the elements that may repeat as arrays even when there is one", () => {
    for (const name of [
      "VirtualSystem",
      "File",
      "Disk",
      "Network",
      "Item",
      "StorageItem",
      "EthernetPortItem",
      "Config",
    ]) {
      const root = parseXml(`<ovf:R xmlns:ovf="urn:x"><ovf:${name} ovf:a="1"/></ovf:R>`)["R"] as XmlNode;
      assert.deepEqual(root[name], [{ "@_a": "1" }], name);
    }
    const root = parseXml("<R><Name>x</Name><Info>y</Info></R>")["R"] as XmlNode;
    assert.deepEqual(root, { Name: "x", Info: "y" });
  });

  it("removes namespace prefixes from elements and attributes, keeps values as text", () => {
    const root = parseXml('<a:E xmlns:a="urn:a"><a:Q b:n="007" xmlns:b="urn:b">0010</a:Q><T> true </T></a:E>');
    assert.deepEqual(root, { E: { Q: { "#text": "0010", "@_n": "007" }, T: "true" } });
  });

  it("expands only XML's predefined entities, not HTML's", () => {
    const root = parseXml('<E a="x &amp; &lt;y&gt;">&quot;q&quot; &apos;r&apos; &amp;amp; &copy; &nbsp;</E>');
    assert.deepEqual(root["E"], { "#text": "\"q\" 'r' &amp; &copy; &nbsp;", "@_a": "x & <y>" });
  });

  it("expands character references once, and refuses one to a character XML does not allow", () => {
    const root = parseXml('<E n="Caf&#233; &#x1F600;">na&#xEF;ve &amp;#233; &#10;x</E>');
    assert.deepEqual(root["E"], { "#text": "naïve &#233; \nx", "@_n": "Café 😀" });
    for (const bad of ["&#0;", "&#x1;", "&#xD800;", "&#xFFFE;", "&#x110000;"])
      refused(`<E>${bad}</E>`, `the OVF descriptor refers to a character XML does not allow (${bad})`);
  });

  it("refuses a document type or an entity declaration, each alone, in any case", () => {
    refused("<!DOCTYPE Envelope><Envelope/>", DTD);
    refused("<!doctype Envelope><Envelope/>", DTD);
    refused('<Envelope><!ENTITY x "y"></Envelope>', DTD);
    refused('<Envelope><!entity x "y"></Envelope>', DTD);
  });

  it("refuses a text larger than 1 MiB, counting bytes, and takes one of exactly 1 MiB", () => {
    const frame = "<E></E>";
    const exact = `<E>${"x".repeat(MAX_DESCRIPTOR_BYTES - frame.length)}</E>`;
    assert.equal(Buffer.byteLength(exact), MAX_DESCRIPTOR_BYTES);
    assert.equal((parseXml(exact)["E"] as string).length, MAX_DESCRIPTOR_BYTES - frame.length);
    const over = `<E>${"x".repeat(MAX_DESCRIPTOR_BYTES - frame.length + 1)}</E>`;
    refused(over, "the OVF descriptor is larger than 1048576 bytes");
    // Two bytes a character: half as many characters are already too many bytes.
    const wide = `<E>${"é".repeat(MAX_DESCRIPTOR_BYTES / 2)}</E>`;
    refused(wide, "the OVF descriptor is larger than 1048576 bytes");
  });

  it("refuses what is not well-formed, and an empty text", () => {
    refused("", /^the OVF descriptor is not well-formed XML: ./);
    refused("<E><F></E>", /^the OVF descriptor is not well-formed XML: ./);
    refused("just text", /^the OVF descriptor is not well-formed XML: ./);
    // The parser's own words, not "Error: …".
    assert.throws(
      () => parseXml("<E><F></E>"),
      (error: Error) => !/XML: \w*Error/.test(error.message),
    );
  });
});

describe("isNode, children, child, textOf, attr", () => {
  it("isNode: an object that is neither null nor an array", () => {
    assert.equal(isNode({}), true);
    assert.equal(isNode(null), false);
    assert.equal(isNode([]), false);
    assert.equal(isNode("x"), false);
    assert.equal(isNode(undefined), false);
  });

  it("children: an array of elements, text wrapped, none when absent", () => {
    const node: XmlNode = { A: [{ x: "1" }, "t", ""], B: { y: "2" }, C: "text", D: 5 };
    assert.deepEqual(children(node, "A"), [{ x: "1" }, { "#text": "t" }, { "#text": "" }]);
    assert.deepEqual(children(node, "B"), [{ y: "2" }]);
    assert.deepEqual(children(node, "C"), [{ "#text": "text" }]);
    assert.deepEqual(children(node, "D"), [{ "#text": "5" }]);
    assert.deepEqual(children(node, "Z"), []);
    assert.deepEqual(children(undefined, "A"), []);
    assert.deepEqual(child(node, "A"), { x: "1" });
    assert.equal(child(node, "Z"), undefined);
    assert.equal(child(undefined, "A"), undefined);
  });

  it("textOf: the non-empty text of a child element, else undefined", () => {
    const root = parseXml("<S><Name> web </Name><Empty></Empty><Self/><Mixed>a<b/>c</Mixed></S>")["S"] as XmlNode;
    assert.equal(textOf(root, "Name"), "web");
    assert.equal(textOf(root, "Empty"), undefined);
    assert.equal(textOf(root, "Self"), undefined);
    assert.equal(textOf(root, "Mixed"), "ac");
    assert.equal(textOf(root, "Missing"), undefined);
    assert.equal(textOf(undefined, "Name"), undefined);
    assert.equal(textOf({ N: { "#text": 5 } }, "N"), undefined);
    assert.equal(textOf({ N: { "#text": ["a"] } }, "N"), undefined);
    assert.equal(textOf({ N: { "#text": "" } }, "N"), undefined);
  });

  it("attr: a string attribute, else undefined", () => {
    const file = child(parseXml('<File ovf:href="a.vmdk" size=""/>'), "File");
    assert.equal(attr(file, "href"), "a.vmdk");
    assert.equal(attr(file, "size"), "");
    assert.equal(attr(file, "id"), undefined);
    assert.equal(attr(undefined, "href"), undefined);
    assert.equal(attr({ "@_n": 5 }, "n"), undefined);
    assert.equal(attr({ "@_n": { x: "1" } }, "n"), undefined);
    assert.equal(attr({ n: "plain" }, "n"), undefined);
  });
});
