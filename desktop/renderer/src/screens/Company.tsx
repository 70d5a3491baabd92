/** A company's bills over time, with a chart of its totals. */
import { CartesianGrid, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import type { Go } from '../routes';
import { useAsync, useBridge, useCurrency } from '../bridge-context';
import { ErrorBox, formatMoney, Money, period, when } from '../ui';

export function Company({ account, go }: { account: string; go: Go }) {
  const currency = useCurrency();
  const bridge = useBridge();
  const h = useAsync(() => bridge.snapshots.company(account, { limit: 1000, offset: 0 }), [bridge, account]);
  const rows = h.data?.results ?? [];
  const chart = [...rows].reverse().map((r) => ({ period: period(r.billing_year, r.billing_month), total: Number(r.total_amount), label: formatMoney(r.total_amount) }));
  return (
    <section>
      <button className="link" onClick={() => go({ name: 'snapshots' })}>
        ← Snapshots
      </button>
      <h1>{h.data?.company_name ?? `Account ${account}`}</h1>
      <div className="muted">
        Account {account} · {h.data ? `${h.data.total} bills` : '…'}
      </div>
      <ErrorBox error={h.error} />
      <div className="card">
        <h2>Total per month{currency && ` (${currency})`}</h2>
        <div style={{ height: 240 }}>
          <ResponsiveContainer width="100%" height="100%">
            <LineChart data={chart} margin={{ left: 20, right: 10, top: 10 }}>
              <CartesianGrid strokeDasharray="3 3" vertical={false} />
              <XAxis dataKey="period" tick={{ fontSize: 11 }} />
              <YAxis tick={{ fontSize: 11 }} />
              <Tooltip formatter={(_v, _n, item) => [(item.payload as { label: string }).label, 'Total']} />
              <Line dataKey="total" stroke="#3b6fd8" strokeWidth={2} dot />
            </LineChart>
          </ResponsiveContainer>
        </div>
      </div>
      <div className="card">
        <table className="lines">
          <thead>
            <tr>
              <th>Period</th>
              <th>Invoice</th>
              <th className="num">Total{currency && ` (${currency})`}</th>
              <th className="num">Lines</th>
              <th>Archived</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr
                key={r.invoice_number}
                className="clickable"
                tabIndex={0}
                onClick={() => go({ name: 'bill', invoice: r.invoice_number })}
                onKeyDown={(e) => e.key === 'Enter' && go({ name: 'bill', invoice: r.invoice_number })}
              >
                <td>{period(r.billing_year, r.billing_month)}</td>
                <td>{r.invoice_number}</td>
                <td className="num">
                  <Money value={r.total_amount} />
                </td>
                <td className="num">{r.line_item_count}</td>
                <td>{when(r.archived_at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
