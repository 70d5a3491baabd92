/**
 * One bill (its latest revision, or the one asked for): header, correction notices, category
 * subtotals, lines grouped by kind, its proof, exports, its revisions, and (admins) filing a
 * correction from Ledger.
 */
import { useState } from 'react';
import type { BillLine } from '../../../../shared/api';
import type { Go } from '../routes';
import { useAsync, useBridge, useCan, useCurrency } from '../bridge-context';
import { CorrectionDialog } from './Correction';
import { ErrorBox, Money, period, when, day } from '../ui';
import { useLogCheck } from '../log-monitor';
import { billDigest } from '../../../../shared/monitor';

const GROUPS: { type: BillLine['line_type']; title: string; total: string }[] = [
  { type: 'user', title: 'Users', total: 'total_user_charges' },
  { type: 'asset', title: 'Assets', total: 'total_asset_charges' },
  { type: 'backup', title: 'Backup', total: 'total_backup_charges' },
  { type: 'ticket', title: 'Hourly labour', total: 'total_ticket_charges' },
  { type: 'custom', title: 'Custom charges', total: 'total_line_item_charges' },
];

export function Bill({ invoice, revision, go }: { invoice: string; revision?: number; go: Go }) {
  const bridge = useBridge();
  const bill = useAsync(() => bridge.snapshots.get(invoice, revision), [bridge, invoice, revision]);
  const admin = useCan('admin');
  const [correcting, setCorrecting] = useState(false);
  const currency = useCurrency();
  const [busy, setBusy] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const b = bill.data;
  // The bill proven on this computer, once the server's log has been checked (and again after each check).
  const log = useLogCheck();
  const checked = log ? `${log.state} ${log.verifiedAt}` : null;
  // The proof is about the bill on screen: its own canonical form's hash, computed here.
  const proof = useAsync(async () => (checked && b ? bridge.integrity.verifyBill(invoice, await billDigest(b), revision) : null), [bridge, invoice, revision, checked, b]);

  const exportAs = async (kind: 'pdf' | 'csv' | 'bundle') => {
    setBusy(kind);
    setError(null);
    setNotice(null);
    try {
      const r = await bridge.exports[kind](invoice, revision);
      if (r.file) setNotice(`Saved ${r.file} (${Math.max(1, Math.round(r.bytes / 1024))} KB)`);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(null);
    }
  };

  if (bill.error)
    return (
      <section>
        <button className="link" onClick={() => go({ name: 'snapshots' })}>
          ← Snapshots
        </button>
        <ErrorBox error={bill.error} title={`Cannot open ${invoice}`} />
      </section>
    );
  if (!b)
    return (
      <section>
        <p className="muted">Loading {invoice}…</p>
      </section>
    );
  return (
    <section>
      <button className="link" onClick={() => go({ name: 'snapshots' })}>
        ← Snapshots
      </button>
      <div className="bill-head">
        <div>
          <h1>{b.company_name ?? `Account ${b.company_account_number}`}</h1>
          <div className="muted">
            Invoice {b.invoice_number}
            {b.revisions.length > 1 && `, revision ${b.revision} of ${b.revisions.length}`} · {period(b.billing_year, b.billing_month)}
          </div>
        </div>
        <div className="actions">
          <button onClick={() => void exportAs('pdf')} disabled={busy !== null}>
            {busy === 'pdf' ? 'Exporting…' : 'Export PDF'}
          </button>
          <button className="secondary" onClick={() => void exportAs('csv')} disabled={busy !== null}>
            {busy === 'csv' ? 'Exporting…' : 'Export CSV'}
          </button>
          <button className="secondary" onClick={() => void exportAs('bundle')} disabled={busy !== null} title="The bill with its proof, checkable offline with archive verify-bundle">
            {busy === 'bundle' ? 'Exporting…' : 'Evidence bundle'}
          </button>
          <button className="secondary" onClick={() => go({ name: 'company', account: b.company_account_number })}>
            Company history
          </button>
          {admin && !b.superseded_by_revision && (
            <button className="secondary" onClick={() => setCorrecting(true)} title="Fetch the bill from Ledger again and archive it as a correction, after seeing the difference">
              Correct from Ledger…
            </button>
          )}
        </div>
      </div>
      {b.correction && (
        <div className="warn-box" data-testid="bill-correction">
          <strong>Correction.</strong> Revision {b.revision} corrects revision {b.correction.supersedes_revision} because “{b.correction.reason}” (filed by {b.correction.corrected_by},{' '}
          {when(b.archived_at)}).{' '}
          <button className="link" onClick={() => go({ name: 'bill', invoice, revision: b.correction!.supersedes_revision })}>
            Open revision {b.correction.supersedes_revision}
          </button>
        </div>
      )}
      {b.superseded_by_revision && (
        <div className="banner" data-testid="bill-superseded">
          <strong>Superseded.</strong> Revision {b.superseded_by_revision} corrects this bill; this is the record of what was billed before.{' '}
          <button className="link" onClick={() => go({ name: 'bill', invoice })}>
            Open the latest revision
          </button>
        </div>
      )}
      {correcting && (
        <CorrectionDialog
          invoice={invoice}
          onClose={() => setCorrecting(false)}
          onFiled={(c) => {
            setCorrecting(false);
            go({ name: 'bill', invoice, revision: c.revision });
            setNotice(c.message);
          }}
        />
      )}
      {notice && <div className="notice">{notice}</div>}
      <ErrorBox error={error} title="Export failed" />
      <div className="grid2">
        <dl className="card details">
          <dt>Account</dt>
          <dd>{b.company_account_number}</dd>
          <dt>Invoice number</dt>
          <dd>{b.invoice_number}</dd>
          <dt>Period</dt>
          <dd>{period(b.billing_year, b.billing_month)}</dd>
          <dt>Invoice date</dt>
          <dd>{day(b.invoice_date)}</dd>
          <dt>Due date</dt>
          <dd>{day(b.due_date)}</dd>
          <dt>Plan</dt>
          <dd>{b.billing_plan || '—'}</dd>
          <dt>Term</dt>
          <dd>{b.contract_term || '—'}</dd>
          <dt>Support level</dt>
          <dd>{b.support_level || '—'}</dd>
        </dl>
        <div className="card">
          <h2>Totals{currency && <span className="muted small"> in {currency}</span>}</h2>
          <table className="totals">
            <tbody>
              {GROUPS.map((g) => (
                <tr key={g.type}>
                  <td>{g.title}</td>
                  <td className="num">
                    <Money value={(b as unknown as Record<string, string | null>)[g.total]} />
                  </td>
                </tr>
              ))}
              <tr className="grand">
                <td>Total{currency && ` (${currency})`}</td>
                <td className="num" data-testid="bill-total">
                  <Money value={b.total_amount} />
                </td>
              </tr>
            </tbody>
          </table>
          {b.warnings.length > 0 && <div className="warn small">{b.warnings.map((w) => w.message).join(' ')}</div>}
          <div className="muted small hash">
            Archived {when(b.archived_at)} · sha256:{b.content_hash}
          </div>
          <div className={`small proof ${proof.data ? (proof.data.ok ? 'ok' : 'failed') : ''}`} data-testid="bill-proof">
            {proof.data
              ? proof.data.ok
                ? `✓ ${proof.data.message}`
                : `✗ Not proven: ${proof.data.message}`
              : proof.error
                ? `Not proven yet: ${(proof.error as Error).message}`
                : log
                  ? 'Checking the proof…'
                  : 'The log has not been checked yet'}
          </div>
        </div>
      </div>
      {b.revisions.length > 1 && (
        <div className="card" data-testid="bill-revisions">
          <h2>Revisions</h2>
          <table className="lines">
            <thead>
              <tr>
                <th>Revision</th>
                <th>Archived</th>
                <th>By</th>
                <th className="num">Total{currency && ` (${currency})`}</th>
                <th>Reason</th>
              </tr>
            </thead>
            <tbody>
              {b.revisions.map((r) => (
                <tr
                  key={r.revision}
                  className={r.revision === b.revision ? 'current' : 'clickable'}
                  tabIndex={r.revision === b.revision ? undefined : 0}
                  onClick={() => r.revision !== b.revision && go({ name: 'bill', invoice, revision: r.revision })}
                  onKeyDown={(e) => e.key === 'Enter' && r.revision !== b.revision && go({ name: 'bill', invoice, revision: r.revision })}
                >
                  <td>
                    {r.revision}
                    {r.revision === b.revision ? ' (shown)' : ''}
                  </td>
                  <td>{when(r.archived_at)}</td>
                  <td>{r.archived_by}</td>
                  <td className="num">
                    <Money value={r.total_amount} />
                  </td>
                  <td className="small">{r.reason ?? '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {GROUPS.map((g) => {
        const lines = b.line_items.filter((l) => l.line_type === g.type);
        if (!lines.length) return null;
        return (
          <div className="card" key={g.type}>
            <h2>
              {g.title} <span className="muted small">({lines.length})</span>
            </h2>
            <table className="lines">
              <thead>
                <tr>
                  <th>Item</th>
                  <th>Description</th>
                  <th className="num">Qty</th>
                  <th className="num">Rate</th>
                  <th className="num">Amount</th>
                </tr>
              </thead>
              <tbody>
                {lines.map((l, i) => (
                  <tr key={i}>
                    <td>{l.item_name}</td>
                    <td>{l.description}</td>
                    <td className="num">{l.quantity}</td>
                    <td className="num">
                      <Money value={l.rate} />
                    </td>
                    <td className="num">
                      <Money value={l.amount} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        );
      })}
    </section>
  );
}
