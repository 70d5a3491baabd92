/** Saved servers: add, test (health, sign-in, version), connect, remove. */
import { useState } from 'react';
import type { ConnectionReport, SavedServer } from '../../../../shared/bridge';
import { fieldErrors } from '../../../../shared/bridge';
import { useAsync, useBridge } from '../bridge-context';
import { ErrorBox } from '../ui';

export function Connect({ onConnected, current }: { onConnected: (s: SavedServer) => void; current: SavedServer | null }) {
  const bridge = useBridge();
  const servers = useAsync(() => bridge.servers.list(), [bridge]);
  const [form, setForm] = useState({ name: '', url: 'http://127.0.0.1:5012', token: '' });
  const [report, setReport] = useState<ConnectionReport | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const run = async (fn: () => Promise<void>) => {
    setBusy(true);
    setError(null);
    try {
      await fn();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const testIt = () => run(async () => setReport(await bridge.servers.test({ url: form.url, token: form.token || undefined })));
  const saveAndConnect = () =>
    run(async () => {
      const saved = await bridge.servers.save({ name: form.name || new URL(form.url).host, url: form.url, token: form.token || undefined });
      const r = await bridge.servers.connect(saved.id);
      setReport(r);
      servers.reload();
      if (r.auth === 'ok') onConnected(saved);
    });
  const connect = (s: SavedServer) =>
    run(async () => {
      const r = await bridge.servers.connect(s.id);
      setReport(r);
      if (r.auth === 'ok') onConnected(s);
    });
  const fields = fieldErrors(error);

  return (
    <section>
      <h1>Servers</h1>
      <p className="muted">
        Connect to an Archive server with your token (a read token for finance staff, the admin token for everything). The token stays in the app's main process (encrypted with your system's keyring)
        and is never shown again.
      </p>
      <div className="grid2">
        <div className="card">
          <h2>Saved servers</h2>
          {servers.data?.length === 0 && <p className="muted">None yet.</p>}
          <ul className="server-list">
            {servers.data?.map((s) => (
              <li key={s.id}>
                <div>
                  <strong>{s.name}</strong> {current?.id === s.id && <span className="pill pill-completed">connected</span>}
                  <div className="muted small">{s.url}</div>
                  {s.sessionOnly && <div className="warn small">No system keyring: the token is kept for this session only.</div>}
                  {!s.hasToken && <div className="muted small">No token saved: add it with the form.</div>}
                </div>
                <div className="row-actions">
                  <button disabled={busy || !s.hasToken} onClick={() => connect(s)}>
                    Connect
                  </button>
                  <button
                    className="secondary"
                    disabled={busy}
                    onClick={() =>
                      run(async () => {
                        await bridge.servers.remove(s.id);
                        servers.reload();
                      })
                    }
                  >
                    Remove
                  </button>
                </div>
              </li>
            ))}
          </ul>
        </div>
        <div className="card">
          <h2>Add a server</h2>
          <form
            onSubmit={(e) => {
              e.preventDefault();
              void saveAndConnect();
            }}
          >
            <label>
              Name
              <input aria-label="Name" value={form.name} placeholder="Production" onChange={(e) => setForm({ ...form, name: e.target.value })} />
            </label>
            <label>
              Server URL
              <input aria-label="Server URL" value={form.url} onChange={(e) => setForm({ ...form, url: e.target.value })} />
              {fields['url'] && <span className="field-error">{fields['url']}</span>}
            </label>
            <label>
              Token
              <input aria-label="Token" type="password" autoComplete="off" value={form.token} onChange={(e) => setForm({ ...form, token: e.target.value })} />
            </label>
            <div className="actions">
              <button type="button" className="secondary" disabled={busy || !form.url} onClick={testIt}>
                Test connection
              </button>
              <button type="submit" disabled={busy || !form.url || !form.token}>
                Save and connect
              </button>
            </div>
          </form>
          {report && <ReportView report={report} />}
          <ErrorBox error={error} />
        </div>
      </div>
    </section>
  );
}

function ReportView({ report }: { report: ConnectionReport }) {
  const line = (ok: boolean | null, label: string, text: string) => (
    <li className={ok === null ? 'muted' : ok ? 'ok' : 'bad'}>
      <span className="mark">{ok === null ? '–' : ok ? '✓' : '✗'}</span> <strong>{label}</strong> {text}
    </li>
  );
  return (
    <ul className="report" aria-label="Connection report">
      {line(report.reachable && report.health === 'ok', 'Health', report.reachable ? `${report.health}${report.database ? `, database ${report.database}` : ''}` : 'unreachable')}
      {line(
        report.auth === 'untested' ? null : report.auth === 'ok',
        'Sign-in',
        report.auth === 'ok' && report.token
          ? `${report.token.name} token accepted (${report.token.scopes.join(', ')})`
          : { ok: 'token accepted', rejected: 'token rejected', untested: 'not tried' }[report.auth],
      )}
      {line(report.version ? true : null, 'Version', report.version ?? 'unknown')}
      <li className="small">{report.message}</li>
    </ul>
  );
}
