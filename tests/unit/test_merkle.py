"""RFC 6962 Merkle trees: the Certificate Transparency reference vectors, and every
proof for every leaf and prefix of trees up to 33 leaves, verified and tampered."""

import pytest

from trust import merkle

# The reference leaves and tree heads used by Certificate Transparency implementations.
LEAVES = [
    bytes.fromhex(h)
    for h in [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ]
]
ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
CONSISTENCY = {
    (1, 8): [
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    (6, 8): [
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
    (2, 5): [
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    ],
}
HASHES = [merkle.leaf_hash(leaf) for leaf in LEAVES]


@pytest.mark.parametrize("size", range(1, 9))
def test_tree_heads_match_the_reference(size):
    assert merkle.root(HASHES[:size]).hex() == ROOTS[size - 1]


def test_the_empty_tree():
    assert (
        merkle.root([]).hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )


def test_the_inclusion_proof_of_the_first_leaf_of_eight():
    assert [h.hex() for h in merkle.inclusion_proof(0, HASHES)] == CONSISTENCY[(1, 8)]


@pytest.mark.parametrize(("sizes", "expected"), sorted(CONSISTENCY.items()))
def test_consistency_proofs_match_the_reference(sizes, expected):
    old, new = sizes
    proof = merkle.consistency_proof(old, HASHES[:new])
    assert [h.hex() for h in proof] == expected
    merkle.verify_consistency(
        old, new, bytes.fromhex(ROOTS[old - 1]), bytes.fromhex(ROOTS[new - 1]), proof
    )


def tree(n):
    return [merkle.leaf_hash(f"entry {i}".encode()) for i in range(n)]


@pytest.mark.parametrize("size", range(1, 34))
def test_every_inclusion_proof_verifies_and_a_tampered_one_does_not(size):
    leaves = tree(size)
    head = merkle.root(leaves)
    for index in range(size):
        proof = merkle.inclusion_proof(index, leaves)
        merkle.verify_inclusion(index, size, leaves[index], proof, head)
        with pytest.raises(merkle.ProofError):
            merkle.verify_inclusion(index, size, merkle.leaf_hash(b"forged"), proof, head)
        if proof:
            bent = [proof[0][::-1], *proof[1:]]
            with pytest.raises(merkle.ProofError):
                merkle.verify_inclusion(index, size, leaves[index], bent, head)
            with pytest.raises(merkle.ProofError):
                merkle.verify_inclusion(index, size, leaves[index], proof[:-1], head)


@pytest.mark.parametrize("new", range(1, 34))
def test_every_consistency_proof_verifies_and_a_rewritten_history_does_not(new):
    leaves = tree(new)
    new_root = merkle.root(leaves)
    for old in range(1, new + 1):
        old_root = merkle.root(leaves[:old])
        proof = merkle.consistency_proof(old, leaves)
        merkle.verify_consistency(old, new, old_root, new_root, proof)
        rewritten = [*leaves[: old - 1], merkle.leaf_hash(b"rewritten"), *leaves[old:]]
        with pytest.raises(merkle.ProofError):
            merkle.verify_consistency(old, new, old_root, merkle.root(rewritten), proof)
        with pytest.raises(merkle.ProofError):
            merkle.verify_consistency(
                old, new, old_root, merkle.root(rewritten), merkle.consistency_proof(old, rewritten)
            )


def test_the_frontier_grows_the_same_tree_leaf_by_leaf():
    frontier = merkle.Frontier()
    leaves = tree(100)
    for n, leaf in enumerate(leaves, start=1):
        frontier.append(leaf)
        assert frontier.root() == merkle.root(leaves[:n])
    again = merkle.Frontier(frontier.size, frontier.nodes)
    again.append(merkle.leaf_hash(b"next"))
    assert again.root() == merkle.root([*leaves, merkle.leaf_hash(b"next")])
