/**
 * The desktop app's main process without Electron's binary: the bridge's handlers against a
 * real server (fake dialogs and keyring), token storage, argument validation, exports to
 * files (PDF read back with pdftotext, CSV byte for byte, bulk export with its manifest and
 * cancel), the preload built from the one bridge declaration, and the window's security.
 * Over 300 lines: one file for the main process (one feature), as the other test files.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { RENDERER_CSP, serveRendererFile } from '../../desktop/main/app-protocol';
import { createMainApi, dispatch, type MainApi } from '../../desktop/main/handlers';
import { ServerStore, type SafeStorageLike } from '../../desktop/main/servers';
import { FileTrustStore } from '../../desktop/main/trust';
import { billDigest, type BillCheck, type LogCheck } from '../../shared/monitor';
import { verifyBundle } from '../../shared/evidence';
import { CHANNELS_QUERY, createBridge } from '../../desktop/preload/bridge';
import { CHANNELS, type BulkExportProgress, type Call, type Channel, type Envelope, type EventPayload } from '../../shared/bridge';
import { asciiFileName, billFileName, fileNameOf, safeFileName, UniqueNames } from '../../shared/files';
import { fixtureBills, FIXTURES } from '../helpers/fixtures';
import { ADMIN_TOKEN, SERVICE_TOKEN, startTestServer, type TestServer } from '../helpers/server';
import { integrated as waitForLog } from '../helpers/integrity';

const hasPdftotext = spawnSync('pdftotext', ['-v']).status === 0;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'archive-desktop-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A keyring that really transforms the text (so a token in clear on disk would be caught). */
const keyring = (available = true): SafeStorageLike => ({
  isEncryptionAvailable: () => available,
  encryptString: (s) => Buffer.from(`enc:${Buffer.from(s).toString('hex').split('').reverse().join('')}`),
  decryptString: (b) => Buffer.from(b.toString().slice(4).split('').reverse().join(''), 'hex').toString(),
});

let server: TestServer;
let main: MainApi;
const sent: { channel: string; payload: unknown }[] = [];
let saveTo = '';
let folderTo = '';
const call = (channel: Channel, ...args: unknown[]) => dispatch(main, channel, args);
const value = async <T>(channel: Channel, ...args: unknown[]): Promise<T> => {
  const env = (await call(channel, ...args)) as Envelope<T>;
  if (!env.ok) throw new Error(`${channel}: ${env.error.code}: ${env.error.message}`);
  return env.value;
};

beforeAll(async () => {
  server = await startTestServer();
  for (const b of fixtureBills().filter((x) => x.key.endsWith('202610'))) {
    expect((await server.api('/api/snapshot', { method: 'POST', json: b.body })).status).toBe(201);
  }
  main = createMainApi({
    store: new ServerStore(path.join(tmp, 'userData'), keyring()),
    trust: new FileTrustStore(path.join(tmp, 'userData')),
    dialog: {
      showSaveDialog: async (o) => ({ canceled: !saveTo, filePath: saveTo ? path.join(saveTo, path.basename(o.defaultPath)) : undefined }),
      showOpenDialog: async () => ({ canceled: !folderTo, filePaths: folderTo ? [folderTo] : [] }),
    },
    downloadsDir: tmp,
    send: (channel, payload) => sent.push({ channel, payload }),
  });
});
afterAll(async () => {
  main.shutdown();
  await server.stop();
});

describe('servers and tokens', () => {
  it('reports health, sign-in and version each on its own', async () => {
    const bad = await value<{ reachable: boolean; message: string }>('servers:test', { url: 'http://127.0.0.1:9' });
    expect(bad).toMatchObject({ reachable: false, health: 'unreachable', auth: 'untested' });
    expect(bad.message).toMatch(/Cannot reach the server/);
    expect(await value('servers:test', { url: server.url, token: 'wrong-token-0123456789abcdef' })).toMatchObject({ reachable: true, health: 'ok', auth: 'rejected', version: expect.any(String) });
    // Any token that may read signs in, saying what it may do.
    expect(await value('servers:test', { url: server.url, token: SERVICE_TOKEN })).toMatchObject({ auth: 'ok', token: { name: 'service', scopes: ['ingest', 'read'] } });
    expect(await value('servers:test', { url: server.url, token: ADMIN_TOKEN })).toMatchObject({ reachable: true, health: 'ok', database: 'ok', auth: 'ok' });
  });

  it('keeps the token encrypted on disk and never returns it', async () => {
    const saved = await value<{ id: string; hasToken: boolean; sessionOnly: boolean }>('servers:save', { name: 'Test', url: server.url + '/', token: ADMIN_TOKEN });
    expect(saved).toMatchObject({ name: 'Test', url: server.url, hasToken: true, sessionOnly: false });
    expect(JSON.stringify(saved)).not.toContain(ADMIN_TOKEN);
    const onDisk = fs.readFileSync(path.join(tmp, 'userData', 'servers.json'), 'utf8');
    expect(onDisk).not.toContain(ADMIN_TOKEN);
    expect(fs.statSync(path.join(tmp, 'userData', 'servers.json')).mode & 0o777).toBe(0o600);
    expect(JSON.stringify(await value('servers:list'))).not.toContain(ADMIN_TOKEN);
    // Not connected yet: calls say so.
    const env = await call('snapshots:stats');
    expect(env).toMatchObject({ ok: false, error: { code: 'not_connected' } });
    expect(await value('servers:connect', saved.id)).toMatchObject({ auth: 'ok' });
    expect(sent.some((s) => s.channel === 'servers:status' && (s.payload as { online: boolean }).online)).toBe(true);
  });

  it('without a system keyring keeps the token for the session only, never on disk', () => {
    const dir = path.join(tmp, 'nokeyring');
    const store = new ServerStore(dir, keyring(false));
    const s = store.save({ name: 'X', url: 'http://x.example:5012', token: 'secret-token-0123456789abcdef' });
    expect(s.sessionOnly).toBe(true);
    expect(fs.readFileSync(path.join(dir, 'servers.json'), 'utf8')).not.toContain('secret-token');
    expect(store.token(s.id)).toBe('secret-token-0123456789abcdef');
    expect(new ServerStore(dir, keyring(false)).token(s.id)).toBeUndefined();
  });
});

describe('tokens go only where they were saved for', () => {
  it('servers:test with a saved server and another address is refused, sending nothing', async () => {
    const saved = await value<{ id: string }>('servers:save', { name: 'Pinned', url: server.url, token: ADMIN_TOKEN });
    // A listener that records any request: the token must never reach it.
    const seen: string[] = [];
    const trap = http.createServer((req, res) => {
      seen.push(String(req.headers.authorization));
      res.end('{}');
    });
    await new Promise<void>((r) => trap.listen(0, '127.0.0.1', () => r()));
    try {
      const other = `http://127.0.0.1:${(trap.address() as AddressInfo).port}`;
      const env = await call('servers:test', { url: other, serverId: saved.id });
      expect(env).toMatchObject({ ok: false, error: { code: 'invalid_arguments', message: expect.stringMatching(/only sent to/) } });
      expect(seen).toEqual([]);
      // Its own address (with a trailing slash) is fine.
      expect(await value('servers:test', { url: `${server.url}/`, serverId: saved.id })).toMatchObject({ auth: 'ok' });
    } finally {
      trap.close();
    }
  });

  it("treats Linux's basic_text backend (a fixed key) as no keyring: session only, and takes old tokens off the disk", () => {
    const dir = path.join(tmp, 'basictext');
    const basic = { ...keyring(true), getSelectedStorageBackend: () => 'basic_text' };
    const store = new ServerStore(dir, basic);
    expect(store.keyringAvailable()).toBe(false);
    const s = store.save({ name: 'X', url: 'http://x.example:5012', token: 'secret-token-0123456789abcdef' });
    expect(s.sessionOnly).toBe(true);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'servers.json'), 'utf8'))[0].token).toBeUndefined();
    // A token saved earlier under the fixed key is read once, kept for the session, and removed from the file.
    const old = path.join(tmp, 'basictext-old');
    const before = new ServerStore(old, keyring(true)).save({ name: 'Y', url: 'http://y.example:5012', token: 'older-token-0123456789abcdef' });
    expect(JSON.parse(fs.readFileSync(path.join(old, 'servers.json'), 'utf8'))[0].token).toEqual(expect.any(String));
    const after = new ServerStore(old, basic);
    expect(after.token(before.id)).toBe('older-token-0123456789abcdef');
    expect(JSON.parse(fs.readFileSync(path.join(old, 'servers.json'), 'utf8'))[0].token).toBeUndefined();
    expect(after.list()[0]).toMatchObject({ hasToken: true, sessionOnly: true });
    expect(new ServerStore(dir, { ...keyring(true), getSelectedStorageBackend: () => 'gnome_libsecret' }).keyringAvailable()).toBe(true);
  });
});

describe('file names', () => {
  it('spells names in ASCII for old clients, letter by letter (ø -> o, not dropped)', () => {
    expect(asciiFileName(billFileName('Søndergaard Æbelø ApS', '1', 2026, 10, 'csv'))).toBe('Sondergaard_AEbelo_ApS_2026-10.csv');
    expect(asciiFileName(billFileName('Müller & Söhne GmbH', '1', 2026, 10, 'pdf'))).toBe('Muller__Sohne_GmbH_2026-10.pdf');
    expect(asciiFileName(billFileName('Straße Łódź Þór', '1', 2026, 10, 'pdf'))).toBe('Strasse_Lodz_Thor_2026-10.pdf');
    expect(asciiFileName('東京.pdf')).toBe('invoice.pdf');
  });

  it('reduces a name a server suggests to a safe base name', () => {
    expect(safeFileName('../../.ssh/authorized_keys')).toBe('authorized_keys');
    expect(safeFileName('C:\\Windows\\evil.csv')).toBe('evil.csv');
    expect(safeFileName('..')).toBe('');
    expect(safeFileName('CON.csv')).toBe('_CON.csv');
    expect(safeFileName('a<b>:c"d|e?f*g\u0000.csv')).toBe('a_b__c_d_e_f_g_.csv');
    expect(safeFileName('name. . ')).toBe('name');
    expect(safeFileName('\u202egnp.exe')).toBe('_gnp.exe');
    expect([...safeFileName(`${'ß'.repeat(300)}.csv`)].length).toBe(120);
    expect(fileNameOf(`attachment; filename="x.csv"; filename*=UTF-8''..%2F..%2Fetc%2Fpasswd`)).toBe('passwd');
    expect(fileNameOf(`attachment; filename*=UTF-8''%E0%A4%A`)).toBe(null);
  });

  it('keeps bulk-export names distinct on case-insensitive file systems', () => {
    const names = new UniqueNames();
    expect(names.take('Acme_2026-01.pdf', '1-202601')).toBe('Acme_2026-01.pdf');
    expect(names.take('ACME_2026-01.pdf', '2-202601')).toBe('ACME_2026-01_2-202601.pdf');
    expect(names.take('acme_2026-01.pdf', '2-202601')).toBe('acme_2026-01_2-202601_2.pdf');
    expect(names.take('Manifest.csv')).toBe('Manifest.csv');
    expect(names.take('manifest.CSV')).toBe('manifest_2.CSV');
    // Windows folds to upper case: ı and I, ſ and S are one name there.
    expect(names.take('Bılling_2026-01.pdf')).toBe('Bılling_2026-01.pdf');
    expect(names.take('BILLING_2026-01.pdf')).toBe('BILLING_2026-01_2.pdf');
    expect(names.take('ſtore.pdf')).toBe('ſtore.pdf');
    expect(names.take('Store.pdf')).toBe('Store_2.pdf');
    const inFolder = new UniqueNames();
    inFolder.reserve(['Acme_2026-01.pdf', 'manifest.csv']);
    expect(inFolder.take('manifest.csv')).toBe('manifest_2.csv');
    expect(inFolder.take('acme_2026-01.pdf', '1-202601')).toBe('acme_2026-01_1-202601.pdf');
  });
});

describe('the app:// scheme', () => {
  it('serves the renderer with the strict policy as a header, and nothing outside its folder', async () => {
    const root = path.join(tmp, 'renderer');
    fs.mkdirSync(path.join(root, 'assets'), { recursive: true });
    fs.writeFileSync(path.join(root, 'index.html'), '<!doctype html>');
    fs.writeFileSync(path.join(root, 'assets', 'a.js'), 'x');
    fs.writeFileSync(path.join(tmp, 'secret.txt'), 'secret');
    // A file inside the folder that a `..` would reach if it were only normalised away.
    fs.writeFileSync(path.join(root, 'secret.txt'), 'secret');
    const index = await serveRendererFile(root, 'app://archive/index.html');
    expect(index.status).toBe(200);
    expect(index.headers.get('content-security-policy')).toBe(RENDERER_CSP);
    expect(RENDERER_CSP).toMatch(/connect-src 'none'/);
    expect(index.headers.get('content-type')).toMatch(/text\/html/);
    expect((await serveRendererFile(root, 'app://archive/assets/a.js')).status).toBe(200);
    for (const bad of [
      'app://archive/assets/..%2F..%2Fsecret.txt',
      'app://archive/..%2Fsecret.txt',
      'app://archive/..%5C..%5Csecret.txt',
      'app://archive/%5C..%5Csecret.txt',
      'app://archive/secret.txt%00.js',
      'app://other/index.html',
      'file:///etc/passwd',
      'app://archive/%E0%A4%A',
    ]) {
      const res = await serveRendererFile(root, bad);
      expect(res.status, bad).toBe(404);
      expect(await res.text()).not.toContain('secret');
    }
  });
});

describe('the channel table types every call', () => {
  it('refuses, at type-check time, a channel wired to another call or a wrong event payload', () => {
    // @ts-expect-error runs:resume answers RunStarted, runs:cancel a Job: tsc (npm run typecheck) fails if this compiles
    const cancel: Call<'runs:cancel'> = (async () => ({ job_id: 'x', status: 'running' })) as Call<'runs:resume'>;
    // @ts-expect-error servers:status carries a ConnectionStatus, not a number
    const payload: EventPayload<'servers:status'> = 42;
    expect([typeof cancel, payload]).toEqual(['function', 42]);
  });
});

describe('calls are validated', () => {
  it('refuses bad arguments and unknown channels with the reason, and calls nothing', async () => {
    expect(await call('snapshots:get', 42)).toMatchObject({ ok: false, error: { code: 'invalid_arguments', message: expect.stringMatching(/snapshots:get/) } });
    expect(await call('runs:start', { year: 1999, month: 13, dry_run: 'yes' })).toMatchObject({ ok: false, error: { code: 'invalid_arguments' } });
    expect(await call('snapshots:search', { colour: 'red' })).toMatchObject({ ok: false, error: { code: 'invalid_arguments' } });
    expect(await call('servers:save', { name: '', url: 'ftp://x' })).toMatchObject({ ok: false, error: { code: 'invalid_arguments' } });
    expect(await call('fs:readFile' as Channel, '/etc/passwd')).toMatchObject({ ok: false, error: { code: 'invalid_arguments', message: 'Unknown channel fs:readFile' } });
    expect(await call('jobs:get', 'not-a-uuid', {})).toMatchObject({ ok: false, error: { code: 'invalid_arguments' } });
  });

  it("passes the server's own error through with its code and fields", async () => {
    const env = await call('snapshots:search', { year: 'abc' });
    expect(env).toMatchObject({ ok: false, error: { code: 'validation_failed', status: 400, details: { fields: [{ field: 'year' }] } } });
    expect(await call('snapshots:get', 'nope-1')).toMatchObject({ ok: false, error: { code: 'not_found', status: 404 } });
  });
});

describe('exports', () => {
  it('exports a PDF and a CSV where the save dialog says, or nothing when cancelled', async () => {
    saveTo = '';
    expect(await value('exports:pdf', '731118-202610')).toEqual({ file: null, bytes: 0 });
    saveTo = path.join(tmp, 'single');
    fs.mkdirSync(saveTo);
    const pdf = await value<{ file: string; bytes: number }>('exports:pdf', '731118-202610');
    expect(path.basename(pdf.file)).toBe('Müller__Söhne_GmbH_2026-10.pdf');
    expect(fs.statSync(pdf.file).size).toBe(pdf.bytes);
    if (hasPdftotext) expect(execFileSync('pdftotext', [pdf.file, '-'], { encoding: 'utf8' })).toContain('Müller & Söhne GmbH');
    const csv = await value<{ file: string }>('exports:csv', '731118-202610');
    expect(fs.readFileSync(csv.file, 'utf8')).toBe(fs.readFileSync(path.join(FIXTURES, 'csv', '731118-202610.csv'), 'utf8'));
  });

  it('exports every bill of a search to a folder with progress and a manifest', async () => {
    folderTo = path.join(tmp, 'bulk');
    sent.length = 0;
    const r = await value<{ state: string; files: number; manifest: string }>('exports:bulkPdf', { year: '2026', month: '10' });
    expect(r).toMatchObject({ state: 'done', files: 8 });
    const pdfs = fs.readdirSync(folderTo).filter((f) => f.endsWith('.pdf'));
    expect(pdfs).toHaveLength(8);
    // RFC 4180 lines, as Excel reads them.
    const manifest = fs.readFileSync(r.manifest, 'utf8').split('\r\n').slice(0, -1);
    expect(manifest[0]).toBe('file,invoice_number,company,period,total_amount,currency,content_hash');
    expect(manifest).toHaveLength(9);
    const bill = (await (await server.api('/api/snapshot/620547-202610')).json()) as { content_hash: string; total_amount: string };
    expect(manifest.some((l) => l.includes('620547-202610') && l.endsWith(`,${bill.total_amount},USD,${bill.content_hash}`))).toBe(true);
    const progress = sent.filter((s) => s.channel === 'exports:progress').map((s) => s.payload as BulkExportProgress);
    expect(progress.at(-1)).toMatchObject({ state: 'done', done: 8, total: 8 });
    expect(fs.readdirSync(folderTo).some((f) => f.endsWith('.part'))).toBe(false);
  });

  it('a cancelled bulk export stops, and its manifest lists what was written', async () => {
    folderTo = path.join(tmp, 'bulk-cancel');
    sent.length = 0;
    const running = call('exports:bulkPdf', {});
    await vi.waitFor(() => expect(sent.some((s) => s.channel === 'exports:progress')).toBe(true), { timeout: 5000, interval: 5 });
    const { exportId } = sent.find((s) => s.channel === 'exports:progress')!.payload as BulkExportProgress;
    await call('exports:cancel', exportId);
    const r = (await running) as Envelope<{ state: string; files: number; manifest: string | null }> as { ok: true; value: { state: string; files: number; manifest: string | null } };
    expect(r.value.state).toBe('cancelled');
    expect(r.value.files).toBeLessThan(8);
    const pdfs = fs.existsSync(folderTo) ? fs.readdirSync(folderTo).filter((f) => f.endsWith('.pdf')) : [];
    expect(pdfs).toHaveLength(r.value.files);
  });
});

describe('the log monitor', () => {
  const trustFile = () => path.join(tmp, 'userData', 'trust.json');
  const record = () => Object.values(JSON.parse(fs.readFileSync(trustFile(), 'utf8')))[0] as { verifierKey: string; size: number; root: string };
  const edit = (change: Record<string, unknown>) => {
    const all = JSON.parse(fs.readFileSync(trustFile(), 'utf8'));
    const id = Object.keys(all)[0];
    all[id] = { ...all[id], ...change };
    fs.writeFileSync(trustFile(), JSON.stringify(all));
  };
  const integrated = () => waitForLog(server);

  it('trusts the key it sees first, then verifies every new checkpoint against it', async () => {
    await integrated();
    const first = await value<LogCheck>('integrity:check');
    const key = (await (await server.api('/api/integrity/key')).text()).trim();
    expect(first).toMatchObject({ state: 'first_use', verifierKey: key, keyId: key.split('+')[1] });
    expect(record().verifierKey).toBe(key);
    const size = record().size;
    expect((await server.api('/api/snapshot', { method: 'POST', json: fixtureBills().find((b) => b.key.endsWith('202609'))!.body })).status).toBe(201);
    await integrated();
    const next = await value<LogCheck>('integrity:check');
    // The bill and its audit entry, at least.
    expect(next).toMatchObject({ state: 'ok' });
    expect(next.state === 'ok' && next.size).toBeGreaterThanOrEqual(size + 2);
    expect(record().size).toBe((next as { size: number }).size);
  });

  it('checks a bill on this computer, and exports its evidence bundle', async () => {
    const shown = await (await server.api('/api/snapshot/731118-202610')).json();
    const wrong = await value<BillCheck>('integrity:verifyBill', '731118-202610', await billDigest({ ...shown, total_amount: '1.00' }));
    expect(wrong).toMatchObject({ ok: false, message: 'the bill shown is not the bill the log proves' });
    const bill = await value<BillCheck>('integrity:verifyBill', '731118-202610', await billDigest(shown));
    expect(bill).toMatchObject({ ok: true, message: expect.stringMatching(/^Included in checkpoint \d+ \(leaf \d+\), verified on this computer$/) });
    saveTo = path.join(tmp, 'bundle');
    fs.mkdirSync(saveTo, { recursive: true });
    const out = await value<{ file: string }>('exports:bundle', '731118-202610');
    expect(path.basename(out.file)).toBe('Müller__Söhne_GmbH_2026-10.evidence.json');
    await verifyBundle(JSON.parse(fs.readFileSync(out.file, 'utf8')), record().verifierKey);
  });

  it('reports a changed key, a smaller tree and a rewritten history, and keeps reporting them', async () => {
    const good = record();
    edit({ verifierKey: 'example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k' });
    expect(await value<LogCheck>('integrity:check')).toMatchObject({ state: 'failed', failure: 'key_changed', message: expect.stringMatching(/now signs its log with another key/) });
    expect(await value<LogCheck>('integrity:check')).toMatchObject({ state: 'failed', failure: 'key_changed' });
    edit({ verifierKey: good.verifierKey, size: good.size + 5 });
    expect(await value<LogCheck>('integrity:check')).toMatchObject({ state: 'failed', failure: 'smaller_tree', message: expect.stringMatching(/The log has shrunk/) });
    edit({ size: good.size, root: Buffer.alloc(32, 7).toString('base64') });
    expect(await value<LogCheck>('integrity:check')).toMatchObject({ state: 'failed', failure: 'inconsistent', message: expect.stringMatching(/history was rewritten/) });
    edit({ size: good.size - 1 });
    expect(await value<LogCheck>('integrity:check')).toMatchObject({ state: 'failed', failure: 'inconsistent' });
    // Trusting again takes the key ID the person compared, and only that.
    const wrong = (await call('integrity:trust', '00000000')) as Envelope<LogCheck>;
    expect(wrong).toMatchObject({ ok: false, error: { message: expect.stringMatching(/type the key ID you compared/) } });
    expect(await value<LogCheck>('integrity:trust', good.verifierKey.split('+')[1])).toMatchObject({ state: 'first_use', verifierKey: good.verifierKey });
    expect(await value<LogCheck>('integrity:check')).toMatchObject({ state: 'ok' });
  });
});

describe('the preload', () => {
  it('exposes every channel of the bridge declaration, and nothing else', async () => {
    const invoked = new Set<string>();
    const bridge = createBridge({
      channels: () => Object.keys(CHANNELS) as Channel[],
      invoke: async (channel) => {
        invoked.add(channel);
        return { ok: true, value: null };
      },
      on: () => () => undefined,
    });
    const walk = async (o: Record<string, unknown>) => {
      for (const v of Object.values(o)) {
        if (typeof v === 'function') {
          const r = (v as (...a: unknown[]) => unknown)('00000000-0000-4000-8000-000000000000', () => undefined);
          if (typeof r === 'function') (r as () => void)();
          else await r;
        } else await walk(v as Record<string, unknown>);
      }
    };
    await walk(bridge as unknown as Record<string, unknown>);
    expect([...invoked].sort()).toEqual(Object.keys(CHANNELS).sort());
  });

  it('turns an error envelope into a BridgeError with its code', async () => {
    const bridge = createBridge({
      channels: () => Object.keys(CHANNELS) as Channel[],
      invoke: async () => ({ ok: false, error: { code: 'forbidden', message: 'no', status: 403 } }),
      on: () => () => undefined,
    });
    await expect(bridge.snapshots.stats()).rejects.toMatchObject({ name: 'BridgeError', code: 'forbidden', status: 403, message: 'no' });
  });
});

describe('the window', () => {
  it('is isolated and sandboxed, without Node, navigation, new windows or permissions (but notifications), and only our page may call', async () => {
    const windows: { opts: Record<string, unknown>; handlers: Record<string, (...a: unknown[]) => unknown>; openHandler?: (d: { url: string }) => unknown }[] = [];
    const ipcHandlers = new Map<string, (...a: unknown[]) => unknown>();
    const ipcListeners = new Map<string, (e: { returnValue?: unknown }) => void>();
    let permission: ((wc: unknown, p: string, cb: (ok: boolean) => void) => void) | undefined;
    let permissionCheck: ((wc: unknown, p: string) => boolean) | undefined;
    let beforeRequest: ((d: { url: string }, cb: (r: { cancel: boolean }) => void) => void) | undefined;
    const privileged: { scheme: string; privileges: Record<string, boolean> }[] = [];
    let appHandler: ((req: { url: string }) => Promise<Response>) | undefined;
    const loaded: string[] = [];
    vi.doMock('electron', () => {
      class BrowserWindow {
        webContents: Record<string, unknown>;
        constructor(opts: Record<string, unknown>) {
          const w = { opts, handlers: {} as Record<string, (...a: unknown[]) => unknown>, openHandler: undefined as undefined | ((d: { url: string }) => unknown) };
          windows.push(w);
          this.webContents = {
            on: (ev: string, fn: (...a: unknown[]) => unknown) => (w.handlers[ev] = fn),
            setWindowOpenHandler: (fn: (d: { url: string }) => unknown) => (w.openHandler = fn),
            send: () => undefined,
          };
        }
        once() {}
        loadFile(f: string) {
          loaded.push(`file:${f}`);
          return Promise.resolve();
        }
        loadURL(u: string) {
          loaded.push(u);
          return Promise.resolve();
        }
        static getAllWindows() {
          return windows;
        }
      }
      return {
        app: { whenReady: () => Promise.resolve(), getPath: () => tmp, on: () => undefined, quit: () => undefined },
        BrowserWindow,
        dialog: {},
        ipcMain: { handle: (ch: string, fn: (...a: unknown[]) => unknown) => ipcHandlers.set(ch, fn), on: (ch: string, fn: (e: { returnValue?: unknown }) => void) => ipcListeners.set(ch, fn) },
        safeStorage: keyring(),
        session: {
          defaultSession: {
            setPermissionRequestHandler: (fn: typeof permission) => (permission = fn),
            setPermissionCheckHandler: (fn: typeof permissionCheck) => (permissionCheck = fn),
            webRequest: { onHeadersReceived: () => undefined, onBeforeRequest: (_f: unknown, fn: typeof beforeRequest) => (beforeRequest = fn) },
          },
        },
        shell: { openExternal: () => Promise.resolve() },
        protocol: {
          registerSchemesAsPrivileged: (list: typeof privileged) => privileged.push(...list),
          handle: (scheme: string, fn: typeof appHandler) => scheme === 'app' && (appHandler = fn),
        },
      };
    });
    await import('../../desktop/main/index');
    await vi.waitFor(() => expect(windows).toHaveLength(1));
    const prefs = windows[0].opts.webPreferences as Record<string, unknown>;
    expect(prefs).toMatchObject({ contextIsolation: true, sandbox: true, nodeIntegration: false, webSecurity: true });
    let prevented = false;
    windows[0].handlers['will-navigate']({ preventDefault: () => (prevented = true) }, 'https://evil.example');
    expect(prevented).toBe(true);
    expect(windows[0].openHandler!({ url: 'https://evil.example' })).toEqual({ action: 'deny' });
    let granted: boolean | undefined;
    permission!(null, 'media', (ok) => (granted = ok));
    expect(granted).toBe(false);
    // Only notifications are allowed (how a long run ended).
    permission!(null, 'notifications', (ok) => (granted = ok));
    expect(granted).toBe(true);
    expect([permissionCheck!(null, 'notifications'), permissionCheck!(null, 'geolocation')]).toEqual([true, false]);
    let cancelled: boolean | undefined;
    beforeRequest!({ url: 'http://127.0.0.1:5012/api/stats' }, (r) => (cancelled = r.cancel));
    expect(cancelled).toBe(true);
    expect([...ipcHandlers.keys()].sort()).toEqual(Object.keys(CHANNELS).sort());
    // The preload learns the same names from the main process.
    const query: { returnValue?: unknown } = {};
    ipcListeners.get(CHANNELS_QUERY)!(query);
    expect(query.returnValue).toEqual(Object.keys(CHANNELS));
    // Loaded from app://, never file://, so the policy is a header on every file.
    expect(loaded).toEqual(['app://archive/index.html']);
    expect(privileged).toEqual([{ scheme: 'app', privileges: { standard: true, secure: true } }]);
    expect(appHandler).toBeDefined();
    const fromElsewhere = await ipcHandlers.get('snapshots:stats')!({ sender: {} });
    expect(fromElsewhere).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    vi.doUnmock('electron');
  });
});
