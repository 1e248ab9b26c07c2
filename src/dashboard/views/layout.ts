/**
 * The page frame: title, inline stylesheet and script (both carrying the CSP nonce), header.
 * Data: `title`, `nonce`, `label` (what is shown: the spool or the queue), `body` (HTML, already rendered), `script?`.
 *
 * @example
 * ```ts
 * import { Eta } from "eta";
 * const eta = new Eta();
 * eta.loadTemplate("@layout", LAYOUT);
 * ```
 */
export const LAYOUT = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title><%= it.title %> · diskpipe</title>
<style nonce="<%= it.nonce %>"><%~ it.style %></style>
</head>
<body>
<header class="top"><a class="brand" href="/">diskpipe</a><span class="spool"><%= it.label %></span><% if (it.live) { %><span id="live" class="live">connecting</span><% } %></header>
<main>
<%~ it.body %>
</main>
<% if (it.script) { %><script nonce="<%= it.nonce %>"><%~ it.script %></script><% } %>
</body>
</html>
`;
