/**
 * The body of a job's detail view, also served alone for live refreshes. Data: the detail model of render.ts (`kind`, `job`, the locations as shown, timings…).
 *
 * @example
 * ```ts
 * import { Eta } from "eta";
 * const eta = new Eta();
 * eta.loadTemplate("@detail", DETAIL);
 * ```
 */
export const DETAIL = `<div id="detail" data-state="<%= it.job.state %>">
<h1><%= it.job.name %> <span class="badge <%= it.job.state %>"><%= it.job.state %></span></h1>
<% if (it.job.error) { %><div class="errorbox">
<p class="err"><code>[<%= it.job.error.code %>]</code> <%= it.job.error.message %></p>
<p class="muted"><% if (it.job.error.stage) { %>stage <b><%= it.job.error.stage %></b><% } %><% if (it.job.error.plugin) { %>, plugin <b><%= it.job.error.plugin %></b><% } %><% if (it.job.error.hook) { %> (<%= it.job.error.hook %>)<% } %><% if (it.job.error.stage || it.job.error.plugin) { %> · <% } %><%= it.job.error.at %></p>
<% if (it.job.error.problems && it.job.error.problems.length) { %><ul><% it.job.error.problems.forEach((p) => { %><li><code><%= p.code %></code> <%= p.message %></li><% }) %></ul><% } %>
<% if (it.canRetry) { %><form method="post" action="/api/jobs/<%= it.job.id %>/retry"><button type="submit">Retry</button> <span class="muted"><% if (it.kind === "queue") { %>queues the job again for any worker<% } else { %>moves <code><%= it.failedPath %></code> back to <code>incoming/<%= it.job.to %>/</code><% } %></span></form><% } %>
</div><% } %>
<% if (it.job.state === "running") { %><p><progress max="100" value="<%= it.job.percent ?? 0 %>"></progress><span class="pct"><%= it.job.stage %><% if (it.job.percent !== undefined) { %> <%= it.job.percent.toFixed(1) %>%<% } %></span></p><% } %>
<div class="grid2">
<section class="panel">
<h2>Job</h2>
<dl class="facts">
<dt>Id</dt><dd><code><%= it.job.id %></code></dd>
<dt>Conversion</dt><dd><%= it.from %> → <%= it.job.to %></dd>
<% if (it.kind === "queue") { %><dt>Source</dt><dd><code><%= it.source %></code></dd><% } else if (it.job.state === "queued" || it.job.state === "running") { %><dt>Claimed file</dt><dd><code><%= it.source %></code></dd><% } %>
<dt>Output</dt><dd><% if (it.job.state === "done" && it.output) { %><code><%= it.output %></code><% if (it.outputSize) { %> (<%= it.outputSize %>)<% } %><% } else if (it.output && (it.job.state === "queued" || it.job.state === "running")) { %><code><%= it.output %></code> <span class="muted">when it succeeds</span><% } else { %><span class="muted">none</span><% } %></dd>
<% if (it.failedPath) { %><dt>Failed file</dt><dd><code><%= it.failedPath %></code></dd><% } %>
<dt>Virtual size</dt><dd><%= it.virtualSize %></dd>
<% if (it.job.worker) { %><dt>Worker</dt><dd><code><%= it.job.worker %></code></dd><% } %>
<dt><%= it.kind === "queue" ? "Submitted" : "Claimed" %></dt><dd><%= it.job.claimedAt %></dd>
<% if (it.job.startedAt) { %><dt>Started</dt><dd><%= it.job.startedAt %><% if (it.job.runs > 1) { %> (<%= it.kind === "queue" ? "attempt" : "run" %> <%= it.job.runs %>)<% } %></dd><% } %>
<% if (it.job.finishedAt) { %><dt>Finished</dt><dd><%= it.job.finishedAt %><% if (it.total) { %> · <%= it.total %><% } %></dd><% } %>
<% if (it.job.recovered) { %><dt>Recovered</dt><dd><%= it.kind === "queue" ? "an earlier attempt had committed the output" : "the output was complete when the watcher restarted" %></dd><% } %>
<% if (it.job.omitted && it.job.omitted.length) { %><dt>Not read</dt><dd><%= it.job.omitted.join("; ") %> <span class="muted">(too long or malformed; whoever can write the queue wrote it)</span></dd><% } %>
<% if (it.sourceHash) { %><dt>Source hash</dt><dd><code><%= it.sourceHash %></code></dd><% } %>
<% if (it.contentHash) { %><dt>Content hash</dt><dd><code><%= it.contentHash %></code><% if (it.verified) { %> <span class="muted">(source and output verified equal)</span><% } %></dd><% } %>
<% if (it.kind === "spool") { %><dt>Sidecar</dt><dd><% if (it.sidecar) { %><pre><%= it.sidecar %></pre><% } else { %><span class="muted"><%= it.job.hasSidecar ? "yes (not read yet)" : "none" %></span><% } %></dd><% } %>
</dl>
</section>
<section class="panel">
<h2>Inspection</h2>
<% if (it.inspection) { %><dl class="facts">
<dt>Format</dt><dd><%= it.inspection.format %><% if (it.inspection.variant) { %> (<%= it.inspection.variant %>)<% } %></dd>
<dt>Safe</dt><dd><%= it.inspection.safe ? "yes" : "no" %></dd>
<dt>Virtual size</dt><dd><%= it.inspectionVirtual %></dd>
<dt>File size</dt><dd><%= it.inspectionActual %></dd>
<dt>Detectors matched</dt><dd><%= (it.inspection.matches || []).join(", ") || "none" %></dd>
<% if (it.inspection.problems.length) { %><dt>Problems</dt><dd><ul><% it.inspection.problems.forEach((p) => { %><li><code><%= p.code %></code> <%= p.message %></li><% }) %></ul></dd><% } %>
</dl>
<% if (it.inspectionDetails) { %><pre><%= it.inspectionDetails %></pre><% } %>
<% } else { %><p class="muted"><%= it.job.finishedAt ? "No report: the job ended before the inspector finished (see the reason above)." : "Not inspected yet." %></p><% } %>
</section>
</div>
<div class="grid2">
<section class="panel">
<h2>Stages</h2>
<% if (it.stages.length) { %><table class="timeline"><tbody><% it.stages.forEach((s) => { %><tr><td><%= s.label %></td><td class="bar"><progress max="<%= it.stageMax %>" value="<%= s.ms %>"></progress></td><td class="ms mono"><%= s.time %></td></tr><% }) %></tbody></table><% } else { %><p class="muted">No stage finished yet.</p><% } %>
</section>
<section class="panel">
<h2>Hooks</h2>
<% if (it.hooks.length) { %><table class="timeline"><tbody><% it.hooks.forEach((h) => { %><tr><td><code><%= h.hook %></code> <%= h.plugin %></td><td class="bar"><progress max="<%= it.hookMax %>" value="<%= h.ms %>"></progress></td><td class="ms mono"><%= h.time %></td></tr><% }) %></tbody></table><% } else { %><p class="muted">No plugin hook ran.</p><% } %>
</section>
</div>
<% if (it.job.warnings.length) { %><section class="panel"><h2>Warnings</h2><ul><% it.job.warnings.forEach((w) => { %><li><%= w %></li><% }) %></ul></section><% } %>
</div>`;

/**
 * The detail page: the frame around {@link DETAIL}.
 *
 * @example
 * ```ts
 * import { Eta } from "eta";
 * const eta = new Eta();
 * eta.loadTemplate("@detail-page", DETAIL_PAGE);
 * ```
 */
export const DETAIL_PAGE = `<% layout("@layout", { title: it.job.name, nonce: it.nonce, label: it.label, style: it.style, script: it.script, live: true }) %>
<p><a href="/">← all jobs</a></p>
<%~ include("@detail", it) %>
`;
