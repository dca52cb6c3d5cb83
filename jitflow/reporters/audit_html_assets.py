"""Inline CSS and JS of the HTML audit report (one file, no network: it opens air-gapped)."""

from __future__ import annotations

CSS = """
:root{--ink:#0f172a;--muted:#64748b;--line:#e2e8f0;--bg:#f8fafc;--card:#fff;--bad:#dc2626;
--good:#15803d}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
color:var(--ink);background:var(--bg)}
a{color:#1d4ed8}
header{background:linear-gradient(120deg,#0f172a,#1e3a8a);color:#fff;padding:20px 32px}
header h1{margin:0 0 10px;font-size:22px;font-weight:650;letter-spacing:.2px}
header a{color:#bfdbfe}
.meta{display:grid;grid-template-columns:repeat(auto-fill,minmax(260px,1fr));gap:4px 24px;
margin:0;font-size:13px}
.meta div{display:flex;gap:8px;min-width:0}
.meta dt{color:#94a3b8;min-width:92px}
.meta dd{margin:0;color:#e2e8f0;overflow-wrap:anywhere}
.meta code{color:inherit;font-size:12px}
main{padding:18px 32px 40px;max-width:1500px;margin:0 auto}
.verdict{border-radius:12px;padding:14px 18px;margin-bottom:18px;border:2px solid}
.verdict h2{margin:0;font-size:17px}
.verdict.ok{background:#f0fdf4;border-color:#86efac;color:var(--good)}
.verdict.bad{background:#fef2f2;border-color:var(--bad);color:#991b1b}
.verdict.unknown{background:#f1f5f9;border-color:#cbd5e1;color:var(--muted)}
.verdict ul{margin:8px 0 0;padding-left:20px;color:var(--ink)}
.verdict li{margin:2px 0}
.cards{display:flex;gap:12px;flex-wrap:wrap;margin-bottom:18px}
.card{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:8px 16px;
min-width:110px}
.card b{display:block;font-size:21px}
.card span{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.6px}
.dot{display:inline-block;width:10px;height:10px;border-radius:3px;margin-right:6px}
section{background:var(--card);border:1px solid var(--line);border-radius:12px;padding:14px 18px;
margin-bottom:18px}
section h2{margin:0 0 8px;font-size:15px}
.note{color:var(--muted);font-size:12px;margin:6px 0 0}
.filters{display:flex;gap:14px;align-items:end;flex-wrap:wrap}
.filters label{display:flex;flex-direction:column;font-size:12px;color:var(--muted);gap:4px}
select{font:inherit;padding:5px 8px;border:1px solid #cbd5e1;border-radius:6px;background:#fff;
min-width:150px}
#shown{margin-left:auto;color:var(--muted);font-size:13px}
svg{width:100%;height:auto;display:block}
svg text{font:12px system-ui,sans-serif;fill:var(--ink)}
svg .tick{fill:var(--muted);font-size:11px}
svg .grid{stroke:var(--line)}
svg .lane{fill:#f1f5f9}
svg .bar{stroke:rgba(15,23,42,.25);stroke-width:.5}
svg .flagged{stroke:#7f1d1d;stroke-width:1.5}
.legend{display:flex;gap:16px;margin-top:8px;color:var(--muted);font-size:12px;flex-wrap:wrap}
table{border-collapse:collapse;width:100%;font-size:12.5px;table-layout:fixed}
th{text-align:left;font-weight:600;color:var(--muted);border-bottom:2px solid var(--line);
padding:6px 8px}
td{border-bottom:1px solid var(--line);padding:6px 8px;vertical-align:top;overflow-wrap:anywhere}
td b{font-weight:600}
tr.flagged td{background:#fef2f2}
tr.flagged td:first-child{box-shadow:inset 5px 0 0 var(--bad)}
.finding{color:#991b1b;font-weight:600;margin-top:4px}
.pill{display:inline-block;padding:1px 8px;border-radius:999px;color:#fff;font-size:12px;
font-weight:600}
.pill.flag{background:var(--bad)}
.muted{color:var(--muted)}
.late{color:#b45309;font-weight:600}
code,tt,a.c{font:11.5px ui-monospace,"DejaVu Sans Mono",monospace;color:#334155}
a.c{color:#1d4ed8}
.hidden{display:none}
#print-requests{display:none}
@media print{
  @page{size:A4 landscape;margin:10mm}
  *{-webkit-print-color-adjust:exact;print-color-adjust:exact}
  body{background:#fff;font-size:10px}
  header{background:#fff;color:var(--ink);padding:0 0 6px;border-bottom:2px solid var(--ink)}
  header h1{font-size:17px;margin-bottom:4px}
  header a,.meta dd{color:var(--ink)}
  .meta{font-size:10px;grid-template-columns:repeat(3,1fr);gap:1px 16px}
  .meta dt{color:var(--muted);min-width:70px}
  .meta code{font-size:9px}
  main{padding:6px 0;max-width:none}
  section,.card,.verdict{box-shadow:none}
  section{border:none;padding:0;margin-bottom:8px}
  .verdict{padding:6px 12px;margin-bottom:8px}
  .verdict h2{font-size:13px}
  .cards{gap:8px;margin-bottom:8px}
  .card{padding:3px 10px;min-width:80px}
  .card b{font-size:15px}
  .card span{font-size:9px}
  #filters{display:none}
  section h2{break-after:avoid}
  #timeline-section svg{max-height:100mm;width:auto;max-width:100%;margin:0 auto;
  break-inside:avoid}
  .legend{margin-top:4px}
  #requests{display:none}
  #print-requests{display:block}
  #print-requests .note{margin:0 0 4px}
  .pr{font-size:7.5px;line-height:1.3;white-space:pre-line;overflow-wrap:anywhere;
  padding:2px 4px;border-bottom:1px solid var(--line);break-inside:avoid}
  .pr.flagged{background:#fef2f2;box-shadow:inset 4px 0 0 var(--bad);padding-left:8px}
  .pr .flag{color:#fff;background:var(--bad);border-radius:3px;padding:0 4px;font-weight:700}
  .pr .finding{color:#991b1b;font-weight:600}
  a{color:inherit;text-decoration:none}
  code,tt,a.c{font-size:7px}
}
"""

JS = """
(function(){
  var sel = {requester: document.getElementById('f-requester'),
             policy: document.getElementById('f-policy'),
             outcome: document.getElementById('f-outcome'),
             flagged: document.getElementById('f-flagged')};
  function keep(el){
    for (var k in sel){ var v = sel[k].value; if (v && el.getAttribute('data-' + k) !== v)
      return false; }
    return true;
  }
  function apply(){
    var shown = 0;
    document.querySelectorAll('[data-row]').forEach(function(el){
      var ok = keep(el); el.classList.toggle('hidden', !ok);
      if (ok && el.tagName === 'TR') shown++;
    });
    document.getElementById('shown').textContent = shown + ' request(s) shown';
  }
  var preset = new URLSearchParams(location.hash.slice(1));
  for (var k in sel) {
    if (preset.get(k)) sel[k].value = preset.get(k);
    sel[k].addEventListener('change', apply);
  }
  apply();
})();
"""
