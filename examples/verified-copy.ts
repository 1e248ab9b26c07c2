/**
 * Converts SRC to DEST in FORMAT with the conversion verified (source and output content hashes
 * equal), then prints the content hash of both files: the same value for one disk in any format.
 *
 *   diskpipe run examples/verified-copy.ts SRC DEST FORMAT
 *   deno run -A examples/verified-copy.ts SRC DEST FORMAT
 */
import process from "node:process";
import { contentHash, convert } from "diskpipe";

const [source, destination, to] = process.argv.slice(2);
if (!source || !destination || !to) {
  console.error("usage: verified-copy.ts SRC DEST FORMAT");
  process.exit(2);
}

const result = await convert({ source, destination, to, verify: true });
console.log(`converted ${result.from} -> ${result.to}, verified ${result.contentHash}`);
for (const file of [source, destination]) console.log(`${await contentHash(file)} ${file}`);
