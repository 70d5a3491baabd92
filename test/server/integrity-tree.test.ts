/**
 * The server's tree (server/integrity/tree.ts) against the shared verifiers: for every tree
 * size up to 70, grown in uneven batches, the root is RFC 6962's root of the leaves, and every
 * inclusion and consistency proof made of the stored nodes verifies with shared/merkle.ts;
 * a proof for the wrong leaf or size does not. The nodes stored are exactly the complete
 * subtrees, each written once.
 */
import { describe, expect, it } from 'vitest';
import { equalHashes, leafHash, rootOf, verifyConsistency, verifyInclusion } from '../../shared/merkle';
import { append, consistencyRanges, evaluate, inclusionRanges, leafHashSync, rootRange, type NodeKey } from '../../server/integrity/tree';

const N = 70;
const data = Array.from({ length: N }, (_, i) => new TextEncoder().encode(`leaf ${i}`));
const leaves = data.map(leafHashSync);

function grow(): { nodes: Map<NodeKey, Uint8Array>; roots: Uint8Array[] } {
  const nodes = new Map<NodeKey, Uint8Array>();
  const roots: Uint8Array[] = [];
  let size = 0;
  // Batches of 1, 2, 3, ... leaves: every boundary falls somewhere else in the tree.
  for (let b = 1; size < N; b++) {
    const batch = leaves.slice(size, Math.min(N, size + b));
    const grown = append(size, nodes, batch);
    for (const [k, h] of grown.nodes) {
      expect(nodes.has(k), `node ${k} written twice`).toBe(false);
      nodes.set(k, h);
    }
    size = grown.size;
    roots[size] = grown.root;
  }
  return { nodes, roots };
}

describe('the stored tree', () => {
  const { nodes, roots } = grow();

  it('stores each complete subtree once: 2n - popcount(n) nodes', () => {
    const popcount = N.toString(2).replace(/0/g, '').length;
    expect(nodes.size).toBe(2 * N - popcount);
  });

  it('has the RFC 6962 root of its leaves at the end of every batch', async () => {
    for (let s = 1; s <= N; s++) {
      if (!roots[s]) continue;
      const expected = await rootOf(await Promise.all(data.slice(0, s).map(leafHash)));
      expect(equalHashes(roots[s], expected), `size ${s}`).toBe(true);
    }
  });

  it('gives inclusion proofs that verify, for every leaf of every size, and fail for another leaf', async () => {
    for (let size = 1; size <= N; size++) {
      const root = evaluate(rootRange(size), nodes);
      for (let i = 0; i < size; i++) {
        const proof = inclusionRanges(i, size).map((r) => evaluate(r, nodes));
        await verifyInclusion(i, size, leaves[i], proof, root);
        if (size > 1) await expect(verifyInclusion(i, size, leaves[(i + 1) % size], proof, root)).rejects.toThrow();
      }
    }
  });

  it('gives consistency proofs that verify between every two sizes, and fail for a wrong first size', async () => {
    for (let size2 = 2; size2 <= N; size2++) {
      const root2 = evaluate(rootRange(size2), nodes);
      for (let size1 = 1; size1 < size2; size1++) {
        const root1 = evaluate(rootRange(size1), nodes);
        const proof = consistencyRanges(size1, size2).map((r) => evaluate(r, nodes));
        await verifyConsistency(size1, size2, proof, root1, root2);
        if (size1 > 1) await expect(verifyConsistency(size1 - 1, size2, proof, root1, root2)).rejects.toThrow();
      }
    }
  });
});
