/**
 * The jobs page. Data: `kind`, `label`, `counts`, `rows` (JobViews), and for a source that takes uploads `targets`, `incoming`, `maxUpload`.
 *
 * @example
 * ```ts
 * import { Eta } from "eta";
 * const eta = new Eta();
 * eta.loadTemplate("@index", INDEX_PAGE);
 * ```
 */
export const INDEX_PAGE = `<% layout("@layout", { title: "Jobs", nonce: it.nonce, label: it.label, style: it.style, script: it.script, live: true }) %>
<section class="counters">
<% for (const state of ["queued", "running", "done", "failed"]) { %><div class="counter <%= state %>"><b id="count-<%= state %>"><%= it.counts[state] %></b><span><%= state %></span></div>
<% } %></section>
<section class="panel">
<h2>Jobs</h2>
<table>
<thead><tr><th>Job</th><th>File</th><th>Conversion</th><th>State</th><th>Result</th><th><%= it.kind === "queue" ? "Submitted" : "Claimed" %></th></tr></thead>
<tbody id="jobs">
<% if (it.rows.length === 0) { %><tr id="empty" class="empty"><td colspan="6"><%= it.kind === "queue" ? "No jobs yet: submit one with diskpipe submit, or drop one into a spool watched with --queue." : "No jobs yet: drop a file into incoming/<format>/ or upload one below." %></td></tr><% } %>
<% it.rows.forEach((row) => { %><%~ include("@row", row) %>
<% }) %></tbody>
</table>
</section>
<% if (it.targets) { %><section class="panel upload">
<h2>Upload</h2>
<form method="post" action="/upload" enctype="multipart/form-data">
<label>Convert to <select name="format"><% it.targets.forEach((t) => { %><option value="<%= t %>"><%= t %></option><% }) %></select></label>
<input type="file" name="file" required>
<button type="submit">Upload</button>
</form>
<p class="hint">Up to <%= it.maxUpload %>. Or drop files into <code><%= it.incoming %>/&lt;format&gt;/</code>; a sidecar <code>&lt;name&gt;.json</code> may claim <code>from</code>, <code>container</code>, <code>checksum</code>, <code>maxSize</code> and pass <code>options</code>.</p>
</section><% } %>
`;
