/**
 * One job as a table row; the server renders it for the page and for each live update. Data: a JobView.
 *
 * @example
 * ```ts
 * import { Eta } from "eta";
 * const eta = new Eta();
 * eta.loadTemplate("@row", ROW);
 * import { jobView } from "../render.ts";
 * declare const job: DashboardJob;
 * eta.render("@row", jobView(job, "spool", (path) => path));
 * ```
 */
export const ROW = `<tr id="job-<%= it.id %>" class="job state-<%= it.state %>" data-state="<%= it.state %>">
<td class="id"><a href="/jobs/<%= it.id %>"><code><%= it.id %></code></a></td>
<td class="name"><%= it.name %></td>
<td class="conv"><%= it.from %> → <%= it.to %></td>
<td><span class="badge <%= it.state %>"><%= it.state %></span><% if (it.state === "running") { %>
<br><progress max="100" value="<%= it.percent ?? 0 %>"></progress><span class="pct"><%= it.stage %><% if (it.percent !== undefined) { %> <%= it.percent.toFixed(1) %>%<% } %></span><% if (it.worker) { %><br><span class="muted worker">on <%= it.worker %></span><% } %><% } %></td>
<td class="result"><% if (it.state === "done") { %><code><%= it.output %></code> <span class="muted"><%= it.outputSize %></span><% if (it.worker) { %> <span class="muted worker">by <%= it.worker %></span><% } %><% } else if (it.error) { %><span class="err"><code>[<%= it.error.code %>]</code> <%= it.error.message %></span><% } else if (it.state === "queued") { %><span class="muted"><% if (it.retrying) { %>to be tried again after <code>[<%= it.retrying %>]</code><% } else { %><%= it.kind === "queue" ? "waiting for a worker" : "waiting for a slot" %><% } %></span><% } else if (it.state === "retried") { %><span class="muted">back in incoming/</span><% } %></td>
<td class="when"><%= it.when %></td>
</tr>`;
