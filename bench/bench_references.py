"""`webcrypt pipe` on a reply with a long References field (issue 9, item 9).

Run by hand:  python3 bench/bench_references.py [--before REV] [--runs 3] [--ids 50000]

Measured side by side in one run, alternating, wall time of whole `pipe` processes:
- this checkout, and (with --before) the revision REV of this repository, unpacked by
  `git archive` into a temporary folder, each with its own home made by its own code;
- a reply (no keyword) whose References holds N ids, folded one per line as mail clients
  write it, and whose parent is not a webcrypt message: unmarked, the thread lookup runs;
- the same reply with the keyword: marked, the header is read again to seal it.
Also in this process, this checkout only: reading the header and choosing the thread ids for
1,000 / 10,000 / 50,000 ids, to show the cost grows linearly with the header.
The next hop is an SMTP sink in this process (aiosmtpd), accepting everything.
"""

import argparse
import io
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from gateway_support import Sink  # noqa: E402

from webcrypt.core import mime, policy  # noqa: E402

PORT = 12590


def reply(ids: int, subject: str) -> bytes:
    references = "\n ".join(f"<id{i:06d}.thread@mail{i % 97}.example>" for i in range(ids))
    return (
        f"From: clerk@corp.example\nTo: alice@example.org\nSubject: {subject}\n"
        f"In-Reply-To: <id{ids - 1:06d}.thread@mail{(ids - 1) % 97}.example>\nReferences: {references}\n\nThanks.\n"
    ).encode()


def unpack(revision: str, folder: Path) -> Path:
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", revision], capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    return folder


def make_home(tree: Path, folder: Path) -> Path:
    """A home made by the tree's own code, reinjecting to the sink."""
    code = (
        "import sys; from pathlib import Path; from webcrypt.usecases import provision; "
        "print(provision.init_home(Path(sys.argv[1]), 'https://portal.example.com'))"
    )
    made = subprocess.run([sys.executable, "-c", code, str(folder)], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(tree)}, cwd=tree, check=True)
    conf = Path(made.stdout.strip())
    text = conf.read_text().replace('reinject = "sendmail:/usr/sbin/sendmail"', f'reinject = "smtp://127.0.0.1:{PORT}"')
    conf.write_text(text)
    return conf


def run_pipe(tree: Path, conf: Path, data: bytes) -> float:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    command = [sys.executable, "-m", "webcrypt", "-c", str(conf), "pipe", "-f", "clerk@corp.example", "--", "alice@example.org"]
    started = time.perf_counter()
    # run in the tree: `python -m` puts the working directory first on the module path
    result = subprocess.run(command, input=data, capture_output=True, env=env, cwd=tree)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"pipe in {tree} failed ({result.returncode}): {result.stderr.decode()[-300:]}")
    return elapsed


def in_process(ids: int, runs: int = 5) -> tuple[float, int]:
    """Best of *runs*: reading the header (both readings) and choosing the thread ids."""
    raw = reply(ids, "Re: offer")
    best, chosen = float("inf"), []
    for _ in range(runs):
        started = time.perf_counter()
        chosen = policy.thread_ids(mime.fields_any_reader_sees(raw))
        best = min(best, time.perf_counter() - started)
    return best, len(chosen)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", help="a git revision to compare with (e.g. main)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--ids", type=int, default=50_000)
    args = parser.parse_args()
    messages = {"unmarked": reply(args.ids, "Re: offer"), "marked": reply(args.ids, "[secure] Re: offer")}
    print(f"References of {args.ids} ids: message of {len(messages['unmarked']):,} bytes; {args.runs} runs each")
    with tempfile.TemporaryDirectory() as tmp, Sink(PORT):
        trees = {"this checkout": ROOT}
        if args.before:
            trees[f"before ({args.before})"] = unpack(args.before, Path(tmp) / "before")
        confs = {name: make_home(tree, Path(tmp) / f"home{i}") for i, (name, tree) in enumerate(trees.items())}
        times = {(name, kind): [] for name in trees for kind in messages}
        for _ in range(args.runs):
            for kind, data in messages.items():
                for name, tree in trees.items():  # alternating, so both see the same machine load
                    times[(name, kind)].append(run_pipe(tree, confs[name], data))
        for (name, kind), values in times.items():
            print(f"  pipe, {kind:8} {name:24} median {statistics.median(values):7.3f} s  (min {min(values):.3f})")
    for ids in (20, 1_000, 10_000, 50_000):
        seconds, chosen = in_process(ids)
        print(f"  header read + thread ids, {ids:6} ids: {seconds * 1000:8.2f} ms, {chosen} ids looked up")


if __name__ == "__main__":
    main()
