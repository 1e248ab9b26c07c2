/**
 * The dashboard's stylesheet, inlined into every page (one request, no static route).
 *
 * @example
 * ```ts
 * import { Eta } from "eta";
 * const eta = new Eta();
 * declare const data: object;
 * eta.render("@index", { ...data, style: STYLE });
 * ```
 */
export const STYLE = `
:root { --fg: #1d2430; --muted: #667085; --line: #e4e7ec; --bg: #f6f7f9; --card: #fff;
  --queued: #6b7280; --running: #2563eb; --done: #15803d; --failed: #b42318; --retried: #9a6700; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
a { color: var(--running); text-decoration: none; } a:hover { text-decoration: underline; }
code, .mono { font: 12.5px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
header.top { display: flex; align-items: center; gap: 16px; padding: 12px 28px; background: #111827; color: #e5e7eb; }
header.top .brand { color: #fff; font-weight: 700; font-size: 17px; letter-spacing: .2px; }
header.top .spool { color: #9ca3af; font-size: 13px; flex: 1; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.live { font-size: 12px; color: #9ca3af; } .live::before { content: "●"; margin-right: 6px; color: #9ca3af; }
.live.on::before { color: #22c55e; } .live.off::before { color: #f59e0b; }
main { max-width: 1180px; margin: 0 auto; padding: 22px 28px 40px; }
h1 { font-size: 20px; margin: 4px 0 16px; display: flex; align-items: center; gap: 10px; word-break: break-all; }
h2 { font-size: 14px; text-transform: uppercase; letter-spacing: .6px; color: var(--muted); margin: 0 0 10px; }
.counters { display: grid; grid-template-columns: repeat(4, 1fr); gap: 14px; margin-bottom: 18px; }
.counter { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 12px 16px; border-top: 3px solid var(--c); }
.counter b { display: block; font-size: 26px; line-height: 1.1; }
.counter span { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .6px; }
.counter.queued { --c: var(--queued); } .counter.running { --c: var(--running); } .counter.done { --c: var(--done); } .counter.failed { --c: var(--failed); }
.panel { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 16px 18px; margin-bottom: 18px; }
table { width: 100%; border-collapse: collapse; }
th { text-align: left; font-size: 12px; color: var(--muted); font-weight: 600; padding: 6px 10px; border-bottom: 1px solid var(--line); }
td { padding: 9px 10px; border-bottom: 1px solid var(--line); vertical-align: middle; }
tbody tr:last-child td { border-bottom: 0; }
td.name { font-weight: 600; overflow-wrap: anywhere; } td.id, td.conv { white-space: nowrap; } td.when { color: var(--muted); white-space: nowrap; font-size: 12.5px; }
td.result { max-width: 420px; word-break: break-word; }
.badge { display: inline-block; padding: 1px 9px; border-radius: 999px; font-size: 12px; font-weight: 600; color: #fff; background: var(--queued); text-transform: capitalize; }
.badge.running { background: var(--running); } .badge.done { background: var(--done); } .badge.failed { background: var(--failed); } .badge.retried { background: var(--retried); }
progress { width: 140px; height: 8px; vertical-align: middle; accent-color: var(--running); }
.pct { color: var(--muted); font-size: 12px; margin-left: 6px; white-space: nowrap; }
.err { color: var(--failed); } .err code { color: var(--failed); font-weight: 600; }
.muted { color: var(--muted); } .empty td { color: var(--muted); text-align: center; padding: 26px; }
.upload form { display: flex; flex-wrap: wrap; gap: 10px; align-items: center; }
select, input[type=text], input[type=password] { font: inherit; padding: 6px 8px; border: 1px solid var(--line); border-radius: 6px; background: #fff; }
button { font: inherit; padding: 6px 14px; border-radius: 6px; border: 1px solid #1d4ed8; background: var(--running); color: #fff; cursor: pointer; }
button.secondary { background: #fff; color: var(--fg); border-color: var(--line); }
.hint { color: var(--muted); font-size: 12.5px; margin: 10px 0 0; }
dl.facts { display: grid; grid-template-columns: 170px 1fr; gap: 6px 16px; margin: 0; }
dl.facts dt { color: var(--muted); } dl.facts dd { margin: 0; word-break: break-all; }
.grid2 { display: grid; grid-template-columns: 1fr 1fr; gap: 18px; margin-bottom: 18px; } .grid2 > .panel { margin-bottom: 0; }
.errorbox { border: 1px solid #fecdca; background: #fef3f2; border-radius: 10px; padding: 12px 16px; margin-bottom: 18px; }
.errorbox p { margin: 0 0 6px; } .errorbox form { margin-top: 12px; } .errorbox ul { margin: 6px 0 0; padding-left: 20px; }
.timeline td.ms { text-align: right; white-space: nowrap; width: 90px; } .timeline td.bar { width: 45%; } .timeline progress { width: 100%; accent-color: #64748b; }
pre { background: #f8fafc; border: 1px solid var(--line); border-radius: 6px; padding: 10px; overflow: auto; margin: 8px 0 0; }
.login { max-width: 380px; margin: 60px auto; } .login form { display: grid; gap: 10px; }
@media (max-width: 800px) { .counters { grid-template-columns: repeat(2, 1fr); } .grid2 { grid-template-columns: 1fr; } td.when { display: none; } }
`;
