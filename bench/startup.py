#!/usr/bin/env python3
"""Startup time to the first answered request, and idle memory: nubo beside moto's server.

Both are started the same way (a process on a free loopback port, see peers.py) and probed
with the same request (STS GetCallerIdentity) until it answers; the clock starts before
the process is spawned. Idle memory is the resident set of the server and its children
after startup and one answered request. Results print as a table and as ratios.
"""

import argparse
import json
import statistics

import peers


def measure(make, runs):
    times, rss = [], []
    for _ in range(runs):
        s = make()
        try:
            times.append(s.wait_ready() * 1000)
            rss.append(s.rss_mib())
        finally:
            s.stop()
    times.sort()
    return {"startup_ms_median": statistics.median(times), "startup_ms_p90": times[int(0.9 * (len(times) - 1))],
            "idle_rss_mib": statistics.median(rss)}


def main():
    p = argparse.ArgumentParser(description=__doc__)
    peers.add_args(p)
    p.add_argument("--runs", type=int, default=10)
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    peers.check_args(args)
    results = {"nubo": measure(lambda: peers.nubo(args.nubo), args.runs),
               "moto": measure(lambda: peers.moto(args.python), args.runs)}
    n, m = results["nubo"], results["moto"]
    results["ratio"] = {"startup": m["startup_ms_median"] / n["startup_ms_median"], "idle_rss": m["idle_rss_mib"] / n["idle_rss_mib"]}
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"{'':8}{'startup p50':>14}{'startup p90':>14}{'idle RSS':>12}")
    for name in ("nubo", "moto"):
        r = results[name]
        print(f"{name:8}{r['startup_ms_median']:>11.1f} ms{r['startup_ms_p90']:>11.1f} ms{r['idle_rss_mib']:>8.1f} MiB")
    print(f"startup: nubo {n['startup_ms_median']:.1f} ms, moto {m['startup_ms_median']:.0f} ms (moto/nubo {results['ratio']['startup']:.0f}x)")
    print(f"idle RSS: nubo {n['idle_rss_mib']:.1f} MiB, moto {m['idle_rss_mib']:.1f} MiB (moto/nubo {results['ratio']['idle_rss']:.1f}x)")


if __name__ == "__main__":
    main()
