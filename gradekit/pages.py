"""The kit's HTML pages for the teaching team: one self-contained file each, no scripts."""

import html

STYLE = (
    "body{font-family:sans-serif;max-width:60em;margin:2em auto;padding:0 1em;color:#222}"
    "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.2em .6em;"
    "text-align:left}th{background:#f3f3f3}img{max-width:100%}"
)


def table(table_id: str, header: list[str], rows: list[list], raw: bool = False) -> str:
    """An HTML table; every cell's text escaped (with `raw`, cells are HTML already)."""
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join(
        "<tr>"
        + "".join(f"<td>{cell if raw else html.escape(str(cell))}</td>" for cell in row)
        + "</tr>"
        for row in rows
    )
    return f'<table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def page(title: str, parts: list[str], style: str = "") -> str:
    """A whole page: its title, the kit's style (and `style`), the parts one after the other."""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{STYLE}{style}</style>"
        "</head><body>\n" + "\n".join(parts) + "\n</body></html>\n"
    )
