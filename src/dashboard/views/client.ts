/**
 * The jobs page's live updates: each `job` event from `/api/events` carries the row as the
 * server rendered (and escaped) it, and the counters; each (re)connection brings the counters
 * and every row as it stands then (`?rows=1`), so nothing added before the stream opened is missed.
 *
 * @example
 * ```ts
 * import { Eta } from "eta";
 * const eta = new Eta();
 * declare const data: object;
 * eta.render("@index", { ...data, script: INDEX_SCRIPT });
 * ```
 */
export const INDEX_SCRIPT = `(() => {
  const rows = document.getElementById("jobs");
  const live = document.getElementById("live");
  const source = new EventSource("/api/events?rows=1");
  source.addEventListener("open", () => { live.textContent = "live"; live.className = "live on"; });
  source.addEventListener("error", () => { live.textContent = "reconnecting"; live.className = "live off"; });
  const count = (counts) => {
    for (const [state, n] of Object.entries(counts)) {
      const cell = document.getElementById("count-" + state);
      if (cell) cell.textContent = String(n);
    }
  };
  const place = (id, html) => {
    const template = document.createElement("template");
    template.innerHTML = html.trim();
    const row = template.content.firstElementChild;
    const old = document.getElementById("job-" + id);
    if (old) old.replaceWith(row);
    else rows.prepend(row);
    document.getElementById("empty")?.remove();
  };
  // Every (re)connection starts with the rows as they stand (newest first: placed oldest first),
  // so a job added before the stream opened is shown too.
  source.addEventListener("hello", (message) => {
    const hello = JSON.parse(message.data);
    for (const { id, row } of (hello.rows ?? []).slice().reverse()) place(id, row);
    count(hello.counts);
  });
  source.addEventListener("job", (message) => {
    const update = JSON.parse(message.data);
    place(update.job.id, update.row);
    count(update.counts);
  });
})();`;

/**
 * The detail page's live updates: progress in place, the whole view again when the state
 * changes, and once on every (re)connection, for what happened before the stream was open. A
 * change that arrives during a refresh is fetched right after it, never dropped.
 *
 * @example
 * ```ts
 * import { Eta } from "eta";
 * const eta = new Eta();
 * declare const data: object;
 * eta.render("@detail-page", { ...data, script: DETAIL_SCRIPT });
 * ```
 */
export const DETAIL_SCRIPT = `(() => {
  const id = location.pathname.split("/").pop();
  const live = document.getElementById("live");
  const source = new EventSource("/api/events");
  source.addEventListener("open", () => { live.textContent = "live"; live.className = "live on"; });
  source.addEventListener("error", () => { live.textContent = "reconnecting"; live.className = "live off"; });
  let refreshing = false;
  let again = false;
  const refresh = async () => {
    if (refreshing) { again = true; return; }
    refreshing = true;
    try {
      do {
        again = false;
        const response = await fetch("/jobs/" + id + "?fragment=1", { headers: { accept: "text/html" } });
        if (response.ok) {
          const template = document.createElement("template");
          template.innerHTML = (await response.text()).trim();
          document.getElementById("detail").replaceWith(template.content.firstElementChild);
        }
      } while (again);
    } finally {
      refreshing = false;
    }
  };
  source.addEventListener("hello", () => void refresh());
  source.addEventListener("job", (message) => {
    const update = JSON.parse(message.data);
    if (update.job.id !== id) return;
    const detail = document.getElementById("detail");
    if (detail.dataset.state === update.job.state && update.job.state !== "running") return;
    void refresh();
  });
})();`;
