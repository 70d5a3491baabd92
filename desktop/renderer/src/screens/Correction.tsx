/**
 * Filing a correction from Ledger (admin): the dialog fetches Ledger's bill again through the
 * server's preview, shows the difference line by line (totals, fields, lines added, removed
 * and changed) and asks why; "Archive correction" files exactly the bill shown (its content
 * hash and the revision it supersedes travel with the request, so a bill that changed since,
 * or a correction filed meanwhile, is refused instead of archived unseen).
 */
import { useState } from 'react';
import type { BillLine, CorrectionCreated, LineChange } from '../../../../shared/api';
import { changesTheBill } from '../../../../shared/bill-diff';
import { subtractMoney } from '../../../../shared/money';
import { useAsync, useBridge, useCurrency } from '../bridge-context';
import { Dialog, ErrorBox, Money } from '../ui';

const lineText = (l: BillLine) => `${l.line_type} · ${l.item_name}${l.description ? ` (${l.description})` : ''}`;

export function CorrectionDialog({ invoice, onClose, onFiled }: { invoice: string; onClose: () => void; onFiled: (c: CorrectionCreated) => void }) {
  const bridge = useBridge();
  const currency = useCurrency();
  const preview = useAsync(() => bridge.corrections.preview(invoice, { from_ledger: true }), [bridge, invoice]);
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const p = preview.data;
  const d = p?.differences;
  const nothing = d && !changesTheBill(d);

  const file = async () => {
    if (!p) return;
    setBusy(true);
    setError(null);
    try {
      onFiled(await bridge.corrections.create(invoice, { from_ledger: true, reason: reason.trim(), supersedes_revision: p.current.revision, expected_content_hash: p.proposed.content_hash }));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Dialog label={`Correct invoice ${invoice}`} onClose={onClose}>
      <div className="correction" data-testid="correction-dialog">
        <h2>Correct invoice {invoice} from Ledger</h2>
        {preview.loading && <p className="muted">Asking Ledger for the bill again…</p>}
        <ErrorBox error={preview.error} title="Ledger's bill cannot be compared" />
        {p && d && (
          <>
            <table className="totals">
              <tbody>
                <tr>
                  <td>Archived (revision {p.current.revision})</td>
                  <td className="num">
                    <Money value={p.current.total_amount} />
                  </td>
                </tr>
                <tr>
                  <td>Ledger now (would be revision {p.proposed.revision})</td>
                  <td className="num">
                    <Money value={p.proposed.total_amount} />
                  </td>
                </tr>
                <tr className="grand">
                  <td>Difference{currency && ` (${currency})`}</td>
                  <td className="num" data-testid="correction-difference">
                    <Money value={subtractMoney(p.proposed.total_amount, p.current.total_amount)} />
                  </td>
                </tr>
              </tbody>
            </table>
            {d.fields.length > 0 && (
              <table className="lines diff" aria-label="Fields that change">
                <thead>
                  <tr>
                    <th>Field</th>
                    <th>Archived</th>
                    <th>Ledger now</th>
                  </tr>
                </thead>
                <tbody>
                  {d.fields.map((f) => (
                    <tr key={f.field}>
                      <td>{f.field.replace(/_/g, ' ')}</td>
                      <td className="removed">{f.archived ?? '—'}</td>
                      <td className="added">{f.proposed ?? '—'}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
            <table className="lines diff" aria-label="Lines that change">
              <thead>
                <tr>
                  <th>Line</th>
                  <th>Change</th>
                  <th className="num">Archived</th>
                  <th className="num">Ledger now</th>
                </tr>
              </thead>
              <tbody>
                {d.lines.length === 0 && (
                  <tr>
                    <td colSpan={4} className="muted">
                      No line changes.
                    </td>
                  </tr>
                )}
                {d.lines.map((l, i) => (
                  <LineRow key={i} change={l} />
                ))}
              </tbody>
            </table>
            {(d.csv_changed || d.billing_data_changed) && (
              <p className="muted small">{[d.csv_changed && 'The invoice CSV changes too.', d.billing_data_changed && "Ledger's billing data changes too."].filter(Boolean).join(' ')}</p>
            )}
            {p.proposed.warnings.length > 0 && <p className="warn small">{p.proposed.warnings.map((w) => w.message).join(' ')}</p>}
            {nothing ? (
              <p className="warn">Ledger's bill is the archived one: there is nothing to correct.</p>
            ) : (
              <label className="field">
                Why is the bill corrected? (kept with the correction, on its PDF and in the audit trail)
                <textarea value={reason} onChange={(e) => setReason(e.target.value)} rows={3} maxLength={2000} autoFocus placeholder="e.g. Late adjustment agreed with the customer" />
              </label>
            )}
            <p className="muted small">
              Revision {p.current.revision} stays in the archive unchanged; the correction is archived beside it as revision {p.proposed.revision}.
            </p>
          </>
        )}
        <ErrorBox error={error} title="The correction was not archived" />
        <div className="actions">
          {p && !nothing && (
            <button onClick={() => void file()} disabled={busy || reason.trim().length < 3} title={reason.trim().length < 3 ? 'Say why first' : undefined}>
              {busy ? 'Archiving…' : `Archive correction (revision ${p.proposed.revision})`}
            </button>
          )}
          <button className="secondary" onClick={onClose}>
            Cancel
          </button>
        </div>
      </div>
    </Dialog>
  );
}

function LineRow({ change: l }: { change: LineChange }) {
  if (l.change === 'added')
    return (
      <tr className="added">
        <td>{lineText(l.proposed)}</td>
        <td>added</td>
        <td className="num">—</td>
        <td className="num">
          <Money value={l.proposed.amount} />
        </td>
      </tr>
    );
  if (l.change === 'removed')
    return (
      <tr className="removed">
        <td>{lineText(l.archived)}</td>
        <td>removed</td>
        <td className="num">
          <Money value={l.archived.amount} />
        </td>
        <td className="num">—</td>
      </tr>
    );
  return (
    <tr className="changed">
      <td>{lineText(l.proposed)}</td>
      <td>{l.fields.map((f) => `${f} ${l.archived[f] ?? '—'} → ${l.proposed[f] ?? '—'}`).join('; ')}</td>
      <td className="num">
        <Money value={l.archived.amount} />
      </td>
      <td className="num">
        <Money value={l.proposed.amount} />
      </td>
    </tr>
  );
}
