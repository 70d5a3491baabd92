/**
 * The server's log, watched from this computer (shared/monitor.ts does the checking): on every
 * connection and every minute. A failure is a red banner that says what failed; it has no
 * close button and comes back at every check, until the person compares the server's key
 * with their administrator and trusts it again by typing its ID. The first key seen is shown
 * once, to be compared.
 */
import { createContext, useCallback, useContext, useEffect, useState } from 'react';
import type { LogCheck } from '../../../shared/bridge';
import { useBridge } from './bridge-context';
import { verifierKeyParts } from '../../../shared/signed-note';
import { Dialog, ErrorBox, when } from './ui';

const EVERY_MS = 60_000;

/** Checks in a row that could not reach the log: from this many on, the banner says so. */
const UNCHECKED_ALARM = 3;

interface Monitor {
  check: LogCheck | null;
  /** Checks in a row that failed to reach the server's log (a server can hide a rewrite behind errors). */
  unreachable: number;
  run(): Promise<void>;
  set(c: LogCheck): void;
}
const MonitorContext = createContext<Monitor>({ check: null, unreachable: 0, run: async () => {}, set: () => {} });
export const useLogCheck = () => useContext(MonitorContext).check;

/** Checks the connected server's log; children see the latest outcome. */
export function LogMonitor({ serverId, children }: { serverId: string | null; children: React.ReactNode }) {
  const bridge = useBridge();
  // Kept with the server it is about: another server's outcome is never shown.
  const [latest, setLatest] = useState<{ serverId: string; check: LogCheck } | null>(null);
  const [misses, setMisses] = useState<{ serverId: string; count: number } | null>(null);
  const check = latest && latest.serverId === serverId ? latest.check : null;
  const unreachable = misses && misses.serverId === serverId ? misses.count : 0;
  const run = useCallback(async () => {
    if (!serverId) return;
    try {
      const c = await bridge.integrity.check();
      setLatest({ serverId, check: c });
      setMisses({ serverId, count: 0 });
    } catch {
      // Once is nothing (the connection banner says the rest); in a row, it hides the log: counted.
      setMisses((m) => ({ serverId, count: (m && m.serverId === serverId ? m.count : 0) + 1 }));
    }
  }, [bridge, serverId]);
  useEffect(() => {
    if (!serverId) return;
    const first = setTimeout(() => void run(), 0);
    const t = setInterval(() => void run(), EVERY_MS);
    return () => {
      clearTimeout(first);
      clearInterval(t);
    };
  }, [serverId, run]);
  const set = useCallback((c: LogCheck) => serverId && setLatest({ serverId, check: c }), [serverId]);
  return <MonitorContext.Provider value={{ check, unreachable, run, set }}>{children}</MonitorContext.Provider>;
}

/** The banner of a failed check (or the notice of a key trusted for the first time), at the top of every screen. */
export function LogBanner() {
  const { check, unreachable, run, set } = useContext(MonitorContext);
  const [seenFirst, setSeenFirst] = useState<string | null>(null);
  const [trusting, setTrusting] = useState(false);
  return (
    <>
      {unreachable >= UNCHECKED_ALARM && check?.state !== 'failed' && (
        <div className="banner alarm" role="alert" data-testid="log-unchecked">
          <strong>The server&apos;s log cannot be checked.</strong> The last {unreachable} checks could not read it
          {check ? `; it was last verified ${when(check.verifiedAt)}` : ''}. Until it can be checked, what the server shows is not proven.
          <div className="actions">
            <button className="secondary" onClick={() => void run()}>
              Check again
            </button>
          </div>
        </div>
      )}
      {check?.state === 'failed' && (
        <div className="banner alarm" role="alert" data-testid="log-alarm">
          <strong>Log verification failed.</strong> {check.message}
          <div className="small">
            Do not rely on this server&apos;s bills until this is explained: tell your administrator. This computer trusted the key <code>{check.keyName}</code> ID <code>{check.keyId}</code>
            {check.servedKey !== check.verifierKey && (
              <>
                ; the server now shows ID <code>{verifierKeyParts(check.servedKey).keyId}</code>
              </>
            )}
            . Checked {when(check.verifiedAt)}.
          </div>
          <div className="actions">
            <button className="secondary" onClick={() => void run()}>
              Check again
            </button>
            <button className="secondary" onClick={() => setTrusting(true)}>
              Trust the server&apos;s key and history now…
            </button>
          </div>
        </div>
      )}
      {check?.state === 'first_use' && seenFirst !== check.verifierKey && (
        <div className="notice" role="status" data-testid="log-first-use">
          This computer now trusts the log of this server, signed with the key <code>{check.keyName}</code> ID <code>{check.keyId}</code> ({check.size} entries). Compare the ID with the one your
          administrator published (<code>archive integrity key</code>).{' '}
          <button className="link" onClick={() => setSeenFirst(check.verifierKey)}>
            I have compared it
          </button>
        </div>
      )}
      {trusting && check?.state === 'failed' && (
        <TrustDialog
          servedKey={check.servedKey}
          onClose={() => setTrusting(false)}
          onTrusted={(c) => {
            set(c);
            setSeenFirst(c.verifierKey);
            setTrusting(false);
          }}
        />
      )}
    </>
  );
}

function TrustDialog({ servedKey, onClose, onTrusted }: { servedKey: string; onClose: () => void; onTrusted: (c: LogCheck) => void }) {
  const bridge = useBridge();
  const [keyId, setKeyId] = useState('');
  const [error, setError] = useState<unknown>(null);
  return (
    <Dialog label="Trust the server's key" onClose={onClose}>
      <h2>Trust the server&apos;s key and history as they are now</h2>
      <p>
        The server shows the key <code>{verifierKeyParts(servedKey).keyName}</code> ID <code>{verifierKeyParts(servedKey).keyId}</code>. Trust it only after your administrator has confirmed this ID
        and why the log changed. What this computer verified before is forgotten.
      </p>
      <label>
        Key ID you compared
        <input value={keyId} onChange={(e) => setKeyId(e.target.value.trim().toLowerCase())} placeholder="8 characters" autoFocus />
      </label>
      <ErrorBox error={error} title="Not trusted" />
      <div className="actions">
        <button
          disabled={!/^[0-9a-f]{8}$/.test(keyId)}
          onClick={async () => {
            try {
              onTrusted(await bridge.integrity.trust(keyId));
            } catch (err) {
              setError(err);
            }
          }}
        >
          Trust this key
        </button>
        <button className="secondary" onClick={onClose}>
          Cancel
        </button>
      </div>
    </Dialog>
  );
}

/** The sidebar's line: what was last verified. */
export function LogStatusLine() {
  const { check, unreachable, run } = useContext(MonitorContext);
  if (!check && unreachable === 0) return null;
  const text = !check ? 'Log not checked yet' : check.state === 'failed' ? 'Log verification failed' : `Log verified: ${check.size} entries${unreachable ? ` (${when(check.verifiedAt)})` : ''}`;
  return (
    <div className={`small ${check?.state === 'failed' || unreachable >= UNCHECKED_ALARM ? 'bad' : 'muted'}`}>
      <span data-testid="log-status">{text}</span>{' '}
      <button className="link small" onClick={() => void run()}>
        Check now
      </button>
    </div>
  );
}
