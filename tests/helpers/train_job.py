"""A tiny training run for the kill/resume tests: ``python train_job.py RUN_ID OUT [SLEEP] [MODE]``.

MODE ``plain`` (default) or ``tempbalance`` (TempBalance and spectral-norm regularization on, with
an optimizer group per tuned layer).

Deterministic on CPU (one thread, seeded data and init). Writes OUT (weights + history) only
when training finished; checkpoints go to $THERMO_CHECKPOINTS/RUN_ID/last.pt after each epoch.
"""

import json
import sys
import time

import torch

from thermo import train
from thermo.data import ArrayDataset

torch.set_num_threads(1)
run_id, out = sys.argv[1], sys.argv[2]
pause = float(sys.argv[3]) if len(sys.argv) > 3 else 0.0
mode = sys.argv[4] if len(sys.argv) > 4 else "plain"

g = torch.Generator().manual_seed(0)
y = torch.randint(0, 3, (512,), generator=g)
x = torch.randn(512, 1, 1, 8, generator=g) + y.view(-1, 1, 1, 1).float()
ds = ArrayDataset(x, y, "blobs", "train", 3)
torch.manual_seed(123)
if mode == "tempbalance":
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(8, 64), torch.nn.ReLU(), torch.nn.Linear(64, 64),
                                torch.nn.ReLU(), torch.nn.Dropout(0.2), torch.nn.Linear(64, 64), torch.nn.ReLU(),
                                torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Linear(64, 3))  # 3 tuned layers
else:
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(8, 32), torch.nn.ReLU(),
                                torch.nn.Dropout(0.2), torch.nn.Linear(32, 3))


class Slow(train.Callback):
    def after_optimizer_step(self, state, batch, loss):
        time.sleep(pause)


cfg = train.TrainConfig(epochs=5, lr=0.05, batch_size=32, seed=3, weight_decay=1e-4)
callbacks, optimizer = [Slow()], None
if mode == "tempbalance":
    from thermo.tempbalance import SpectralNormRegularizer, TempBalance

    tb = TempBalance(model, 0.6, 1.4, every=5)
    optimizer = train.make_optimizer(tb.param_groups(cfg.weight_decay), cfg)
    callbacks = [tb, SpectralNormRegularizer(model, 0.01), Slow()]
res = train.fit(model, ds, ds, cfg, callbacks=callbacks, optimizer=optimizer, run_id=run_id, progress=False)
torch.save({"weights": model.state_dict()}, out + ".pt")
with open(out + ".json", "w") as fh:
    json.dump({"history": res.history, "resumed_from_epoch": res.resumed_from_epoch, "status": res.status}, fh)
