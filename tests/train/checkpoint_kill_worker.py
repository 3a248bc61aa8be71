"""A tiny run that stops inside a checkpoint write, for the kill test.

    python checkpoint_kill_worker.py RUN_DIR EPOCH NAME

Trains the tiny task for 3 epochs; when the temporary file of checkpoint NAME (``last.pt`` or
``best.pt``) of epoch EPOCH is fully written and about to be renamed, prints ``PAUSED <tmp path>``
and sleeps until it is killed.
"""
import os
import sys
import time

import gdl.data._cache as atomic_writes  # save_checkpoint writes through its replace_atomically
from gdl.train import Trainer
from tiny_train_task import TINY, tiny_config

run_dir, pause_epoch, pause_name = sys.argv[1], int(sys.argv[2]), sys.argv[3]
real_replace = os.replace
state = {"trainer": None}


class Replace:
    """os.replace as seen by the atomic writer (gdl.data._cache): pauses before the chosen rename."""

    def __getattr__(self, name):
        return getattr(os, name)

    @staticmethod
    def replace(src, dst):
        trainer = state["trainer"]
        if os.path.basename(str(dst)) == pause_name and trainer is not None and trainer.epoch == pause_epoch:
            print("PAUSED", src, flush=True)
            time.sleep(120)
        return real_replace(src, dst)


atomic_writes.os = Replace()
trainer = Trainer(tiny_config(epochs=3), run_dir=run_dir, task=TINY)
state["trainer"] = trainer
trainer.fit()
print("FINISHED", flush=True)
