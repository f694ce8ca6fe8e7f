"""Two portal nodes on one PostgreSQL behind nginx against one (issue 15 item 5). Needs root.

Run by hand:  python3 bench/bench_nodes.py [--seconds 8] [--rounds 2] [--connections 16]

A private PostgreSQL 15 (tests/postgres.py), one webcrypt home on it, two `webcrypt serve`
nodes (8 threads each), nginx configured as docs/admin.md's balancer (tests/test_cluster.py
builds that configuration). A 100 KB message (bench_portal.py's) is opened and logged in
through nginx; then wrk drives logged-in reads of it through nginx, with the upstream holding
one node, then both, alternating for --rounds rounds. Per run: reads per second, and the CPU
per read of the nodes, nginx and PostgreSQL (utime + stime from /proc over their process
trees), from which a projection to more cores follows. wrk's own CPU is the client's.
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import bench_portal  # noqa: E402
import bench_relay_cores  # noqa: E402
from cpu_support import tree_cpu  # noqa: E402
import memory_support  # noqa: E402
import postgres  # noqa: E402
import test_cluster  # noqa: E402
from conftest import write_settings  # noqa: E402

from webcrypt.base import config  # noqa: E402
from webcrypt.context.home import Home  # noqa: E402
from webcrypt.core import mime  # noqa: E402
from webcrypt.infra import store  # noqa: E402
from webcrypt.usecases import accounts, gateway, provision  # noqa: E402

PG_PORT = 13071
NODES = (13072, 13073)
BALANCER = 13075


def make_home(folder: Path, url: str) -> tuple[Path, bytes]:
    """The home on PostgreSQL, alice's password set, and the envelope of a 100 KB message to her."""
    path = provision.init_home(folder, f"http://127.0.0.1:{BALANCER}")
    write_settings(path, {"database": {"url": f'"{url}"'},
                          "portal": {"secure_cookies": "false", "trusted_proxies": '["127.0.0.1"]'},
                          "accounts": {"credentials_to": '"print"', "force_password_change": "false",
                                       "scrypt_log_n": "12"}})
    home = Home(config.load(path))
    home.connect(check_schema=False)
    store.migrate()
    (sealed,) = gateway.encrypt(home, bench_portal.message_100k(), "clerk@bank.example", ["alice@example.org"],
                                print_login_data=lambda new: None)
    accounts.set_password(home, accounts.get("alice@example.org"), bench_portal.PASSWORD)
    home.close()
    return path, mime.extract_envelope(sealed.data)


def nginx_conf(folder: Path, nodes: int) -> Path:
    """docs/admin.md's balancer (as tests/test_cluster.py writes it), with one or both nodes."""
    test_cluster.NODES, test_cluster.BALANCER = NODES, BALANCER
    text = test_cluster.nginx_conf(folder)
    if nodes == 1:
        text = re.sub(rf"\n\s*server 127\.0\.0\.1:{NODES[1]}[^\n]*;", "", text)
    path = folder / f"nginx-{nodes}.conf"
    path.write_text(text)
    return path


class Balancer:
    def __init__(self, folder: Path, nodes: int):
        self.process = subprocess.Popen(["nginx", "-c", str(nginx_conf(folder, nodes)), "-g",
                                         "daemon off; master_process on;"],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        memory_support.wait_for_port(BALANCER)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(15)


def start_node(conf: Path, port: int) -> subprocess.Popen:
    node = subprocess.Popen([sys.executable, "-m", "webcrypt", "-c", str(conf), "serve", "--listen",
                             f"127.0.0.1:{port}", "--threads", "8"], stderr=subprocess.DEVNULL, cwd=ROOT)
    memory_support.wait_for_port(port)
    return node


def one_run(folder: Path, nodes: list, server: postgres.Server, count: int, path: str, cookie: str, args) -> dict:
    balancer = Balancer(folder, count)
    try:
        trees = [n.pid for n in nodes] + [balancer.process.pid, bench_relay_cores.postmaster(server)]
        before = [tree_cpu(pid) for pid in trees]
        result = bench_portal.wrk(path, cookie, args.seconds, args.connections)
        after = [tree_cpu(pid) for pid in trees]
    finally:
        balancer.stop()
    used = [b - a for a, b in zip(before, after)]
    reads = result["rate"] * args.seconds
    return {"rate": result["rate"], "errors": result["errors"], "p99": result["p99"],
            "nodes_ms": sum(used[:2]) / reads * 1000, "nginx_ms": used[2] / reads * 1000,
            "pg_ms": used[3] / reads * 1000, "load": os.getloadavg()[0]}


def measure(seconds: int = 8, rounds: int = 2, connections: int = 16) -> dict:
    """{1: [run, ...], 2: [run, ...]}: reads through nginx with one node, then both, alternating."""
    args = argparse.Namespace(seconds=seconds, connections=connections)
    portal_port, bench_portal.PORT = bench_portal.PORT, BALANCER  # its login and wrk go through nginx
    server = postgres.Server(PG_PORT).start()
    nodes = []
    try:
        with tempfile.TemporaryDirectory(dir="/tmp") as tmp:
            folder = Path(tmp)
            folder.chmod(0o755)
            conf, envelope = make_home(folder / "home", server.create_database("wc_nodes"))
            nodes = [start_node(conf, port) for port in NODES]
            balancer = Balancer(folder, 2)
            try:
                upload, cookie, _ = bench_portal.login(envelope)
            finally:
                balancer.stop()
            results = {1: [], 2: []}
            for _ in range(rounds):
                for count in (1, 2):
                    results[count].append(one_run(folder, nodes, server, count, f"/message/{upload}", cookie, args))
            return results
    finally:
        for node in nodes:
            node.terminate()
            node.wait(15)
        server.stop()
        bench_portal.PORT = portal_port


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    results = measure(args.seconds, args.rounds, args.connections)
    one = statistics.median(r["rate"] for r in results[1])
    print(f"logged-in reads of a 100 KB message through nginx, wrk -t2 -c{args.connections} -d{args.seconds}s, "
          f"{os.cpu_count()} cores, PostgreSQL 15")
    print("| nodes | reads/s (runs) | median | / one node | non-2xx | CPU per read: nodes | nginx | PostgreSQL |")
    print("|---|---|---|---|---|---|---|---|")
    for count, runs in results.items():
        rate = statistics.median(r["rate"] for r in runs)
        rates = ", ".join(f"{r['rate']:.0f}" for r in runs)
        print(f"| {count} | {rates} | {rate:.0f} | {rate / one:.2f}x | "
              f"{sum(r['errors'] for r in runs)} | {statistics.median(r['nodes_ms'] for r in runs):.2f} ms | "
              f"{statistics.median(r['nginx_ms'] for r in runs):.2f} ms | "
              f"{statistics.median(r['pg_ms'] for r in runs):.2f} ms |")
    print("load average during the runs: " + ", ".join(f"{r['load']:.1f}" for runs in results.values() for r in runs))


if __name__ == "__main__":
    main()
