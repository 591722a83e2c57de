/**
 * The dashboard's stylesheet, as a string module so `tsc` ships it in dist/ with no copy
 * step. Light and dark follow prefers-color-scheme; every text colour meets WCAG AA (4.5:1)
 * on its background in both; status is always a word, never colour alone.
 */
export const STYLE = `
:root{color-scheme:light dark;--bg:#fff;--fg:#1b1f24;--muted:#57606a;--line:#d0d7de;--panel:#f6f8fa;
--link:#0550ae;--ok:#116329;--okbg:#dafbe1;--bad:#a40e26;--badbg:#ffebe9;--warn:#7d4e00;--warnbg:#fff8c5;
--run:#0550ae;--runbg:#ddf4ff;--idle:#57606a;--idlebg:#eaeef2;--focus:#0969da;--btn:#0550ae;--btnfg:#fff;--danger:#a40e26}
@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--fg:#e6edf3;--muted:#9ea7b3;--line:#30363d;--panel:#161b22;
--link:#6cb6ff;--ok:#7ee787;--okbg:#12361f;--bad:#ff9492;--badbg:#4a1014;--warn:#e3b341;--warnbg:#3b2e05;
--run:#79c0ff;--runbg:#0c2d4f;--idle:#b1bac4;--idlebg:#272e37;--focus:#79c0ff;--btn:#1a5fd0;--btnfg:#fff;--danger:#f85149}}
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:var(--bg);color:var(--fg)}
a{color:var(--link)}
:focus-visible{outline:3px solid var(--focus);outline-offset:2px}
.skip{position:absolute;left:-999px}.skip:focus{left:8px;top:8px;background:var(--bg);padding:4px 8px;z-index:9}
header.top{display:flex;gap:16px;align-items:center;flex-wrap:wrap;padding:8px 20px;border-bottom:1px solid var(--line);background:var(--panel)}
header.top .brand{font-weight:700;text-decoration:none;color:var(--fg)}
header.top nav ul{display:flex;gap:14px;list-style:none;margin:0;padding:0}
header.top nav a[aria-current=page]{font-weight:700;text-decoration:none;color:var(--fg)}
header.top .who{margin-left:auto;display:flex;gap:10px;align-items:center;color:var(--muted)}
main{padding:16px 20px;max-width:1280px}
h1{font-size:1.45rem;margin:4px 0 12px}h2{font-size:1.1rem;margin:22px 0 8px}
.muted{color:var(--muted)}.mono,code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.86rem}
table{border-collapse:collapse;width:100%;margin:4px 0 8px}
th,td{text-align:left;padding:5px 8px;border-bottom:1px solid var(--line);vertical-align:top}
th{font-size:.82rem;color:var(--muted);font-weight:600}tbody th{font-size:inherit;color:var(--fg)}caption{text-align:left;padding:2px 0}
td.num,th.num{text-align:right}.nowrap{white-space:nowrap}
.badge{display:inline-block;padding:0 7px;border-radius:10px;font-size:.8rem;font-weight:600;border:1px solid currentColor}
.s-succeeded,.s-accepted,.s-ok{color:var(--ok);background:var(--okbg)}
.s-failed,.s-rejected,.s-interrupted,.s-FAILED{color:var(--bad);background:var(--badbg)}
.s-running,.s-queued{color:var(--run);background:var(--runbg)}
.s-cancelled,.s-superseded,.s-skipped,.s-ignored,.s-duplicate,.s-none{color:var(--idle);background:var(--idlebg)}
.failure{border:1px solid var(--bad);background:var(--badbg);color:var(--bad);padding:8px 12px;border-radius:6px;margin:0 0 12px;font-weight:600}
.note{border:1px solid var(--line);background:var(--panel);padding:8px 12px;border-radius:6px}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(260px,1fr));gap:12px}
.card{border:1px solid var(--line);border-radius:8px;padding:10px 14px;background:var(--panel)}
.card h2{margin-top:0}.card .mono{overflow-wrap:anywhere}
dl.kv{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;margin:0}dl.kv dt{color:var(--muted)}dl.kv dd{margin:0;overflow-wrap:anywhere}
form.inline{display:inline}
.actions{display:flex;gap:8px;flex-wrap:wrap;align-items:end;margin:8px 0}
button,.button{font:inherit;padding:4px 12px;border-radius:6px;border:1px solid var(--btn);background:var(--btn);color:var(--btnfg);cursor:pointer}
button.secondary{background:transparent;color:var(--link)}button.danger{background:transparent;border-color:var(--danger);color:var(--danger)}
input,select{font:inherit;padding:3px 6px;border:1px solid var(--muted);border-radius:5px;background:var(--bg);color:var(--fg)}
label{display:inline-flex;flex-direction:column;font-size:.85rem;color:var(--muted);gap:2px}
label.check{flex-direction:row;align-items:center;gap:6px}
.filters{display:flex;gap:10px;flex-wrap:wrap;align-items:end;margin:6px 0 10px}
.timeline{width:100%;margin:4px 0}.timeline th.tl{width:45%}.timeline td{padding:3px 8px}.timeline svg{display:block;width:100%;height:14px}
.bar-succeeded{fill:var(--ok)}.bar-failed{fill:var(--bad)}.bar-skipped{fill:var(--idle)}.bar-running{fill:var(--run)}
#log{max-height:460px;overflow:auto;background:var(--panel);border:1px solid var(--line);border-radius:6px;padding:6px 10px;margin:0;white-space:pre-wrap;overflow-wrap:anywhere}
#log .l{display:block}#log .st{color:var(--muted)}
.logbar{display:flex;gap:14px;align-items:center;margin:4px 0}
.login{max-width:420px;margin:60px auto}.login input{width:100%}.login label{display:flex}
.chart{min-height:300px}
.card.wide{grid-column:1/-1}
.s-passed{color:var(--ok);background:var(--okbg)}.s-changed,.s-added{color:var(--warn);background:var(--warnbg)}.s-unchanged,.s-removed{color:var(--idle);background:var(--idlebg)}
table.gate th.gate-col{width:35%}.gate-bar{display:block;width:100%;height:14px;min-width:120px}
.gate-track{fill:var(--line)}.gate-pass{fill:var(--okbg);stroke:var(--ok);stroke-width:.2}.gate-bound{fill:var(--fg)}
.gate-value.gate-passed{fill:var(--ok)}.gate-value.gate-failed{fill:var(--bad)}.gate-value.gate-skipped{fill:var(--idle)}
.u-legend{font-size:.85rem}
@media (max-width:700px){main{padding:10px}th,td{padding:4px}}
`;
