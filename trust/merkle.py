"""RFC 6962 (as restated in RFC 9162, section 2.1) Merkle trees for the audit log's
transparency: leaf and node hashing, the tree head, inclusion and consistency proofs and
their verification, and an incremental frontier so a sequencer extends the tree without
rereading it. Pure standard library; the hashes are SHA-256.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

EMPTY_ROOT = hashlib.sha256(b"").digest()


class ProofError(ValueError):
    """A proof that does not lead to the claimed root, or a malformed one."""


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def root(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH over leaf hashes (already `leaf_hash`ed)."""
    n = len(leaf_hashes)
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return leaf_hashes[0]
    k = _split(n)
    return node_hash(root(leaf_hashes[:k]), root(leaf_hashes[k:]))


def inclusion_proof(index: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    """PATH(index, D[n]): the sibling hashes from the leaf up to the root."""
    n = len(leaf_hashes)
    if not 0 <= index < n:
        raise ProofError("index outside the tree")
    if n == 1:
        return []
    k = _split(n)
    if index < k:
        return [*inclusion_proof(index, leaf_hashes[:k]), root(leaf_hashes[k:])]
    return [*inclusion_proof(index - k, leaf_hashes[k:]), root(leaf_hashes[:k])]


def consistency_proof(old_size: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    """PROOF(m, D[n]): what shows the tree of the first m leaves is a prefix of D[n]."""
    if not 0 < old_size <= len(leaf_hashes):
        raise ProofError("old size outside the tree")
    return _subproof(old_size, leaf_hashes, complete=True)


def _subproof(m: int, leaf_hashes: Sequence[bytes], *, complete: bool) -> list[bytes]:
    n = len(leaf_hashes)
    if m == n:
        return [] if complete else [root(leaf_hashes)]
    k = _split(n)
    if m <= k:
        return [*_subproof(m, leaf_hashes[:k], complete=complete), root(leaf_hashes[k:])]
    return [*_subproof(m - k, leaf_hashes[k:], complete=False), root(leaf_hashes[:k])]


# --- proofs from stored subtrees ----------------------------------------------------------
# A proof's hashes are tree hashes of leaf ranges. The ranges depend only on the sizes, and
# each is a few perfect subtrees (nodes), so a proof needs O(log n) stored nodes instead
# of every leaf.


def inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """The leaf ranges [start, end) whose tree hashes are PATH(index, D[size])."""
    if not 0 <= index < size:
        raise ProofError("index outside the tree")
    path: list[tuple[int, int]] = []
    start, end = 0, size
    while end - start > 1:
        k = _split(end - start)
        if index < start + k:
            path.append((start + k, end))
            end = start + k
        else:
            path.append((start, start + k))
            start += k
    return path[::-1]


def consistency_ranges(old_size: int, size: int) -> list[tuple[int, int]]:
    """The leaf ranges whose tree hashes are PROOF(old_size, D[size])."""
    if not 0 < old_size <= size:
        raise ProofError("old size outside the tree")
    proof: list[tuple[int, int]] = []
    m, start, end, complete = old_size, 0, size, True
    while m != end - start:
        k = _split(end - start)
        if m <= k:
            proof.append((start + k, end))
            end = start + k
        else:
            proof.append((start, start + k))
            m, start, complete = m - k, start + k, False
    if not complete:
        proof.append((start, end))
    return proof[::-1]


def pieces(start: int, end: int) -> list[tuple[int, int]]:
    """The perfect subtrees (level, index) that make up a range of a proof, largest first;
    its tree hash is their `fold`."""
    found = []
    while start < end:
        level = (end - start).bit_length() - 1
        if start % (1 << level):
            raise ProofError("not a range of a proof")
        found.append((level, start >> level))
        start += 1 << level
    return found


def fold(nodes: Sequence[bytes]) -> bytes:
    """The tree hash of consecutive perfect subtrees, largest first (a frontier's root)."""
    head = nodes[-1]
    for node in reversed(nodes[:-1]):
        head = node_hash(node, head)
    return head


def perfect_root(hashes: Sequence[bytes]) -> bytes:
    """The root of a perfect subtree from its 2**k nodes one level down the store."""
    level = list(hashes)
    while len(level) > 1:
        level = [node_hash(level[i], level[i + 1]) for i in range(0, len(level), 2)]
    return level[0]


def root_from_inclusion(index: int, size: int, leaf: bytes, proof: Iterable[bytes]) -> bytes:
    """The root a proof leads to from `leaf` (a leaf hash); RFC 9162, 2.1.3.2."""
    if not 0 <= index < size:
        raise ProofError("index outside the tree")
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            raise ProofError("proof too long")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("proof too short")
    return r


def verify_inclusion(
    index: int, size: int, leaf: bytes, proof: Sequence[bytes], head: bytes
) -> None:
    if root_from_inclusion(index, size, leaf, proof) != head:
        raise ProofError("the proof does not lead to this root")


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """That the tree of `old_size` leaves is a prefix of the one of `new_size`; RFC 9162,
    2.1.4.2. Raises ProofError otherwise."""
    if not 0 < old_size <= new_size:
        raise ProofError("sizes out of order")
    if old_size == new_size:
        if proof or old_root != new_root:
            raise ProofError("same size, different trees")
        return
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # a power of two: the old root is a node of the new
        path.insert(0, old_root)
    if not path:
        raise ProofError("empty proof")
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("proof too long")
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0 or fr != old_root or sr != new_root:
        raise ProofError("the trees are not consistent")


class Frontier:
    """The roots of the perfect subtrees along the right edge: enough to append leaves
    and give the tree head without the leaves themselves (a sequencer's state)."""

    def __init__(self, size: int = 0, nodes: Sequence[bytes] = ()):
        self.size = size
        self.nodes = list(nodes)  # largest subtree first
        if len(self.nodes) != bin(size).count("1"):
            raise ValueError("a frontier has one node per set bit of its size")

    def append(self, leaf: bytes) -> list[tuple[int, int, bytes]]:
        """Add a leaf hash; returns the perfect subtrees it completed, as (level, index,
        hash): the node at `level` covering leaves index * 2**level onwards."""
        node, size, level, completed = leaf, self.size, 0, []
        while size & 1:  # merge with every subtree of the same height
            node = node_hash(self.nodes.pop(), node)
            size, level = size >> 1, level + 1
            completed.append((level, size, node))
        self.nodes.append(node)
        self.size += 1
        return completed

    def root(self) -> bytes:
        return fold(self.nodes) if self.nodes else EMPTY_ROOT
