"""Where the product stands: run the benchmarks and rewrite the table at the top of docs/performance.md.

Run by hand (root: Postfix, PostgreSQL and nginx are started privately):

    python3 bench/summary.py                 # quick variant of each (a few minutes)
    python3 bench/summary.py --full          # the full runs the sections below describe
    python3 bench/summary.py --only relay,portal   # some groups; the other rows stay as they were
    python3 bench/summary.py --dry-run       # print the table, leave the document alone

Groups (each calls the bench script's own functions):
- pipe:    bench_pipe.measure, in a clean venv (`pip install .`, no test extras; made or refreshed at
           --venv): pipe encrypt and pass against the dependency floor, whole processes alternating;
- postfix: bench_postfix.measure through a real Postfix, relay / do-nothing filter and, when the
           one-folder build exists (--executable), the default installation (exe-forward) / filter;
- cores:   bench_relay_cores.measure, relay processes 2 vs 1 on one PostgreSQL;
- portal:  bench_portal.run_case, logged-in reads (view cache on) / GET /healthz, alternating;
- nodes:   bench_nodes.measure, two portal nodes behind nginx vs one, on one PostgreSQL;
- memory:  bench_memory.measure, the 25 MB message through the relay and the portal.
The table goes between the summary markers of docs/performance.md (inserted after the title
if missing). Every row: figure, target, measured, met, environment, date, load average.
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

DOC = ROOT / "docs" / "performance.md"
START, END = "<!-- summary:start (bench/summary.py rewrites this table) -->", "<!-- summary:end -->"
GROUPS = ("pipe", "postfix", "cores", "portal", "nodes", "memory")
HEADER = ("| figure | target | measured | met | environment | date | load |\n"
          "|---|---|---|---|---|---|---|")
DEV = "development python (test extras)"


@dataclass
class Row:
    figure: str
    target: str
    measured: str
    met: str
    environment: str
    date: str = ""
    load: str = ""

    def line(self) -> str:
        return f"| {self.figure} | {self.target} | {self.measured} | {self.met} | {self.environment} | {self.date} | {self.load} |"


# The rows in the order the table shows them (figure names are the keys a later run replaces):
# the headline first, the appliance's own path (the one-folder build install.sh sets up, called by
# a real Postfix), then the package's.
ORDER = [
    "default installation (exe-forward) / do-nothing filter, via Postfix",
    "pipe encrypt / dependency floor",
    "pipe pass / dependency floor",
    "relay / do-nothing filter, via Postfix",
    "relay: 2 processes / 1, one PostgreSQL",
    "portal: logged-in read (100 KB, recall check) / GET /healthz",
    "portal: 2 nodes / 1 behind nginx, one PostgreSQL",
    "relay peak memory, 25 MB mail (x message over 2 KB)",
    "portal peak memory, 25 MB mail (x message over 2 KB)",
]


def stamp(row: Row) -> Row:
    row.date = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    row.load = f"{os.getloadavg()[0]:.1f}"
    return row


def verdict(ok: bool) -> str:
    return "met" if ok else "**not met**"


def clean_venv(path: Path) -> Path:
    """A venv with webcrypt and its runtime dependencies only (what `pip install` gives a user)."""
    python = path / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(path)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", str(ROOT)], check=True)
    else:  # this checkout's code, the dependencies as installed
        subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--force-reinstall", str(ROOT)],
                       check=True)
    return python


def pipe_rows(args) -> list[Row]:
    import bench_pipe

    python = clean_venv(Path(args.venv))
    bench_pipe.ENV.pop("PYTHONPATH", None)  # the venv's own installation, not this checkout
    results = bench_pipe.measure(30 if args.full else 8, program=[str(python), "-m", "webcrypt"],
                                 baseline=[str(python), "-c", "import email.parser, Crypto.Cipher.AES, peewee"])
    floor = statistics.median(results["baseline"]["wall"])
    rows = []
    for name, target in (("encrypt", 1.3), ("pass", 1.15)):
        ratio = statistics.median(results[name]["wall"]) / floor
        runs = len(results[name]["wall"])
        rows.append(stamp(Row(f"pipe {name} / dependency floor", f"≤ {target}x", f"{ratio:.2f}x "
                              f"({statistics.median(results[name]['wall']) * 1000:.0f} vs {floor * 1000:.0f} ms, "
                              f"{runs} pairs)", verdict(ratio <= target), "clean venv (runtime deps only)")))
    return rows


def postfix_rows(args) -> list[Row]:
    import bench_postfix
    from postfix_fixture import postfix_available

    if postfix_available():
        return [Row(figure, target, f"not run: {postfix_available()}", "", "")
                for figure, target in ((ORDER[2], "≥ 0.25x"), (ORDER[3], "≥ 0.9x"))]
    executable = args.executable or (str(ROOT / "build/dist/webcrypt-onedir") if
                                     (ROOT / "build/dist/webcrypt-onedir/webcrypt").exists() else "")
    modes = ["relay", "null"] + (["exe-forward"] if executable else [])
    rounds = 2 if args.full else 1
    options = bench_postfix.options(messages=400 if args.full else 150, executable=executable,
                                    port_offset=args.port_offset)
    results = bench_postfix.measure(modes * rounds, options)
    rates = {mode: [r["rate"] for r in results if r["mode"] == mode] for mode in modes}
    lost = sum(r["lost"] + r["duplicated"] for r in results)
    null = statistics.median(rates["null"])
    rows = []
    for mode, figure, target, environment in (
            ("exe-forward", ORDER[2], 0.25, "one-folder build, real Postfix"),
            ("relay", ORDER[3], 0.9, f"{DEV}, real Postfix")):
        if mode not in rates:
            rows.append(Row(figure, f"≥ {target}x", "not run: no one-folder build (--executable)", "", environment))
            continue
        ratio = statistics.median(rates[mode]) / null
        pairs = ", ".join(f"{a:.0f}/{b:.0f}" for a, b in zip(rates[mode], rates["null"]))
        rows.append(stamp(Row(figure, f"≥ {target}x", f"{ratio:.2f}x (msg/s {pairs}; {options.messages} x 100 KB; "
                              f"lost+duplicated {lost})", verdict(ratio >= target), environment)))
    return rows


def cores_rows(args) -> list[Row]:
    import bench_relay_cores

    results = bench_relay_cores.measure(400 if args.full else 200, 2 if args.full else 1)
    one, two = (statistics.median(r["rate"] for r in results[n]) for n in (1, 2))
    cpu = statistics.median(r["relay_ms"] for r in results[1])
    pg = statistics.median(r["pg_ms"] for r in results[1])
    cores = os.cpu_count()
    # smtp-source, the sink and PostgreSQL run on the same cores: 2 cannot show a second process's core
    met = verdict(two / one >= 1.6) if two / one >= 1.6 or cores >= 4 else \
        f"not shown on {cores} cores (client, sink, PostgreSQL share them; see its section)"
    return [stamp(Row(ORDER[4], "scales with cores (≥ 1.6x on 2)", f"{two / one:.2f}x ({one:.0f} → {two:.0f} msg/s; "
                      f"CPU per message: relay {cpu:.1f} ms, PostgreSQL {pg:.1f} ms)", met, f"{DEV}, {cores} cores"))]


def portal_rows(args) -> list[Row]:
    import bench_portal

    options = argparse.Namespace(seconds=10 if args.full else 4, connections=16, threads=8,
                                 rounds=3 if args.full else 2)
    with tempfile.TemporaryDirectory() as tmp:
        result = bench_portal.run_case(Path(tmp), 30, 17, options)
    ratio = result["ratio"]
    return [stamp(Row(ORDER[5], "≥ 0.5x", f"{ratio:.2f}x ({result['read']['rate']:.0f} vs "
                      f"{result['health']['rate']:.0f} req/s, {options.rounds} alternating rounds)",
                      verdict(ratio >= 0.5), f"{DEV}, SQLite"))]


def nodes_rows(args) -> list[Row]:
    import bench_nodes

    results = bench_nodes.measure(8 if args.full else 4, 2 if args.full else 1)
    one, two = (statistics.median(r["rate"] for r in results[n]) for n in (1, 2))
    cpu = statistics.median(r["nodes_ms"] + r["nginx_ms"] + r["pg_ms"] for r in results[1])
    cores = os.cpu_count()
    met = verdict(two / one >= 1.6) if cores >= 4 else f"not testable on {cores} cores (see Capacity)"
    return [stamp(Row(ORDER[6], "≥ 1.6x where the cores are", f"{two / one:.2f}x ({one:.0f} → {two:.0f} reads/s; "
                      f"server CPU per read {cpu:.1f} ms)", met, f"{DEV}, {cores} cores"))]


def memory_rows(args) -> list[Row]:
    import bench_memory

    _, rows = bench_memory.measure(["25"], ["relay", "portal"])
    label = rows[1][0]
    result = []
    for name, figure in (("relay", ORDER[7]), ("portal", ORDER[8])):
        ratio = bench_memory.over_tiny(rows, name, label)
        result.append(stamp(Row(figure, "≤ ~4x", f"{ratio:.1f}x ({rows[1][2][name]:.0f} MB peak, "
                                f"{rows[0][2][name]:.0f} MB at 2 KB)", verdict(ratio <= 4.2), DEV)))
    return result


MEASURES = {"pipe": pipe_rows, "postfix": postfix_rows, "cores": cores_rows, "portal": portal_rows,
            "nodes": nodes_rows, "memory": memory_rows}


def existing_rows(text: str) -> dict[str, Row]:
    """The rows of the table now in the document, by figure."""
    if START not in text:
        return {}
    block = text.split(START, 1)[1].split(END, 1)[0]
    rows = {}
    for line in block.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 7 and cells[0] not in ("figure", "---"):
            rows[cells[0]] = Row(*cells)
    return rows


def table(rows: dict[str, Row]) -> str:
    ordered = [rows[f] for f in ORDER if f in rows] + [r for f, r in rows.items() if f not in ORDER]
    return "\n".join([HEADER, *(row.line() for row in ordered)])


def rewrite(text: str, body: str) -> str:
    block = f"{START}\n{body}\n{END}"
    if START in text:
        return re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _: block, text, count=1, flags=re.S)
    title, rest = text.split("\n\n", 1)  # after the title and the first paragraph
    first, after = rest.split("\n\n", 1)
    return f"{title}\n\n{first}\n\n{block}\n\n{after}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--full", action="store_true", help="the full runs (tens of minutes) instead of quick ones")
    parser.add_argument("--only", default=",".join(GROUPS), help=f"groups to run, of {','.join(GROUPS)}")
    parser.add_argument("--venv", default="/tmp/webcrypt-summary-venv", help="the clean venv (made if missing)")
    parser.add_argument("--executable", default="", help="the one-folder build (default build/dist/webcrypt-onedir)")
    parser.add_argument("--port-offset", type=int, default=0, help="for bench_postfix.py's ports")
    parser.add_argument("--dry-run", action="store_true", help="print the table only")
    args = parser.parse_args()
    text = DOC.read_text()
    rows = existing_rows(text)
    for group in filter(None, args.only.split(",")):  # --only '' reorders the table, measures nothing
        print(f"== {group}", flush=True)
        for row in MEASURES[group](args):
            rows[row.figure] = row
            print(row.line(), flush=True)
    body = table(rows)
    if args.dry_run:
        print(body)
        return
    DOC.write_text(rewrite(DOC.read_text(), body))  # read again: the runs take minutes, the document may have changed
    print(f"rewrote the summary in {DOC.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
