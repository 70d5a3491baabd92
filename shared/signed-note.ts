/**
 * C2SP signed notes and tlog checkpoints, verified: a note is its text (lines ending in "\n"),
 * a blank line, and signature lines `— <key name> <base64(key ID || signature)>`; an Ed25519
 * verifier key is `<name>+<hex key ID>+<base64(0x01 || public key)>`, its key ID the first four
 * bytes of SHA-256(name || 0x0A || 0x01 || key). Signatures of unknown keys are ignored; a note
 * without a valid signature of a known key is refused. A checkpoint is a note whose text is
 * origin, tree size and root (RFC 6962, base64). Browser-safe: WebCrypto's SHA-256 and
 * Ed25519, no cryptography of our own.
 */
import { fromBase64, toBase64, type Hash } from './merkle';

export class NoteError extends Error {}

export interface VerifierKey {
  name: string;
  /** The 4-byte key ID, as a number. */
  id: number;
  /** The raw 32-byte Ed25519 public key. */
  publicKey: Uint8Array;
}

const ED25519 = 0x01;
const DASH = '\u2014 ';
const enc = new TextEncoder();

async function keyId(name: string, type: number, key: Uint8Array): Promise<number> {
  const data = new Uint8Array([...enc.encode(name), 0x0a, type, ...key]);
  const h = new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', data));
  return new DataView(h.buffer).getUint32(0, false);
}

/** A key name is non-empty text without spaces or '+'. */
const validName = (name: string) => name.length > 0 && !/[\s+]/u.test(name);

/** Parses and checks a verifier key string. */
export async function parseVerifierKey(text: string): Promise<VerifierKey> {
  // Split at the first two '+' only: the base64 key may hold '+' too.
  const t = text.trim();
  const i = t.indexOf('+');
  const j = i < 0 ? -1 : t.indexOf('+', i + 1);
  if (i < 0 || j < 0) throw new NoteError('a verifier key is <name>+<key ID>+<key>');
  const [name, hexId, b64] = [t.slice(0, i), t.slice(i + 1, j), t.slice(j + 1)];
  if (!validName(name)) throw new NoteError('the key name must not be empty or contain spaces or "+"');
  if (!/^[0-9a-f]{8}$/.test(hexId)) throw new NoteError('the key ID must be 8 lower-case hex digits');
  let raw: Uint8Array;
  try {
    raw = fromBase64(b64);
  } catch {
    throw new NoteError('the key is not base64');
  }
  if (raw.length !== 33 || raw[0] !== ED25519) throw new NoteError('only Ed25519 keys (type 0x01, 32 bytes) are supported');
  const publicKey = raw.slice(1);
  const id = parseInt(hexId, 16);
  if ((await keyId(name, ED25519, publicKey)) !== id) throw new NoteError('the key ID does not match the key');
  return { name, id, publicKey };
}

/** A verifier key's name and hex key ID, as people compare them (no check: parseVerifierKey checks). */
export const verifierKeyParts = (key: string) => ({ keyName: key.split('+')[0], keyId: key.split('+')[1] ?? '' });

/** The verifier key string of a name and a raw Ed25519 public key. */
export async function verifierKeyString(name: string, publicKey: Uint8Array): Promise<string> {
  if (!validName(name)) throw new NoteError('the key name must not be empty or contain spaces or "+"');
  const id = await keyId(name, ED25519, publicKey);
  return `${name}+${id.toString(16).padStart(8, '0')}+${toBase64(new Uint8Array([ED25519, ...publicKey]))}`;
}

export interface Signature {
  name: string;
  id: number;
  signature: Uint8Array;
}

/** Splits a note into its text and its signature lines (no verification). */
export function splitNote(note: string): { text: string; signatures: Signature[] } {
  const at = note.lastIndexOf('\n\n');
  if (at < 0 || !note.endsWith('\n')) throw new NoteError('a note is its text, a blank line, and signature lines, each ending in a new line');
  const text = note.slice(0, at + 1);
  const lines = note.slice(at + 2, -1).split('\n');
  const signatures = lines.map((line) => {
    if (!line.startsWith(DASH)) throw new NoteError('a signature line starts with "— "');
    const [name, b64, extra] = line.slice(DASH.length).split(' ');
    if (!validName(name ?? '') || !b64 || extra !== undefined) throw new NoteError('a signature line is "— <key name> <base64>"');
    let raw: Uint8Array;
    try {
      raw = fromBase64(b64);
    } catch {
      throw new NoteError('a signature is not base64');
    }
    if (raw.length < 5) throw new NoteError('a signature is too short');
    return { name, id: new DataView(raw.buffer, raw.byteOffset).getUint32(0, false), signature: raw.slice(4) };
  });
  if (signatures.length === 0) throw new NoteError('the note has no signature');
  return { text, signatures };
}

/**
 * Verifies a note against known keys: every signature line of a known key (name and ID) must
 * verify, at least one must be there; others are ignored. Resolves with the note's text.
 */
export async function verifyNote(note: string, keys: VerifierKey[]): Promise<string> {
  const { text, signatures } = splitNote(note);
  let verified = 0;
  for (const s of signatures) {
    const key = keys.find((k) => k.name === s.name && k.id === s.id);
    if (!key) continue;
    const cryptoKey = await globalThis.crypto.subtle.importKey('raw', key.publicKey as BufferSource, { name: 'Ed25519' }, false, ['verify']);
    const ok = s.signature.length === 64 && (await globalThis.crypto.subtle.verify('Ed25519', cryptoKey, s.signature as BufferSource, enc.encode(text)));
    if (!ok) throw new NoteError(`the signature of ${s.name} does not verify`);
    verified++;
  }
  if (verified === 0) throw new NoteError('no signature of a known key');
  return text;
}

export interface Checkpoint {
  origin: string;
  size: number;
  root: Hash;
  /** Further lines of the text (extensions), kept as they are. */
  extra: string[];
}

/** A checkpoint's text: origin, decimal size (no leading zeros), base64 root; each line ending in "\n". */
export function parseCheckpoint(text: string): Checkpoint {
  if (!text.endsWith('\n')) throw new NoteError('a checkpoint ends with a new line');
  const [origin, size, root, ...extra] = text.slice(0, -1).split('\n');
  if (!origin || /\s/.test(origin)) throw new NoteError('the origin line is empty or has spaces');
  if (!/^(0|[1-9]\d*)$/.test(size ?? '') || !Number.isSafeInteger(Number(size))) throw new NoteError('the tree size is not a decimal number without leading zeros');
  let hash: Uint8Array;
  try {
    hash = fromBase64(root ?? '');
  } catch {
    throw new NoteError('the root is not base64');
  }
  if (hash.length !== 32) throw new NoteError('the root is not a 32-byte hash');
  return { origin, size: Number(size), root: hash, extra };
}

/** Verifies a signed checkpoint with the known keys and reads it. */
export async function verifyCheckpoint(note: string, keys: VerifierKey[]): Promise<Checkpoint> {
  return parseCheckpoint(await verifyNote(note, keys));
}
