/**
 * The login form (token dashboards only). Data: `failed`.
 *
 * @example
 * ```ts
 * import { Eta } from "eta";
 * const eta = new Eta();
 * eta.loadTemplate("@login", LOGIN_PAGE);
 * ```
 */
export const LOGIN_PAGE = `<% layout("@layout", { title: "Sign in", nonce: it.nonce, label: it.label, style: it.style, live: false }) %>
<section class="panel login">
<h2>Sign in</h2>
<form method="post" action="/login">
<input type="password" name="token" placeholder="Dashboard token" autocomplete="current-password" required autofocus>
<button type="submit">Sign in</button>
</form>
<% if (it.failed) { %><p class="err">That token is not right.</p><% } %>
<p class="hint">The token is the one the dashboard was started with (<code>--token</code> or <code>DISKPIPE_TOKEN</code>).</p>
</section>
`;
