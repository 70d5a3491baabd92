/**
 * The tamper-evident log on a real server: every archived bill becomes a leaf shortly after its
 * 201; checkpoints are C2SP notes signed with the published key; inclusion and consistency
 * proofs served by the API verify with the shared code; an evidence bundle verifies offline and
 * fails once anything in it is changed; the log's tables refuse changes; and `archive verify`
 * names every kind of tampering a database superuser can do with the triggers off.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EvidenceBundle, InclusionProof, ConsistencyProof, IntegrityStatus, VerifyReport } from '../../shared/api';
import { verifyBundle } from '../../shared/evidence';
import { fromBase64, verifyConsistency, verifyInclusion } from '../../shared/merkle';
import { parseVerifierKey, verifyCheckpoint } from '../../shared/signed-note';
import { fixtureBills, makeBill } from '../helpers/fixtures';
import { ADMIN_TOKEN, startTestServer, testConfig, type TestServer } from '../helpers/server';
import { integrated as waitForLog, tampered as tamperedWith } from '../helpers/integrity';
import type { Knex } from 'knex';
import { execFileSync, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { integrityKeyCommand, verifyBundleCommand, verifyCommand } from '../../server/cli/integrity';
import { createLogger } from '../../server/log';
import { startServer } from '../../server/main';
import { verifyArchive } from '../../server/integrity/verify';
import canonicalize from 'canonicalize';

let server: TestServer;
let key: string;
const bills = fixtureBills();

beforeAll(async () => {
  server = await startTestServer();
  key = (await (await server.api('/api/integrity/key')).text()).trim();
  // A first checkpoint with some bills in it, then more bills: two signed sizes to compare.
  for (const b of bills.slice(0, 5)) expect((await server.api('/api/snapshot', { method: 'POST', body: b.rawBody, headers: { 'Content-Type': 'application/json' } })).status).toBe(201);
  await integrated();
  for (const b of bills.slice(5)) expect((await server.api('/api/snapshot', { method: 'POST', body: b.rawBody, headers: { 'Content-Type': 'application/json' } })).status).toBe(201);
  for (let i = 1; i <= 12; i++) {
    const body = makeBill({ company_account_number: '700001', billing_month: i, billing_year: 2024 });
    expect((await server.api('/api/snapshot', { method: 'POST', json: body })).status).toBe(201);
  }
  await integrated();
}, 60_000);
afterAll(async () => {
  await server?.stop();
});

async function status(): Promise<IntegrityStatus> {
  return (await server.api('/api/integrity')).json();
}

const integrated = () => waitForLog(server);

const total = () => bills.length + 12;
/** The log after the first five bills: each bill and its audit entry are a leaf each. */
const FIRST = 10;
const leaves = async () => Number((await server.db.knex('log_leaves').count({ n: '*' }).first())!.n);

describe('the log', () => {
  it('holds every bill, with a checkpoint signed by the published key', async () => {
    const s = await integrated();
    expect(s.checkpoint.size).toBe(await leaves());
    expect(await server.db.knex('log_leaves').where('kind', 'snapshot').count({ n: '*' }).first()).toEqual({ n: total() });
    expect(s.sequencer.state).toBe('ok');
    expect(s.verifier_key).toBe(key);
    const note = await (await server.api('/api/integrity/checkpoint')).text();
    const cp = await verifyCheckpoint(note, [await parseVerifierKey(key)]);
    expect(cp.size).toBe(s.checkpoint.size);
    expect(cp.origin).toBe(s.origin);
    // Another key does not verify it.
    const other = 'example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k';
    await expect(verifyCheckpoint(note, [await parseVerifierKey(other)])).rejects.toThrow(/no signature of a known key/);
  });

  it('integrates bills in the order they were archived, each once', async () => {
    const all = await server.db.knex('log_leaves').orderBy('idx').select('idx');
    expect(all.map((r) => Number(r.idx))).toEqual(all.map((_, i) => i));
    const rows = await server.db.knex('log_leaves as l').join('billing_snapshots as s', 's.id', 'l.ref_id').where('l.kind', 'snapshot').orderBy('l.idx').select('l.idx', 's.id', 's.invoice_number');
    expect(rows.map((r) => Number(r.id))).toEqual([...rows.map((r) => Number(r.id))].sort((a, b) => a - b));
    expect(new Set(rows.map((r) => r.invoice_number)).size).toBe(total());
  });

  it('serves inclusion proofs that verify against the signed root, by invoice and by leaf', async () => {
    const s = await status();
    const root = fromBase64(s.checkpoint.root);
    for (const b of bills) {
      const res = await server.api(`/api/integrity/inclusion?invoice_number=${b.body.invoice_number}`);
      expect(res.status).toBe(200);
      const p: InclusionProof = await res.json();
      expect(p.tree_size).toBe(s.checkpoint.size);
      await verifyInclusion(p.leaf_index, p.tree_size, fromBase64(p.leaf_hash), p.hashes.map(fromBase64), root);
    }
    const byLeaf: InclusionProof = await (await server.api(`/api/integrity/inclusion?leaf_index=3&tree_size=${FIRST}`)).json();
    const first = await verifyCheckpoint(await (await server.api(`/api/integrity/checkpoints/${FIRST}`)).text(), [await parseVerifierKey(key)]);
    await verifyInclusion(3, FIRST, fromBase64(byLeaf.leaf_hash), byLeaf.hashes.map(fromBase64), first.root);
  });

  it('serves consistency proofs between signed sizes', async () => {
    const s = await status();
    const p: ConsistencyProof = await (await server.api(`/api/integrity/consistency?from=${FIRST}&to=${s.checkpoint.size}`)).json();
    await verifyConsistency(FIRST, s.checkpoint.size, p.hashes.map(fromBase64), fromBase64(p.checkpoint1.root), fromBase64(p.checkpoint2.root));
    await verifyCheckpoint(p.checkpoint1.note, [await parseVerifierKey(key)]);
  });

  it('refuses proofs it cannot give, in words', async () => {
    const unsigned = await server.api(`/api/integrity/consistency?from=${FIRST}&to=100000`);
    expect(unsigned.status).toBe(404);
    expect((await unsigned.json()).error).toMatch(/no checkpoint of size 100000/);
    const both = await server.api('/api/integrity/inclusion?leaf_index=1&invoice_number=x-1');
    expect(both.status).toBe(400);
    const beyond = await server.api(`/api/integrity/inclusion?leaf_index=999&tree_size=${FIRST}`);
    expect(beyond.status).toBe(404);
    expect((await server.api('/api/integrity/checkpoints/05')).status).toBe(400);
  });

  it('refuses UPDATE, DELETE and TRUNCATE of leaves, nodes and checkpoints', async () => {
    for (const table of ['log_leaves', 'log_nodes', 'log_checkpoints']) {
      await expect(server.db.knex.raw(`UPDATE ${table} SET ${table === 'log_checkpoints' ? 'note' : 'hash'} = ${table === 'log_checkpoints' ? "'x'" : "'\\x00'"}`)).rejects.toThrow(/immutable/);
      await expect(server.db.knex.raw(`DELETE FROM ${table}`)).rejects.toThrow(/immutable/);
      await expect(server.db.knex.raw(`TRUNCATE ${table}`)).rejects.toThrow(/immutable/);
    }
  });
});

describe('an evidence bundle', () => {
  let bundle: EvidenceBundle;
  beforeAll(async () => {
    const res = await server.api(`/api/snapshot/${bills[2].body.invoice_number}/bundle`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-disposition')).toMatch(/\.evidence\.json/);
    bundle = await res.json();
  });

  it('verifies offline with the verifier key alone', async () => {
    const check = await verifyBundle(JSON.parse(JSON.stringify(bundle)), key);
    expect(check.invoice_number).toBe(bills[2].body.invoice_number);
    expect(check.checks).toHaveLength(4);
    expect(check.bill.snapshot.total_amount).toBe((await (await server.api(`/api/snapshot/${bundle.invoice_number}`)).json()).total_amount);
  });

  it('fails for a changed amount, a changed leaf, a wrong proof, another key', async () => {
    const changed = { ...bundle, canonical: bundle.canonical.replace(/"total_amount":"[^"]+"/, '"total_amount":"1.00"') };
    await expect(verifyBundle(changed, key)).rejects.toThrow(/does not hash to its content hash/);
    await expect(verifyBundle({ ...bundle, leaf_index: bundle.leaf_index + 1 }, key)).rejects.toThrow(/not in the signed tree/);
    await expect(verifyBundle({ ...bundle, inclusion: { ...bundle.inclusion, hashes: [...bundle.inclusion.hashes].reverse() } }, key)).rejects.toThrow(/not in the signed tree/);
    await expect(verifyBundle(bundle, 'example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k')).rejects.toThrow(/not signed by example.com\/foo/);
    await expect(verifyBundle({ format: 'x' }, key)).rejects.toThrow(/not an evidence bundle/);
  });

  it('is named in the PDF by its leaf and first checkpoint', async () => {
    const log = await (await server.api(`/api/snapshot/${bundle.invoice_number}/log`)).json();
    expect(log).toMatchObject({ state: 'included', leaf_index: bundle.leaf_index });
    expect(log.first_checkpoint_size).toBeGreaterThan(bundle.leaf_index);
    if (spawnSync('pdftotext', ['-v']).status !== 0) return;
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'pdf-')), 'bill.pdf');
    fs.writeFileSync(file, Buffer.from(await (await server.api(`/api/snapshot/${bundle.invoice_number}/pdf`)).arrayBuffer()));
    const text = execFileSync('pdftotext', [file, '-'], { encoding: 'utf8' }).replace(/\s+/g, ' ');
    expect(text).toContain(`leaf ${log.leaf_index} of the archive's tamper-evident log, first signed in checkpoint ${log.first_checkpoint_size}`);
  });
});

/** Tampering as a database superuser with the triggers off, undone after the check. */
const tampered = (sql: (trx: Knex.Transaction) => Promise<void>) => tamperedWith(server.db.knex, key, sql);

const messages = (r: VerifyReport) => r.findings.map((f) => f.message).join('\n');

describe('archive verify', () => {
  const victim = () => bills[4].body.invoice_number as string;
  const victimId = async (trx: Knex) => Number((await trx('billing_snapshots').where('invoice_number', victim()).first('id')).id);

  it('passes an untouched archive', async () => {
    await integrated();
    const r: VerifyReport = await (await server.api('/api/integrity/verify', { method: 'POST', token: ADMIN_TOKEN })).json();
    expect(r.findings).toEqual([]);
    expect(r).toMatchObject({ ok: true, bills: total(), queued: 0, first_divergent_leaf: null });
    expect(r.leaves).toBe(r.bills + r.audit_entries);
    expect(r.checkpoints).toBeGreaterThanOrEqual(3);
  });

  it('names a bill whose amount was changed, and the field', async () => {
    const r = await tampered(async (trx) => void (await trx.raw(`UPDATE billing_snapshots SET total_amount = total_amount + 100 WHERE invoice_number = ?`, [victim()])));
    expect(r.ok).toBe(false);
    expect(messages(r)).toMatch(new RegExp(`Invoice ${victim()} no longer matches what the log recorded \\(leaf \\d+\\): total_amount is`));
  });

  it('names a changed line, with its position', async () => {
    const r = await tampered(async (trx) => void (await trx.raw(`UPDATE snapshot_line_items SET amount = 0 WHERE snapshot_id = ? AND position = 2`, [await victimId(trx)])));
    expect(messages(r)).toMatch(new RegExp(`Invoice ${victim()} no longer matches .*line 2 \\([a-z]+ .*\\): amount is "0.00"`));
  });

  it('names a deleted line', async () => {
    const r = await tampered(async (trx) => void (await trx.raw(`DELETE FROM snapshot_line_items WHERE snapshot_id = ? AND position = 1`, [await victimId(trx)])));
    expect(messages(r)).toMatch(new RegExp(`Invoice ${victim()}: it has \\d+ line items?, but was archived with`));
    expect(messages(r)).toMatch(/line 1 .* (is missing|amount is)/);
  });

  it('names a deleted bill', async () => {
    const r = await tampered(async (trx) => {
      const id = await victimId(trx);
      await trx.raw('DELETE FROM snapshot_line_items WHERE snapshot_id = ?', [id]);
      await trx.raw('DELETE FROM billing_snapshots WHERE id = ?', [id]);
    });
    expect(messages(r)).toContain(`Invoice ${victim()} (leaf`);
    expect(messages(r)).toMatch(/the bill was deleted/);
  });

  it('names a bill whose hash and leaf were both rewritten: the signed checkpoints no longer match', async () => {
    const r = await tampered(async (trx) => {
      const id = await victimId(trx);
      await trx.raw(`UPDATE snapshot_line_items SET amount = amount + 1 WHERE snapshot_id = ? AND position = 1`, [id]);
      await trx.raw(`UPDATE billing_snapshots SET total_amount = total_amount + 1 WHERE id = ?`, [id]);
      // The attacker recomputes the bill's hash and writes the leaf to match.
      const { recompute } = await import('../helpers/recompute');
      const hash = await recompute(trx, id);
      await trx.raw(`UPDATE billing_snapshots SET content_hash = ? WHERE id = ?`, [hash, id]);
      await trx.raw(`UPDATE log_leaves SET data = archive_log_leaf('snapshot', ?, ?), hash = sha256('\\x00'::bytea || archive_log_leaf('snapshot', ?, ?)) WHERE kind = 'snapshot' AND ref_id = ?`, [
        victim(),
        hash,
        victim(),
        hash,
        id,
      ]);
    });
    expect(r.ok).toBe(false);
    expect(messages(r)).toMatch(/checkpoints? from size \d+ on no longer match the leaves/);
    const leaf = Number((await server.db.knex('log_leaves as l').join('billing_snapshots as s', 's.id', 'l.ref_id').where('s.invoice_number', victim()).first('l.idx')).idx);
    // The stored subtree over the leaf and its sibling still holds the old hash: the divergence is found to the pair.
    expect(r.first_divergent_leaf).toBe(leaf - (leaf % 2));
    expect(messages(r)).toMatch(new RegExp(`stored tree nodes? no longer match.*the leaves, from leaves ${leaf - (leaf % 2)} to ${leaf - (leaf % 2) + 1} on`));
  });

  it('stores the billing data as the canonical text its content hash covers, byte for byte', async () => {
    const b = bills[0];
    const row = await server.db.knex('billing_snapshots').where('invoice_number', b.body.invoice_number).first(server.db.knex.raw('billing_data_json::text AS text'), 'id', 'content_hash');
    expect(row.text).toBe(canonicalize(b.body.billing_data_json));
    const { recompute } = await import('../helpers/recompute');
    expect(await recompute(server.db.knex, Number(row.id))).toBe(row.content_hash);
  });

  it('checks a bill stored with another text of its billing data (as before that text was canonical) by its value', async () => {
    // jsonb's text of the same value: other key order, other spacing.
    const same = await tampered(async (trx) => void (await trx.raw('UPDATE billing_snapshots SET billing_data_json = billing_data_json::jsonb::json WHERE invoice_number = ?', [victim()])));
    expect(same.findings).toEqual([]);
    const changed = await tampered(
      async (trx) => void (await trx.raw(`UPDATE billing_snapshots SET billing_data_json = jsonb_set(billing_data_json::jsonb, '{extra}', '1')::json WHERE invoice_number = ?`, [victim()])),
    );
    expect(messages(changed)).toMatch(new RegExp(`Invoice ${victim()} no longer matches what the log recorded \\(leaf \\d+\\)`));
  });

  it("reads and hashes in worker threads, inside the verify's own snapshot, with the same findings", async () => {
    const inThreads = () => verifyArchive(server.db.knex, { verifierKey: key, threads: 2, batchSize: 4 });
    const clean = await inThreads();
    expect(clean.findings).toEqual([]);
    expect(clean).toMatchObject({ ok: true, bills: total() });
    // Tampering committed (the worker threads see only what is committed), then undone.
    const change = (by: number) =>
      server.db.knex.transaction(async (trx) => {
        await trx.raw('SET LOCAL session_replication_role = replica');
        await trx.raw('UPDATE billing_snapshots SET total_amount = total_amount + ? WHERE invoice_number = ?', [by, victim()]);
      });
    await change(100);
    try {
      const r = await inThreads();
      expect(r.ok).toBe(false);
      expect(r.bills).toBe(total());
      expect(messages(r)).toMatch(new RegExp(`Invoice ${victim()} no longer matches what the log recorded \\(leaf \\d+\\): total_amount is`));
    } finally {
      await change(-100);
    }
    expect((await inThreads()).ok).toBe(true);
  });

  it('notices a reordered log', async () => {
    const r = await tampered(async (trx) => {
      const [a, b] = await trx('log_leaves').whereIn('idx', [1, 2]).orderBy('idx');
      await trx.raw('UPDATE log_leaves SET ref_id = -1 WHERE idx = 2');
      await trx.raw('UPDATE log_leaves SET kind = ?, ref_id = ?, data = ?, hash = ? WHERE idx = 1', [b.kind, b.ref_id, b.data, b.hash]);
      await trx.raw('UPDATE log_leaves SET kind = ?, ref_id = ?, data = ?, hash = ? WHERE idx = 2', [a.kind, a.ref_id, a.data, a.hash]);
    });
    expect(r.ok, messages(r)).toBe(false);
    expect(messages(r)).toMatch(/no longer match the leaves: the log was rewritten or reordered between leaf [01] and leaf \d+/);
  });

  it('notices a truncated log', async () => {
    const n = await leaves();
    const r = await tampered(async (trx) => void (await trx.raw('DELETE FROM log_leaves WHERE idx >= ?', [n - 3])));
    expect(messages(r)).toMatch(new RegExp(`Checkpoint ${n} was signed, but the log holds only ${n - 3} leaves: the log was truncated`));
    expect(messages(r)).toMatch(/is not in the log, and not queued for it/);
  });

  it('notices a checkpoint whose signature was forged', async () => {
    const r = await tampered(async (trx) => void (await trx.raw(`UPDATE log_checkpoints SET note = replace(note, E'\\n\\n', E'\\n\\n') || '' WHERE size = ${FIRST}`)));
    expect(r.ok).toBe(true);
    const forged = await tampered(
      async (trx) => void (await trx.raw(`UPDATE log_checkpoints SET note = regexp_replace(note, E'^([^\\n]*\\n)${FIRST}\\n', E'\\\\1${FIRST + 1}\\n') WHERE size = ${FIRST}`)),
    );
    expect(messages(forged)).toMatch(new RegExp(`Checkpoint ${FIRST}: the signature of .* does not verify`));
  });
});

describe('the commands', () => {
  const config = () => testConfig({ DATABASE_URL: server.database.url });

  it('archive verify says OK and exits 0 on an untouched archive', async () => {
    const out: string[] = [];
    expect(
      await verifyCommand(
        config(),
        {},
        (l) => out.push(l),
        () => undefined,
      ),
    ).toBe(0);
    expect(out.join('\n')).toMatch(new RegExp(`Checked ${total()} bills, \\d+ audit entries, \\d+ leaves and \\d+ checkpoints[\\s\\S]*OK: every bill matches its leaf`));
  });

  it('archive integrity key prints the published key', async () => {
    const out: string[] = [];
    expect(await integrityKeyCommand(config(), (l) => out.push(l))).toBe(0);
    expect(out).toEqual([key]);
  });

  it('archive verify-bundle checks a bundle file offline, and fails a changed one naming the step', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bundle-'));
    const bundle: EvidenceBundle = await (await server.api(`/api/snapshot/${bills[0].body.invoice_number}/bundle`)).json();
    fs.writeFileSync(path.join(dir, 'good.json'), JSON.stringify(bundle));
    fs.writeFileSync(path.join(dir, 'key.txt'), key + '\n');
    const out: string[] = [];
    expect(await verifyBundleCommand(path.join(dir, 'good.json'), path.join(dir, 'key.txt'), (l) => out.push(l))).toBe(0);
    expect(out[0]).toMatch(new RegExp(`^OK: invoice ${bills[0].body.invoice_number}`));
    fs.writeFileSync(path.join(dir, 'bad.json'), JSON.stringify({ ...bundle, content_hash: '0'.repeat(64) }));
    const bad: string[] = [];
    expect(await verifyBundleCommand(path.join(dir, 'bad.json'), key, (l) => bad.push(l))).toBe(1);
    expect(bad[0]).toMatch(/^FAILED: The bill does not hash to its content hash/);
  });

  it('refuses to start with another signing key than the one the log was signed with', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'other-key-'));
    const file = path.join(dir, 'key.pem');
    fs.writeFileSync(file, crypto.generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 });
    await expect(startServer(testConfig({ DATABASE_URL: server.database.url, ARCHIVE_SIGNING_KEY_FILE: file }), { log: createLogger('silent'), quiet: true })).rejects.toThrow(
      /is not the key this log was signed with[\s\S]*Restore the original key file/,
    );
    await expect(startServer(testConfig({ DATABASE_URL: server.database.url, ARCHIVE_SIGNING_KEY_FILE: path.join(dir, 'missing.pem') }), { log: createLogger('silent'), quiet: true })).rejects.toThrow(
      /does not exist\. Restore it from your backup/,
    );
    // A data folder without the key (a new host, a restored database): refused, and no new key left there.
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'no-key-'));
    await expect(startServer(testConfig({ DATABASE_URL: server.database.url, ARCHIVE_DATA_DIR: empty, ARCHIVE_SIGNING_KEY_FILE: '' }), { log: createLogger('silent'), quiet: true })).rejects.toThrow(
      /^There is no signing key at .*signing-key\.pem \(the data folder\), and this log was signed with .*: restore its key file from where you keep it \(it is not in the backups\)/,
    );
    expect(fs.readdirSync(empty)).toEqual([]);
    fs.rmSync(empty, { recursive: true, force: true });
  });
});

describe('the sequencer', () => {
  it('signs nothing more once the stored tree no longer gives the last signed root', async () => {
    const other = await startTestServer();
    try {
      const post = (month: number) => other.api('/api/snapshot', { method: 'POST', json: makeBill({ company_account_number: '700002', billing_month: month }) });
      expect((await post(1)).status).toBe(201);
      expect((await post(2)).status).toBe(201);
      await waitForLog(other);
      const before: IntegrityStatus = await (await other.api('/api/integrity')).json();
      await other.db.knex.transaction(async (trx) => {
        await trx.raw('SET LOCAL session_replication_role = replica');
        // Every subtree above the leaves: whatever the size, the next append builds on one of them.
        await trx.raw(`UPDATE log_nodes SET hash = sha256('forged'::bytea) WHERE level > 0`);
      });
      expect((await post(3)).status).toBe(201);
      let after: IntegrityStatus = before;
      for (let i = 0; i < 100 && after.sequencer.state === 'ok'; i++) {
        await new Promise((r) => setTimeout(r, 25));
        after = await (await other.api('/api/integrity')).json();
      }
      expect(after.sequencer).toMatchObject({ state: 'broken', reason: expect.stringMatching(/^the stored tree of size \d+ has the root .*, not the signed/) });
      expect(after.checkpoint.size).toBe(before.checkpoint.size);
      expect(after.queued).toBe(2);
    } finally {
      await other.stop();
    }
  });
});

describe('the sequencer, against a truncated log', () => {
  it('signs nothing once the database shows less than it signed', async () => {
    const other = await startTestServer();
    try {
      const post = (month: number) => other.api('/api/snapshot', { method: 'POST', json: makeBill({ company_account_number: '700003', billing_month: month }) });
      const drained = async () => {
        await waitForLog(other);
      };
      expect((await post(1)).status).toBe(201);
      await drained();
      expect((await post(2)).status).toBe(201);
      await drained();
      const before: IntegrityStatus = await (await other.api('/api/integrity')).json();
      // A superuser cuts the log back to its first checkpoint, leaves, nodes and all.
      await other.db.knex.transaction(async (trx) => {
        await trx.raw('SET LOCAL session_replication_role = replica');
        const first = Number((await trx('log_checkpoints').where('size', '>', 0).orderBy('size').first('size')).size);
        await trx.raw('DELETE FROM log_checkpoints WHERE size > ?', [first]);
        await trx.raw('DELETE FROM log_leaves WHERE idx >= ?', [first]);
        await trx.raw('DELETE FROM log_nodes WHERE (idx + 1) * (2 ^ level)::bigint > ?', [first]);
      });
      expect((await post(3)).status).toBe(201);
      let after: IntegrityStatus = before;
      for (let i = 0; i < 100 && after.sequencer.state === 'ok'; i++) {
        await new Promise((r) => setTimeout(r, 25));
        after = await (await other.api('/api/integrity')).json();
      }
      expect(after.sequencer).toMatchObject({
        state: 'broken',
        reason: expect.stringMatching(new RegExp(`but this server signed size ${before.checkpoint.size}: checkpoints were removed or replaced`)),
      });
    } finally {
      await other.stop();
    }
  });
});
