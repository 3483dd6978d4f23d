"""Formatting the report: numbers, ratios, verdicts, Markdown tables, labels, and paths written as
the repository's readers know them."""
import os
import re

def num(x, digits=0):
    if x is None:
        return "n/a"
    return f"{x:,.{digits}f}"


def ratio(a, b):
    return a / b if a is not None and b else None


def fmt_ratio(r):
    return "n/a" if r is None else f"{r:.2f}"


def versus(r, a, b, digits=0, unit=""):
    """'0.91 × (a / b)', or 'n/a' when either side is missing."""
    if r is None:
        return "n/a"
    return f"{r:.2f} × ({num(a, digits)}{unit} / {num(b, digits)}{unit})"


def verdict(ok):
    return "not measured" if ok is None else ("**met**" if ok else "**not met**")


def md_table(header, rows, align=None):
    align = align or ["---"] * len(header)
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def short_label(s, r):
    """'B 1×64, 16 B' from a kit record."""
    if "payload" not in r:
        return s
    b = r["payload"]
    size = f"{b // 1024} KiB" if b >= 1024 and b % 1024 == 0 else f"{b} B"
    return f"{s} {r.get('connections', '?')}×{r.get('inflight', '?')}, {size}"


def stream_label(s, r):
    """'S 1×1,000,000, 16 B' from a kit stream record."""
    if "payload" not in r or not r.get("connections"):
        return s
    b = r["payload"]
    size = f"{b // 1024} KiB" if b >= 1024 and b % 1024 == 0 else f"{b} B"
    return f"{s} {r['connections']}×{num(r.get('messages', 0) // r['connections'])}, {size}"


def path_forms(path):
    """A path as given and as resolved, without a trailing slash, longest first."""
    if not path:
        return []
    forms = {os.path.normpath(path) if not path.startswith("$") else path, os.path.abspath(path),
             os.path.realpath(path), path.rstrip("/")}
    return sorted((f for f in forms if f and f != "/"), key=len, reverse=True)


def relativizer(paths):
    """A function that writes this machine's paths in text as the repository's readers know them:
    the repository's own as relative paths (`bench/report.sh`, `.`), the kit's relative to the
    repository (`../shared/peers/run.sh`), the kit's build directory as `$PEERS_BUILD`."""
    repo = paths.get("repo") or ""
    subs = []  # (absolute form, replacement), most specific first
    if paths.get("peers_build"):
        subs += [(f, "$PEERS_BUILD") for f in path_forms(paths["peers_build"])]
    if paths.get("kit") and repo:
        kit_rel = os.path.relpath(os.path.realpath(paths["kit"]), os.path.realpath(repo))
        subs += [(f, kit_rel) for f in path_forms(paths["kit"])]
    if repo:
        subs += [(f, ".") for f in path_forms(repo)]
    subs.sort(key=lambda p: len(p[0]), reverse=True)
    if not subs:
        return lambda text: text
    pattern = re.compile("|".join(f"({re.escape(f)})(/|(?![\\w.+-]))" for f, _ in subs))

    def replace(m):
        for i, (_, to) in enumerate(subs):
            if m.group(2 * i + 1) is not None:
                slash = m.group(2 * i + 2)
                return (to + "/" if to != "." else "") if slash else to
        return m.group(0)

    return lambda text: pattern.sub(replace, text)
