"""Every torch backbone on CUDA: fit (with a CliffLoss pair term), predict, save and load.

Skipped without a GPU (CI has none); run on a GPU machine before a release. A backbone
whose forward pass uses an op with no CUDA kernel (e.g. an integer matmul) fails here.
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")

from cliffkit.models import Backbone, get_backbone  # noqa: E402

SMALL = {
    "mlp": dict(hidden_channels=32, num_layers=1, n_bits=256),
    "gin": dict(hidden_channels=16, num_layers=2),
    "dmpnn": dict(hidden_channels=32, num_layers=2),
    "schnet": dict(hidden_channels=16, num_filters=16, num_layers=2),
}


@pytest.mark.parametrize("name", sorted(SMALL))
def test_fit_on_cuda_and_reload_on_cpu(name, lipo_small, tmp_path):
    from cliffkit.loss import CliffLoss

    train, val, test = lipo_small
    model = get_backbone(name, random_state=0, epochs=2, device="cuda", show_progress=False,
                         **SMALL[name])
    pairs = np.array([[0, 1], [2, 3], [4, 5]])
    model.fit(train, val, loss=CliffLoss(beta=0.5), pairs=pairs)
    assert model.device_.startswith("cuda")
    pred = model.predict(test)
    assert pred.shape == (len(test),) and np.all(np.isfinite(pred))
    model.save(tmp_path / "m")
    loaded = Backbone.load(tmp_path / "m")
    np.testing.assert_allclose(loaded.predict(test), pred, rtol=1e-3, atol=1e-3)
