"""A subprocess that builds one small NBodyCharged cache entry, for the kill and concurrency tests.

    python cache_worker.py ROOT MODE [FORCE]

MODE ``load``: build/load and report. ``pause-before-rename``: stop (sleep) right after the temporary
``data.pt`` is written, before it is renamed, so the test can SIGKILL it there. ``pause-mid-write``: stop
after half of the bytes are written. ``hold``: once generating, wait for the file ``ROOT.release``.
Prints ``GENERATING`` when generation starts and ``LOADED <generated> <checksum of the tensors>`` at the end.
"""
import hashlib
import os
import sys
import time

import gdl.data._cache as cache
import gdl.data.nbody as nbody

root, mode = sys.argv[1], sys.argv[2]
force = len(sys.argv) > 3 and sys.argv[3] == "force"
calls = []
original_generate = nbody.generate_nbody_split


def generate(*args, **kwargs):
    calls.append(1)
    print("GENERATING", flush=True)
    if mode == "hold":
        while not os.path.exists(root + ".release"):
            time.sleep(0.02)
    return original_generate(*args, **kwargs)


nbody.generate_nbody_split = generate
# a tiny, fast entry: 3 trajectories of the per-split stream, frames 1 → 2
SMALL = dict(split="val", num_val=3, stream="per_split", input_frame=1, target_frame=2, progress=False)

if mode in ("pause-before-rename", "pause-mid-write"):
    original_replace = os.replace
    real_open = open

    def pausing_write(path, data):  # the real write, stopped at the kill point
        tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
        with real_open(tmp, "wb") as handle:
            handle.write(data if mode == "pause-before-rename" else data[: len(data) // 2])
            handle.flush()
            os.fsync(handle.fileno())
        print("PAUSED", tmp, flush=True)
        time.sleep(120)

    cache.write_bytes_atomic = pausing_write

dataset = nbody.NBodyCharged(root=root, force_reload=force, **SMALL)
tensors = dataset.tensors()
digest = hashlib.sha256(b"".join(tensors[k].numpy().tobytes() for k in ("pos", "vel", "y", "charges"))).hexdigest()
print("LOADED", len(calls), digest, flush=True)
