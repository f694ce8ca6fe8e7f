"""CPU time of a process tree, from /proc (Linux), for the benchmarks' per-request figures."""

import os
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


def tree_cpu(root: int) -> float:
    """CPU seconds (user + system) of *root* and all its descendants, from /proc."""
    parents, cpu = {}, {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry)] = int(fields[1])
        cpu[int(entry)] = (int(fields[11]) + int(fields[12])) / TICKS
    wanted = {root}
    for pid in sorted(parents):  # descendants: walk up from each process
        chain, current = [], pid
        while current in parents and current not in wanted and current > 1:
            chain.append(current)
            current = parents[current]
        if current in wanted:
            wanted.update(chain)
    return sum(cpu.get(pid, 0.0) for pid in wanted)
