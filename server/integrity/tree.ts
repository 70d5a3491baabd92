/**
 * The server's side of the RFC 6962 tree: appending leaves (which complete subtrees each new
 * leaf closes), the root of a size, and which stored nodes an inclusion or consistency proof
 * is made of (RFC 9162 2.1.3.1 and 2.1.4.1). A node (level L, index i) is the hash of the
 * complete subtree over leaves [i * 2^L, (i + 1) * 2^L); every hash of a proof is such a node
 * or combines a few of them. Pure and synchronous (node:crypto): the sequencer and the proof
 * routes use it; the verification of proofs is shared/merkle.ts's, browser-safe.
 */
import { createHash } from 'node:crypto';
import { splitPoint } from '../../shared/merkle';

export type NodeKey = `${number}/${number}`;
export const nodeKey = (level: number, idx: number): NodeKey => `${level}/${idx}`;

export const leafHashSync = (data: Uint8Array): Buffer =>
  createHash('sha256')
    .update(Buffer.from([0]))
    .update(data)
    .digest();
export const nodeHashSync = (left: Uint8Array, right: Uint8Array): Buffer =>
  createHash('sha256')
    .update(Buffer.from([1]))
    .update(left)
    .update(right)
    .digest();
export const EMPTY_ROOT = createHash('sha256').digest();

const log2 = (n: number) => Math.round(Math.log2(n));
const isPowerOfTwo = (n: number) => n > 0 && 2 ** log2(n) === n;

/** A hash over the leaves [start, end): a stored node, or two such hashes combined. */
export type RangeHash = { node: NodeKey } | { left: RangeHash; right: RangeHash };

/** The range [start, end) of an RFC 6962 tree, in stored nodes. */
export function rangeHash(start: number, end: number): RangeHash {
  const n = end - start;
  if (isPowerOfTwo(n) && start % n === 0) return { node: nodeKey(log2(n), start / n) };
  const k = splitPoint(n);
  return { left: rangeHash(start, start + k), right: rangeHash(start + k, end) };
}

/** The root of a tree of `size` leaves (size > 0). */
export const rootRange = (size: number): RangeHash => rangeHash(0, size);

/** RFC 9162 2.1.3.1: the inclusion proof of leaf `index` in a tree of `size`, leaf upwards. */
export function inclusionRanges(index: number, size: number): RangeHash[] {
  const path = (m: number, start: number, end: number): RangeHash[] => {
    const n = end - start;
    if (n <= 1) return [];
    const k = splitPoint(n);
    return m < k ? [...path(m, start, start + k), rangeHash(start + k, end)] : [...path(m - k, start + k, end), rangeHash(start, start + k)];
  };
  return path(index, 0, size);
}

/** RFC 9162 2.1.4.1: the consistency proof from a tree of `size1` to one of `size2` (0 < size1 < size2). */
export function consistencyRanges(size1: number, size2: number): RangeHash[] {
  const sub = (m: number, start: number, end: number, whole: boolean): RangeHash[] => {
    const n = end - start;
    if (m === n) return whole ? [] : [rangeHash(start, end)];
    const k = splitPoint(n);
    return m <= k ? [...sub(m, start, start + k, whole), rangeHash(start + k, end)] : [...sub(m - k, start + k, end, false), rangeHash(start, start + k)];
  };
  return sub(size1, 0, size2, true);
}

/** Every stored node these hashes are made of. */
export function nodesOf(ranges: RangeHash[]): NodeKey[] {
  const out = new Set<NodeKey>();
  const walk = (r: RangeHash): void => {
    if ('node' in r) out.add(r.node);
    else {
      walk(r.left);
      walk(r.right);
    }
  };
  ranges.forEach(walk);
  return [...out];
}

/** Stored nodes by key: a Map, or anything that looks nodes up. */
export type NodeSource = { get(key: NodeKey): Uint8Array | undefined };

export function evaluate(r: RangeHash, nodes: NodeSource): Uint8Array {
  if ('node' in r) {
    const h = nodes.get(r.node);
    if (!h) throw new Error(`the log has no node ${r.node}`);
    return h;
  }
  return nodeHashSync(evaluate(r.left, nodes), evaluate(r.right, nodes));
}

/** The complete subtrees a tree of `size` ends with, left to right: what appending needs. */
export function frontier(size: number): NodeKey[] {
  const out: NodeKey[] = [];
  let start = 0;
  for (let level = 62; level >= 0; level--) {
    const width = 2 ** level;
    if (size - start >= width) {
      out.push(nodeKey(level, start / width));
      start += width;
    }
  }
  return out;
}

/**
 * Appends leaf hashes to a tree of `size` whose frontier nodes are in `known`: the new nodes
 * (every subtree the new leaves complete, the leaves themselves at level 0) and the new root.
 */
export function append(size: number, known: Map<NodeKey, Uint8Array>, leaves: Uint8Array[]): { nodes: Map<NodeKey, Uint8Array>; size: number; root: Uint8Array } {
  const nodes = new Map<NodeKey, Uint8Array>();
  const get = (k: NodeKey) => nodes.get(k) ?? known.get(k);
  let n = size;
  for (const leaf of leaves) {
    let level = 0;
    let idx = n;
    let hash: Uint8Array = leaf;
    nodes.set(nodeKey(0, idx), hash);
    while (idx % 2 === 1) {
      const left = get(nodeKey(level, idx - 1));
      if (!left) throw new Error(`the log has no node ${nodeKey(level, idx - 1)}`);
      hash = nodeHashSync(left, hash);
      level++;
      idx = (idx - 1) / 2;
      nodes.set(nodeKey(level, idx), hash);
    }
    n++;
  }
  const all = new Map([...known, ...nodes]);
  return { nodes, size: n, root: n === 0 ? EMPTY_ROOT : evaluate(rootRange(n), all) };
}
