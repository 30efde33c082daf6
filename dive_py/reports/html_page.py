"""Provides what the HTML reports share: escaping, data for scripts, the layer colours and the page around them.

Everything from an image (names, commands, labels) is hostile text: it reaches the page only through
:func:`esc` (element text and quoted attribute values) or :func:`script_json` (data a script reads), never
raw. The page is self-contained: its CSS and script are inline, it loads nothing, and it reads fully with
scripts off (the script only adds sorting and details on hover).
"""

from __future__ import annotations

import html
import json

from dive_py.safe_text import visible

LAYER_COLOURS = (
    "#4e79a7",
    "#f28e2b",
    "#59a14f",
    "#e15759",
    "#76b7b2",
    "#edc948",
    "#b07aa1",
    "#ff9da7",
    "#9c755f",
    "#bab0ac",
)
"""One colour per layer, repeating past ten (Tableau 10: tells most colour-blind readers the neighbours apart);
every cell also says its layer in text (``L4``), so no reader depends on hue alone."""

CHANGE_COLOURS = {"+": "#59a14f", "-": "#e15759", "~": "#edc948", ">": "#76b7b2"}
"""The diff's colours, the explorer's green, red, yellow and cyan; each shown with its ``+ - ~ >`` mark."""


def layer_colour(index: int) -> str:
    """The fill of layer ``index`` (0-based, as the explorer numbers layers)."""
    return LAYER_COLOURS[index % len(LAYER_COLOURS)]


def esc(text: object) -> str:
    """Text safe as element content or a quoted attribute value: ``< > & " '`` escaped, control and bidi
    characters shown as escapes (:func:`visible`: a name may hold any byte but ``/`` and NUL)."""
    return html.escape(visible(str(text)), quote=True)


_SCRIPT_SAFE = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"})


def script_json(value: object) -> str:
    """``value`` as JSON that can sit inside ``<script type="application/json">``: no ``<``, ``>``, ``&`` or line
    separators left raw, so no ``</script>``, ``<!--`` or ``]]>`` in a name ends the element early."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).translate(_SCRIPT_SAFE)


def table(headers: list[tuple[str, str]], rows: list[list[str]], *, sortable: bool = True, caption: str = "") -> str:
    """An HTML table; ``headers`` are (label, class) where class ``num`` right-aligns and sorts numerically.

    Cells must already be HTML (escape with :func:`esc`); a ``data-v`` attribute on a cell gives the script the
    value to sort by (bytes, not ``3.4 MB``).
    """
    head = "".join(f'<th class="{cls}" scope="col">{esc(label)}</th>' for label, cls in headers)
    body = "".join("<tr>" + "".join(row) + "</tr>" for row in rows)
    cap = f"<caption>{esc(caption)}</caption>" if caption else ""
    attr = ' class="sortable"' if sortable else ""
    return f"<table{attr}>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def td(text: object, *, num: int | float | None = None, cls: str = "") -> str:
    """One cell with escaped text; ``num`` is its sort value."""
    attrs = f' class="{cls}"' if cls else ""
    if num is not None:
        attrs += f' data-v="{num}"'
    return f"<td{attrs}>{esc(text)}</td>"


def page(title: str, body: str, data: object | None = None) -> str:
    """The whole document: ``body`` (HTML already escaped) with the inline style and script.

    Args:
        title: the page title (escaped here).
        body: the page content.
        data: what the script reads (hover details), embedded with :func:`script_json`.
    """
    payload = f'<script type="application/json" id="divepy-data">{script_json(data)}</script>' if data else ""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
        "script-src 'unsafe-inline'; img-src data:\">"
        f"<title>{esc(title)}</title><style>{CSS}</style></head>"
        f"<body>{body}{payload}<script>{SCRIPT}</script></body></html>\n"
    )


CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:0 auto;max-width:1280px;padding:0 16px 40px;color:#1d1d1f;
background:#fff}
h1{font-size:22px;margin:16px 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #ddd}
code,.mono{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12.5px;word-break:break-all}
table{border-collapse:collapse;margin:6px 0;width:100%}th,td{padding:3px 8px;border-bottom:1px solid #eee;
text-align:left;vertical-align:top}th.num,td.num{text-align:right;white-space:nowrap}
table.sortable th{cursor:pointer}caption{text-align:left;color:#555}
.figs{display:flex;flex-wrap:wrap;gap:8px}.fig{border:1px solid #ddd;border-radius:6px;padding:6px 12px}
.fig b{display:block;font-size:18px}.pass{color:#1a7f37}.fail{color:#cf222e;font-weight:bold}.skip{color:#777}
.bar{display:flex;height:34px;border:1px solid #999;margin:8px 0}.bar a{display:block;min-width:3px;
color:#000;text-decoration:none;font-size:11px;overflow:hidden;white-space:nowrap;border-right:1px solid #fff;
text-align:center;line-height:34px}.sw{display:inline-block;width:12px;height:12px;border:1px solid #555;
vertical-align:middle;margin-right:4px}
.tmview{display:none}.tmview.root{display:block}.tmview:target{display:block}
.tmviews:has(.tmview:target) .tmview.root:not(:target){display:none}
svg.tm{width:100%;height:auto;border:1px solid #999;background:#f4f4f4}svg.tm text{font:11px sans-serif;
pointer-events:none}svg.tm .hint{stroke:#000;stroke-width:3;stroke-dasharray:6 3}svg.tm a:hover rect{opacity:.8}
.crumbs{margin:6px 0}.legend span{margin-right:12px;white-space:nowrap}
#tip{position:fixed;pointer-events:none;background:#222;color:#fff;padding:4px 8px;border-radius:4px;
font-size:12px;display:none;max-width:520px;z-index:9;white-space:pre-line}
.mark{font-family:monospace;font-weight:bold}.add{color:#1a7f37}.del{color:#cf222e}.mod{color:#9a6700}
details{margin:6px 0}summary{cursor:pointer}
"""
"""The page's style (inline: the page loads nothing). Folder views are anchors: ``:target`` shows one."""

SCRIPT = r"""
(function(){
"use strict";
function val(td){var v=td.getAttribute("data-v");return v===null?td.textContent.toLowerCase():parseFloat(v);}
document.querySelectorAll("table.sortable").forEach(function(t){
  t.querySelectorAll("th").forEach(function(th,i){
    th.setAttribute("title","sort");
    th.addEventListener("click",function(){
      var body=t.tBodies[0],rows=Array.prototype.slice.call(body.rows),dir=th.dataset.dir==="a"?-1:1;
      th.dataset.dir=dir===1?"a":"d";
      rows.sort(function(a,b){var x=val(a.cells[i]),y=val(b.cells[i]);return x<y?-dir:x>y?dir:0;});
      rows.forEach(function(r){body.appendChild(r);});
    });
  });
});
var data=document.getElementById("divepy-data"),layers=[];
if(data){try{window.divepyData=JSON.parse(data.textContent);layers=window.divepyData.layers||[];}
catch(err){console.warn(err);}}
var tip=document.createElement("div");tip.id="tip";document.body.appendChild(tip);
document.querySelectorAll("svg.tm").forEach(function(svg){
  svg.addEventListener("mousemove",function(e){
    var el=e.target.closest("[data-l]");
    if(!el){tip.style.display="none";return;}
    var title=el.querySelector("title"),layer=layers[+el.getAttribute("data-l")];
    tip.textContent=(title?title.textContent:"")+(layer?"\nlayer "+layer.index+": "+layer.command:"");
    tip.style.display="block";
    tip.style.left=Math.min(e.clientX+12,window.innerWidth-540)+"px";tip.style.top=(e.clientY+14)+"px";
  });
  svg.addEventListener("mouseleave",function(){tip.style.display="none";});
});
})();
"""
"""The script on top: sortable tables, and on hover a cell's details with its layer's command (from the JSON data);
the page reads the same without it (each cell's ``<title>`` is its text)."""
