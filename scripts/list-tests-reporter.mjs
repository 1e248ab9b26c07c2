// A node:test reporter that prints, at the end, one JSON line per test that can be run alone
// by name: tests at the top or directly in suites, not subtests a test makes (`t.test`), which
// run only inside their parent. scripts/test-each.mjs uses it to find every test of a file.
export default async function* listTests(source) {
  // Events arrive as tests end, children before their parent.
  const ended = [];
  for await (const event of source) {
    if (event.type !== "test:pass" && event.type !== "test:fail") continue;
    const entry = { name: event.data.name, nesting: event.data.nesting, suite: event.data.details?.type === "suite" };
    if (!entry.suite) {
      while (ended.length > 0 && ended.at(-1).nesting > entry.nesting) ended.pop();
    }
    ended.push(entry);
  }
  for (const entry of ended)
    if (!entry.suite) yield `${JSON.stringify({ name: entry.name, nesting: entry.nesting })}\n`;
}
