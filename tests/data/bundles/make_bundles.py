"""Write the small model bundles of this folder (see SOURCE.md).

Run from the project root with the hrlc to capture on the path, e.g.
``PYTHONPATH=<hrlc src> .venv/bin/python tests/data/bundles/make_bundles.py``. The files
kept here were written by hrlc at commit b4ee35b, before the digests moved to
:mod:`hrlc.io.checksum`; running this with a newer hrlc writes bundles of that hrlc,
which is not what the compatibility test needs (keep the old files).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.append(str(HERE.parents[2]))

from tests.model.conftest import make_samples  # noqa: E402


def main() -> None:
    from sklearn.ensemble import RandomForestClassifier

    from hrlc.model import ModelBundle, train_model

    samples = make_samples(90, n_classes=2, n_informative=2, n_noise=1, n_blocks=10, seed=3)
    result = train_model(samples, compare=(), seed=0, C=(1.0,), gamma_factors=(1.0,),
                         n_jobs=1, selection="none", calibration="sigmoid")
    result.bundle.save(HERE / "svm_b4ee35b.npz", overwrite=True)
    names = [c for c in samples.columns if c.startswith("f")]
    X = samples[names].to_numpy(np.float64)
    forest = RandomForestClassifier(3, max_depth=3, random_state=0, n_jobs=1)
    forest.fit(X, samples["class"].to_numpy())
    bundle = ModelBundle(input_features=names, classifier=forest,
                         class_table={1: {"name": "forest"}, 2: {"name": "grass"}},
                         training={"n_train": len(X)})
    bundle.probe_X = X[:8]
    bundle.probe_scores = bundle.decision_scores(bundle.probe_X)
    bundle.save(HERE / "forest_b4ee35b.npz", overwrite=True)


if __name__ == "__main__":
    main()
