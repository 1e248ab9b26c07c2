/**
 * The jobs page's live updates: each `job` event from `/api/events` carries the row as the
 * server rendered (and escaped) it, and the counters.
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
  const source = new EventSource("/api/events");
  source.addEventListener("open", () => { live.textContent = "live"; live.className = "live on"; });
  source.addEventListener("error", () => { live.textContent = "reconnecting"; live.className = "live off"; });
  source.addEventListener("job", (message) => {
    const update = JSON.parse(message.data);
    const template = document.createElement("template");
    template.innerHTML = update.row.trim();
    const row = template.content.firstElementChild;
    const old = document.getElementById("job-" + update.job.id);
    if (old) old.replaceWith(row);
    else rows.prepend(row);
    document.getElementById("empty")?.remove();
    for (const [state, count] of Object.entries(update.counts)) {
      const cell = document.getElementById("count-" + state);
      if (cell) cell.textContent = String(count);
    }
  });
})();`;

/**
 * The detail page's live updates: progress in place, the whole view again when the state changes.
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
  source.addEventListener("job", async (message) => {
    const update = JSON.parse(message.data);
    if (update.job.id !== id || refreshing) return;
    const detail = document.getElementById("detail");
    if (detail.dataset.state === update.job.state && update.job.state !== "running") return;
    refreshing = true;
    try {
      const response = await fetch("/jobs/" + id + "?fragment=1", { headers: { accept: "text/html" } });
      if (response.ok) {
        const template = document.createElement("template");
        template.innerHTML = (await response.text()).trim();
        detail.replaceWith(template.content.firstElementChild);
      }
    } finally {
      refreshing = false;
    }
  });
})();`;
