/**
 * The log's Ed25519 signing key and its checkpoints (C2SP signed notes). The key lives in
 * ARCHIVE_SIGNING_KEY_FILE, or in `signing-key.pem` in the data folder, generated there on
 * first start (mode 0600). It is never logged; only its verifier key is published. Signing
 * and key generation are node:crypto's.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { toBase64 } from '../../shared/merkle';
import { verifierKeyParts, verifierKeyString } from '../../shared/signed-note';
import { StartupError } from '../startup-error';

export interface Signer {
  /** The key name: the log's origin. */
  name: string;
  /** `<name>+<key ID>+<base64 key>`, as verifiers take it. */
  verifierKey: string;
  /** Where the private key is kept (for messages; never its content). */
  file: string;
  /** A signed checkpoint: origin, size, root; a blank line; this key's signature line. */
  checkpoint(size: number, root: Uint8Array): string;
}

export const KEY_FILE_NAME = 'signing-key.pem';

export interface SignerOptions {
  /** ARCHIVE_SIGNING_KEY_FILE, when set: it must exist (a typo never makes a new identity). */
  keyFile?: string;
  /** false: never make a key (commands that only read the log). */
  create?: boolean;
  /** What follows "There is no signing key at FILE (the data folder)" when there is none; default: where to run, or --key. */
  whenMissing?: string;
  dataDir: string;
  origin: string;
}

export async function loadSigner(opts: SignerOptions): Promise<Signer> {
  const file = opts.keyFile ?? path.join(opts.dataDir, KEY_FILE_NAME);
  const key = opts.keyFile || opts.create === false ? readKey(file, opts.keyFile ? 'ARCHIVE_SIGNING_KEY_FILE' : 'the data folder', opts.whenMissing) : readOrCreateKey(file);
  const jwk = crypto.createPublicKey(key).export({ format: 'jwk' });
  const publicKey = new Uint8Array(Buffer.from(jwk.x ?? '', 'base64url'));
  const verifierKey = await verifierKeyString(opts.origin, publicKey);
  const idBytes = Buffer.from(verifierKeyParts(verifierKey).keyId, 'hex');
  return {
    name: opts.origin,
    verifierKey,
    file,
    checkpoint(size, root) {
      const text = `${opts.origin}\n${size}\n${toBase64(root)}\n`;
      const signature = crypto.sign(null, Buffer.from(text, 'utf8'), key);
      return `${text}\n\u2014 ${opts.origin} ${toBase64(new Uint8Array(Buffer.concat([idBytes, signature])))}\n`;
    },
  };
}

function readKey(
  file: string,
  where = 'the data folder',
  whenMissing = ": run this where the server's key is, set ARCHIVE_SIGNING_KEY_FILE, or pass the log's verifier key with --key.",
): crypto.KeyObject {
  let pem: string;
  try {
    pem = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new StartupError(
      code === 'ENOENT'
        ? where === 'ARCHIVE_SIGNING_KEY_FILE'
          ? `The signing key ${file} (ARCHIVE_SIGNING_KEY_FILE) does not exist. Restore it from your backup, or unset ARCHIVE_SIGNING_KEY_FILE to use the key in the data folder.`
          : `There is no signing key at ${file} (${where})${whenMissing}`
        : `Cannot read the signing key ${file}: ${code ?? (err as Error).message}`,
    );
  }
  let key: crypto.KeyObject;
  try {
    key = crypto.createPrivateKey(pem);
  } catch {
    throw new StartupError(`The signing key ${file} is not a PEM private key.`);
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new StartupError(`The signing key ${file} is a ${key.asymmetricKeyType} key; the log signs with Ed25519.`);
  return key;
}

function readOrCreateKey(file: string): crypto.KeyObject {
  if (!fs.existsSync(file)) {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    const { privateKey } = crypto.generateKeyPairSync('ed25519');
    const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
    try {
      // 'wx': two processes starting at once never overwrite each other's new key.
      fs.writeFileSync(file, pem, { mode: 0o600, flag: 'wx' });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new StartupError(`Cannot write the signing key ${file}: ${(err as Error).message}`);
    }
  }
  return readKey(file);
}

/** Group or world access to the key file: said at start-up, so it can be fixed. */
export function keyFileTooOpen(file: string): boolean {
  try {
    return (fs.statSync(file).mode & 0o077) !== 0;
  } catch {
    return false;
  }
}
