/**
 * The browser-safe proof and note code of shared/ (merkle.ts, signed-note.ts) against the
 * reference material: every RFC 6962 vector of transparency-dev/merkle (each `wantErr` case
 * rejected, each happy path accepted) and the signed-note example of C2SP.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { emptyRoot, fromBase64, leafHash, nodeHash, rootOf, toBase64, verifyConsistency, verifyInclusion } from '../../shared/merkle';
import { parseCheckpoint, parseVerifierKey, verifierKeyString, verifyCheckpoint, verifyNote } from '../../shared/signed-note';

const VECTORS = path.resolve(__dirname, '../fixtures/merkle-vectors');
const files = (kind: string) =>
  fs
    .readdirSync(path.join(VECTORS, kind), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.json'))
    .map((f) => [`${kind}/${f}`, JSON.parse(fs.readFileSync(path.join(VECTORS, kind, f), 'utf8'))] as const);
const b = (x: string | null) => (x === null ? new Uint8Array() : fromBase64(x));
const proofOf = (p: string[] | null) => (p ?? []).map(b);

const outcome = (p: Promise<void>) =>
  p.then(
    () => 'verified',
    (e: Error) => `refused: ${e.message}`,
  );

describe('RFC 6962 proofs against the transparency-dev vectors', () => {
  const inclusion = files('inclusion');
  const consistency = files('consistency');

  it('has the vectors', () => {
    expect(inclusion.length).toBeGreaterThan(50);
    expect(consistency.length).toBeGreaterThan(50);
  });

  it.each(inclusion)('inclusion %s', async (_name, v) => {
    const got = await outcome(verifyInclusion(v.leafIdx, v.treeSize, b(v.leafHash), proofOf(v.proof), b(v.root)));
    if (v.wantErr) expect(got).toMatch(/^refused/);
    else expect(got).toBe('verified');
  });

  it.each(consistency)('consistency %s', async (_name, v) => {
    const got = await outcome(verifyConsistency(v.size1, v.size2, proofOf(v.proof), b(v.root1), b(v.root2)));
    if (v.wantErr) expect(got).toMatch(/^refused/);
    else expect(got).toBe('verified');
  });

  it('hashes leaves and nodes with their prefixes, and splits trees at the largest power of two', async () => {
    expect(toBase64(await emptyRoot())).toBe('47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=');
    // The vectors' leaf hashes are the RFC 6962 hashes of the leaves "", 0x00, 0x10, ...
    expect(toBase64(await leafHash(new Uint8Array()))).toBe('bjQLnP+zepicpUTmu3gKLHiQHT+zNzh2hRGjBhevoB0=');
    const leaves = await Promise.all(
      [
        [],
        [0x00],
        [0x10],
        [0x20, 0x21],
        [0x30, 0x31],
        [0x40, 0x41, 0x42, 0x43],
        [0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57],
        [0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x6f],
      ].map((l) => leafHash(new Uint8Array(l))),
    );
    const happy8 = JSON.parse(fs.readFileSync(path.join(VECTORS, 'inclusion/4/happy-path.json'), 'utf8')) as { treeSize: number; root: string };
    expect(toBase64(await rootOf(leaves.slice(0, happy8.treeSize)))).toBe(happy8.root);
    expect(toBase64(await rootOf(leaves.slice(0, 2)))).toBe(toBase64(await nodeHash(leaves[0], leaves[1])));
  });
});

describe('C2SP signed notes and checkpoints', () => {
  const EXAMPLE_KEY = 'example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k';
  const EXAMPLE_NOTE = 'This is an example message.\n\n— example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n';

  it("verifies the spec's example, and refuses it changed in any way", async () => {
    const key = await parseVerifierKey(EXAMPLE_KEY);
    expect(key).toMatchObject({ name: 'example.com/foo', id: 0x530d903a });
    expect(await verifyNote(EXAMPLE_NOTE, [key])).toBe('This is an example message.\n');
    await expect(verifyNote(EXAMPLE_NOTE.replace('example message', 'example massage'), [key])).rejects.toThrow(/does not verify/);
    await expect(verifyNote(EXAMPLE_NOTE.replace('Uw2QOkn8', 'Uw2QOkn9'), [key])).rejects.toThrow();
    await expect(verifyNote(EXAMPLE_NOTE, [])).rejects.toThrow(/no signature of a known key/);
    await expect(parseVerifierKey(EXAMPLE_KEY.replace('530d903a', '530d903b'))).rejects.toThrow(/key ID does not match/);
  });

  it('signs and verifies a checkpoint with a key of its own; ignores unknown keys; refuses a forged or altered one', async () => {
    const pair = (await crypto.subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify'])) as CryptoKeyPair;
    const pub = new Uint8Array(await crypto.subtle.exportKey('raw', pair.publicKey));
    const keyText = await verifierKeyString('archive.example/acme', pub);
    const key = await parseVerifierKey(keyText);
    const root = await rootOf([await leafHash(new TextEncoder().encode('bill 1'))]);
    const text = `archive.example/acme\n1\n${toBase64(root)}\n`;
    const sig = new Uint8Array(await crypto.subtle.sign('Ed25519', pair.privateKey, new TextEncoder().encode(text)));
    const line = (name: string, id: number, s: Uint8Array) => {
      const raw = new Uint8Array(4 + s.length);
      new DataView(raw.buffer).setUint32(0, id, false);
      raw.set(s, 4);
      return `— ${name} ${toBase64(raw)}\n`;
    };
    const note = `${text}\n${line('witness.example', 7, new Uint8Array(64))}${line(key.name, key.id, sig)}`;
    const cp = await verifyCheckpoint(note, [key]);
    expect(cp).toMatchObject({ origin: 'archive.example/acme', size: 1, extra: [] });
    expect(toBase64(cp.root)).toBe(toBase64(root));
    await expect(verifyCheckpoint(note.replace('\n1\n', '\n2\n'), [key])).rejects.toThrow(/does not verify/);
    expect(() => parseCheckpoint('origin\n01\nAAAA\n')).toThrow(/leading zeros/);
    expect(() => parseCheckpoint(`origin\n1\n${toBase64(new Uint8Array(31))}\n`)).toThrow(/32-byte/);
  });
});
