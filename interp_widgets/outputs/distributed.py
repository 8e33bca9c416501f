"""Log-likelihood sweeps on a Dask cluster, writing to the same cache as :func:`loglik_matrix`.

Each model is one job: the worker runs :func:`~interp_widgets.outputs.loglik_matrix` for that model
alone with the shared ``cache_dir`` (so it stores its row, or finds it already stored); the driver
then assembles the matrix from the cache with the serial function, so the result is the one the
serial path gives, and an interrupted sweep resumes from whatever rows were written. Needs
``pip install "interp_widgets[distributed]"`` (``dask[distributed]``). Pass model names or folders
(each worker loads its own copy) or picklable text scorers; iw Model objects work with a threaded
local cluster (the default) and on process-based clusters only where they pickle. Scorers without
a ``fingerprint`` cannot be cached, so they run on the driver in the final assembly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import torch

from ..model import Model
from .loglik import LogLikelihoods, _label, loglik_matrix
from .texts import TextSet


def _job(label: str, model, texts: tuple[str, ...], cache_dir: str, dtype, batch_size: int) -> str:
    loglik_matrix({label: model}, texts, batch_size=batch_size, cache_dir=cache_dir, dtype=dtype, progress=False)
    return label


def loglik_matrix_dask(models: Sequence | Mapping, texts: TextSet | Sequence[str], *, cache_dir: str | Path,
                       client=None, n_workers: int = 2, batch_size: int = 8, dtype: torch.dtype = torch.float32,
                       progress: bool = True) -> LogLikelihoods:
    """:func:`loglik_matrix` with one Dask task per model (see the module docstring).

    ``client``: a ``distributed.Client`` to use; None starts a local threaded cluster of
    ``n_workers`` single-threaded workers for the call. ``cache_dir`` is required (it is how rows
    travel back) and must be visible to every worker.
    """
    try:
        from distributed import Client, LocalCluster, as_completed
    except ImportError as e:
        raise ImportError('the Dask runner needs dask: pip install "interp_widgets[distributed]"') from e
    from tqdm.auto import tqdm

    if cache_dir is None:
        raise ValueError("cache_dir is required: workers write their rows there and the matrix is read from it")
    texts = tuple(texts.texts) if isinstance(texts, TextSet) else tuple(texts)
    items = list(models.items()) if isinstance(models, Mapping) else [(None, m) for m in models]
    labelled = {}
    for i, (label, model) in enumerate(items):
        label = label or _label(model, f"model {i}")
        if label in labelled:
            raise ValueError(f"two models are labelled {label!r}; pass a dict {{label: model}} with unique labels")
        labelled[label] = model
    own = client is None
    if own:
        client = Client(LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=False,
                                     dashboard_address=None))
    try:
        futures = [client.submit(_job, label, model, texts, str(cache_dir), dtype, batch_size, pure=False)
                   for label, model in labelled.items()
                   if not callable(model) or getattr(model, "fingerprint", None) is not None
                   or isinstance(model, (str, Path, Model))]
        with tqdm(total=len(futures), unit="model", disable=not progress) as bar:
            for future in as_completed(futures):
                bar.set_description(future.result())
                bar.update(1)
    finally:
        if own:
            cluster = client.cluster
            client.close()
            cluster.close()
    return loglik_matrix(labelled, texts, batch_size=batch_size, cache_dir=cache_dir, dtype=dtype, progress=False)
