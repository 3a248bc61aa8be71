"""Runs a training config in a subprocess for the kill -9 resume tests (test_resume_all_options.py).

    python resume_options_runner.py CONFIG_JSON RUN_DIR     # train; with GDL_TEST_PAUSE_AT="E S" it
                                                            # prints 'STEP e s' and waits there to be killed
    python resume_options_runner.py resume RUN_DIR          # continue from RUN_DIR/last.pt

Prints ``RESULT {json}`` with the test/val metrics and the best epoch.
"""
import json
import sys

from gdl.train import Trainer
from tiny_train_task import PrintSteps

if __name__ == "__main__":
    if sys.argv[1] == "resume":
        trainer = Trainer.resume(sys.argv[2])
    else:
        with open(sys.argv[1]) as handle:
            config = json.load(handle)
        trainer = Trainer(config, run_dir=sys.argv[2], callbacks=[PrintSteps()])
    results = trainer.fit()
    keys = ("test_metric", "val_metric", "best_epoch", "test_loss")
    print("RESULT", json.dumps({k: results[k] for k in keys}), flush=True)
