/**
 * RFC 6962 / RFC 9162 Merkle trees, for the tamper-evident log: leaf and node hashes
 * (SHA-256 with the 0x00 / 0x01 prefixes that stop second-preimage tricks), the root of a list
 * of leaves, and the verification of inclusion and consistency proofs, written exactly as RFC
 * 9162 sections 2.1.3.2 and 2.1.4.2 give them and tested against transparency-dev/merkle's
 * vectors (test/fixtures/merkle-vectors: every mutated proof must fail). Browser-safe: the
 * hashing is WebCrypto's (globalThis.crypto.subtle), in Node, Electron and the browser alike.
 */

export type Hash = Uint8Array;

/** Why a proof does not verify (thrown by the verifiers). */
export class ProofError extends Error {}

async function sha256(...parts: Uint8Array[]): Promise<Hash> {
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  return new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', all));
}

const LEAF = new Uint8Array([0x00]);
const NODE = new Uint8Array([0x01]);

/** `SHA-256(0x00 || leaf)`. */
export const leafHash = (leaf: Uint8Array): Promise<Hash> => sha256(LEAF, leaf);

/** `SHA-256(0x01 || left || right)`. */
export const nodeHash = (left: Hash, right: Hash): Promise<Hash> => sha256(NODE, left, right);

/** The root of the empty tree: `SHA-256("")`. */
export const emptyRoot = (): Promise<Hash> => sha256();

/** The largest power of two smaller than n (n > 1): where RFC 6962 splits a tree of n leaves. */
export function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** The root over these leaf hashes (RFC 6962 section 2.1). */
export async function rootOf(leaves: Hash[]): Promise<Hash> {
  if (leaves.length === 0) return emptyRoot();
  if (leaves.length === 1) return leaves[0];
  const k = splitPoint(leaves.length);
  return nodeHash(await rootOf(leaves.slice(0, k)), await rootOf(leaves.slice(k)));
}

export function equalHashes(a: Hash, b: Hash): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

const lsb = (n: bigint) => (n & 1n) === 1n;

function checkSizes(...hashes: Hash[]): void {
  for (const h of hashes) if (h.length !== 32) throw new ProofError(`a hash is ${h.length} bytes, not 32`);
}

/**
 * Verifies that `leaf` (a leaf hash) is at `index` in the tree of `size` leaves whose root is
 * `root` (RFC 9162 2.1.3.2). Throws ProofError saying why not.
 */
export async function verifyInclusion(index: number, size: number, leaf: Hash, proof: Hash[], root: Hash): Promise<void> {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || size < 0) throw new ProofError('index and size must be whole numbers');
  if (index >= size) throw new ProofError(`leaf ${index} is not in a tree of ${size}`);
  checkSizes(leaf, ...proof);
  let fn = BigInt(index);
  let sn = BigInt(size - 1);
  let r = leaf;
  for (const p of proof) {
    if (sn === 0n) throw new ProofError('the proof is longer than the tree is deep');
    if (lsb(fn) || fn === sn) {
      r = await nodeHash(p, r);
      if (!lsb(fn)) while (!lsb(fn) && fn !== 0n) [fn, sn] = [fn >> 1n, sn >> 1n];
    } else {
      r = await nodeHash(r, p);
    }
    [fn, sn] = [fn >> 1n, sn >> 1n];
  }
  if (sn !== 0n) throw new ProofError('the proof is shorter than the tree is deep');
  if (!equalHashes(r, root)) throw new ProofError('the proof leads to another root');
}

/**
 * Verifies that the tree of `size2` leaves (root `root2`) extends the tree of `size1` leaves
 * (root `root1`) by appending only (RFC 9162 2.1.4.2). Throws ProofError saying why not.
 */
export async function verifyConsistency(size1: number, size2: number, proof: Hash[], root1: Hash, root2: Hash): Promise<void> {
  if (!Number.isSafeInteger(size1) || !Number.isSafeInteger(size2) || size1 < 0 || size2 < 0) throw new ProofError('sizes must be whole numbers');
  if (size1 > size2) throw new ProofError(`a tree of ${size2} cannot extend one of ${size1}`);
  // Roots are compared as given (as transparency-dev/merkle does); proof hashes must be hashes.
  checkSizes(...proof);
  // A proof from the empty tree proves nothing (every tree extends it): refused as useless.
  if (size1 === 0) throw new ProofError('a consistency proof from the empty tree proves nothing');
  if (size1 === size2) {
    if (proof.length > 0) throw new ProofError('trees of one size need an empty proof');
    if (!equalHashes(root1, root2)) throw new ProofError('two roots for one tree size');
    return;
  }
  if (proof.length === 0) throw new ProofError('the proof is empty');
  // A power of two (as BigInt: `&` on numbers works on 32 bits only).
  const path = (BigInt(size1) & (BigInt(size1) - 1n)) === 0n ? [root1, ...proof] : [...proof];
  let fn = BigInt(size1 - 1);
  let sn = BigInt(size2 - 1);
  while (lsb(fn)) [fn, sn] = [fn >> 1n, sn >> 1n];
  let fr = path[0];
  let sr = path[0];
  for (const c of path.slice(1)) {
    if (sn === 0n) throw new ProofError('the proof is longer than the trees need');
    if (lsb(fn) || fn === sn) {
      fr = await nodeHash(c, fr);
      sr = await nodeHash(c, sr);
      if (!lsb(fn)) while (!lsb(fn) && fn !== 0n) [fn, sn] = [fn >> 1n, sn >> 1n];
    } else {
      sr = await nodeHash(sr, c);
    }
    [fn, sn] = [fn >> 1n, sn >> 1n];
  }
  if (sn !== 0n) throw new ProofError('the proof is shorter than the trees need');
  if (!equalHashes(fr, root1)) throw new ProofError('the proof does not lead to the first root');
  if (!equalHashes(sr, root2)) throw new ProofError('the proof does not lead to the second root');
}

/** Standard base64 to bytes, and back (browser-safe). */
export function fromBase64(text: string): Uint8Array {
  const bin = atob(text);
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

export function toBase64(bytes: Uint8Array): string {
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin);
}
