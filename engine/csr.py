"""Sparse rows as plain NumPy arrays, so that serving a saved model needs no SciPy.

Importing ``scipy.sparse`` costs 0.1-0.2 s at every start (SciPy 1.17 also loads parts of
NumPy that kefu never uses, such as ``numpy.f2py``), about a tenth of a cold ``kefu predict``.
A model keeps its examples and sparse weights as ``CsrArrays`` and builds a SciPy matrix
only where one is needed: training, ``lint``, and the nearest examples of ``explain``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    import scipy.sparse as sp

__all__ = ["CsrArrays"]


class CsrArrays(NamedTuple):
    """A matrix in compressed sparse row form: row ``i`` holds ``data[indptr[i]:indptr[i+1]]``
    in the columns ``indices[indptr[i]:indptr[i+1]]``, ascending."""

    data: NDArray[np.float64]
    indices: NDArray[Any]
    indptr: NDArray[Any]
    shape: tuple[int, int]

    @classmethod
    def of(cls, matrix: sp.csr_matrix) -> CsrArrays:
        """The arrays of a SciPy CSR matrix (shared, not copied), once its columns are sorted
        in each row (in place)."""
        matrix.sort_indices()
        rows, columns = matrix.shape
        return cls(matrix.data, matrix.indices, matrix.indptr, (int(rows), int(columns)))

    @property
    def nnz(self) -> int:
        """Stored entries."""
        return int(self.indptr[-1])

    def matrix(self) -> sp.csr_matrix:
        """The same matrix for SciPy (imported here, on first need)."""
        import scipy.sparse as sp

        return sp.csr_matrix((self.data, self.indices, self.indptr), shape=self.shape)

    def sorted(self) -> CsrArrays:
        """These arrays, or a copy whose columns ascend in every row (a model file written by
        other means may hold them in any order; the sums over a row must come out the same)."""
        if self.indices.size < 2:
            return self
        row_starts = np.zeros(self.indices.size, bool)
        row_starts[self.indptr[1:-1][self.indptr[1:-1] < self.indices.size]] = True
        if bool(np.all((np.diff(self.indices) > 0) | row_starts[1:])):
            return self
        rows = np.repeat(np.arange(self.shape[0]), np.diff(self.indptr))
        order = np.lexsort((self.indices, rows))
        return CsrArrays(self.data[order], self.indices[order], self.indptr, self.shape)
