"""PoSE (Zhu et al., arXiv 2309.10400, Sec. 3.2): train on a window of L_c tokens with position
ids that skip ahead, so relative distances up to the target length L_t are seen in training."""

from __future__ import annotations

import torch

from .base import PositionalScheme, check_positive_int


class PoSE(PositionalScheme):
    """Splits the L_c = ``train_length`` positions into ``n_chunks`` chunks of random lengths
    l_i ≥ 1; chunk i gets ids st_i + u_i … st_i + l_i − 1 + u_i, st_i = Σ_{j<i} l_j, with skip
    biases u_0 = 0, u_i ~ U{u_{i−1}, …, L_t − L_c}. Ids are strictly increasing, at most L_t − 1;
    L_t = L_c gives 0..L_c−1 (standard training). Combine with a rotary scheme in
    :class:`ToyAttention` (it uses the sampled ids in training mode)."""

    acts_on = "positions"
    what = "samples skip-wise training position ids so a short window covers a long target context"

    def __init__(self, train_length: int, target_length: int, n_chunks: int = 2):
        super().__init__()
        check_positive_int(train_length, "train_length")
        check_positive_int(target_length, "target_length")
        check_positive_int(n_chunks, "n_chunks")
        if target_length < train_length:
            raise ValueError(f"the PoSE target length ({target_length}) must be >= the training window "
                             f"({train_length}); PoSE extends the context, it cannot shorten it")
        if n_chunks > train_length:
            raise ValueError(f"n_chunks={n_chunks} exceeds the {train_length} tokens of the training window")
        self.train_length, self.target_length, self.n_chunks = train_length, target_length, n_chunks

    def positions(self, length: int | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
        """Sampled position ids [L_c] (``length`` must be L_c when given)."""
        lc, lt = self.train_length, self.target_length
        if length is not None and length != lc:
            raise ValueError(f"PoSE was built for a training window of {lc} tokens, got a sequence of {length}")
        cuts = torch.randperm(lc - 1, generator=generator)[: self.n_chunks - 1] + 1
        bounds = [0, *sorted(cuts.tolist()), lc]
        ids, u = [], 0
        for i in range(self.n_chunks):
            if i > 0:
                u = int(torch.randint(u, lt - lc + 1, (1,), generator=generator))
            ids.append(torch.arange(bounds[i], bounds[i + 1]) + u)
        return torch.cat(ids)
