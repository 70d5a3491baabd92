/** The app's frame: the navigation, the connection banner, and the screen of the current route. */
import { useCallback, useEffect, useState } from 'react';
import type { ConnectionStatus, SavedServer } from '../../../shared/bridge';
import type { About } from '../../../shared/api';
import { AboutContext, useBridge } from './bridge-context';
import { hashToRoute, lastSearch, rememberRoute, rememberSearch, routeToHash, startRoute, type Go, type Route } from './routes';
import { CommandPalette } from './palette';
import { LogBanner, LogMonitor, LogStatusLine } from './log-monitor';
import { USER_ZONE } from './ui';
import { Bill } from './screens/Bill';
import { Company } from './screens/Company';
import { Connect } from './screens/Connect';
import { Dashboard } from './screens/Dashboard';
import { JobDetail } from './screens/JobDetail';
import { Jobs } from './screens/Jobs';
import { Runs } from './screens/Runs';
import { Schedule } from './screens/Schedule';
import { Audit } from './screens/Audit';
import { Snapshots } from './screens/Snapshots';

/** The screens, and those only an admin token may use (a read token does not see them). */
const NAV: [Route['name'], string, 'admin'?][] = [
  ['dashboard', 'Dashboard'],
  ['snapshots', 'Snapshots'],
  ['jobs', 'Jobs', 'admin'],
  ['runs', 'Runs', 'admin'],
  ['schedule', 'Schedule', 'admin'],
  ['audit', 'Audit', 'admin'],
  ['connect', 'Servers'],
];

export function App() {
  const bridge = useBridge();
  const [server, setServer] = useState<SavedServer | null>(null);
  const [status, setStatus] = useState<ConnectionStatus | null>(null);
  const [route, setRoute] = useState<Route>({ name: 'connect' });
  const [about, setAbout] = useState<About | null>(null);

  // A navigation (not a screen's own updates of its address) starts its screen afresh.
  const [visit, setVisit] = useState(0);
  useEffect(() => {
    void bridge.servers.current().then((s) => {
      setServer(s);
      if (s) setRoute(startRoute() ?? { name: 'dashboard' });
    });
    return bridge.servers.onStatus(setStatus);
  }, [bridge]);
  // Back and forward.
  useEffect(() => {
    const onPop = () => {
      const r = hashToRoute(location.hash);
      if (r) {
        setRoute(r);
        setVisit((v) => v + 1);
      }
    };
    window.addEventListener('popstate', onPop);
    return () => window.removeEventListener('popstate', onPop);
  }, []);
  /** The search screen's own changes: the address and the remembered search follow, without a history entry per key. */
  const onSearch = useCallback((params: Record<string, string>) => {
    const r: Route = { name: 'snapshots', params };
    rememberSearch(params);
    rememberRoute(r);
    if (location.hash !== routeToHash(r)) history.replaceState(null, '', routeToHash(r));
  }, []);
  // The server's settings (its currency) for every screen, read again on each connection.
  useEffect(() => {
    if (!server) return;
    let live = true;
    bridge.archive.about().then(
      (a) => live && setAbout(a),
      () => live && setAbout(null),
    );
    return () => {
      live = false;
    };
  }, [bridge, server]);

  const go: Go = (to) => {
    // "Snapshots" without a search goes back to the last one.
    const r: Route = to.name === 'snapshots' && !to.params ? { name: 'snapshots', params: lastSearch() } : to;
    setRoute(r);
    setVisit((v) => v + 1);
    rememberRoute(r);
    if (location.hash !== routeToHash(r)) history.pushState(null, '', routeToHash(r));
    window.scrollTo(0, 0);
  };
  // After connecting (also after a restart), the app opens where it was left.
  const onConnected = (s: SavedServer) => {
    setServer(s);
    const left = startRoute();
    go(left && left.name !== 'connect' ? left : { name: 'dashboard' });
  };
  const offline = status && status.server && !status.online;

  return (
    <AboutContext.Provider value={about}>
      <LogMonitor serverId={server?.id ?? null}>
        <div className="app">
          <aside className="sidebar">
            <div className="brand">Archive</div>
            <nav className="nav" aria-label="Main">
              {NAV.filter(([, , needs]) => !needs || about?.token.scopes.includes(needs)).map(([name, label]) => (
                <button
                  key={name}
                  className={route.name === name || (name === 'snapshots' && (route.name === 'bill' || route.name === 'company')) || (name === 'jobs' && route.name === 'job') ? 'active' : ''}
                  disabled={!server && name !== 'connect'}
                  onClick={() => go({ name } as Route)}
                >
                  {label}
                </button>
              ))}
            </nav>
            <div className="server-box">
              {server ? (
                <>
                  <span className={`dot ${offline ? 'off' : 'on'}`} />
                  <div>
                    <div className="server-name">{server.name}</div>
                    <div className="muted small">{offline ? 'connection lost' : 'connected'}</div>
                    {about && (
                      <>
                        <div className="muted small" data-testid="signed-in-as">
                          as {about.token.name} ({about.token.scopes.includes('admin') ? 'admin' : 'read only'})
                        </div>
                        <div className="muted small" data-testid="currency">
                          Amounts in {about.currency}
                        </div>
                        <LogStatusLine />
                      </>
                    )}
                  </div>
                </>
              ) : (
                <span className="muted small">not connected</span>
              )}
            </div>
            <div className="muted small zone-note" data-testid="user-zone">
              Times in your zone ({USER_ZONE}); the schedule&apos;s in its own
            </div>
          </aside>
          <main className="content">
            {offline && (
              <div className="banner" role="status">
                The connection to {status!.server!.name} is lost: {status!.message}. Archive keeps trying; what you see may be out of date.
              </div>
            )}
            {server && <LogBanner />}
            {route.name === 'connect' && <Connect onConnected={onConnected} current={server} />}
            {server && route.name === 'dashboard' && <Dashboard go={go} />}
            {server && route.name === 'snapshots' && <Snapshots key={visit} go={go} initial={route.params} onChange={onSearch} />}
            {server && route.name === 'bill' && <Bill invoice={route.invoice} revision={route.revision} go={go} />}
            {server && route.name === 'company' && <Company account={route.account} go={go} />}
            {server && route.name === 'jobs' && <Jobs go={go} />}
            {server && route.name === 'job' && <JobDetail id={route.id} go={go} />}
            {server && route.name === 'runs' && <Runs key={visit} go={go} year={route.year} month={route.month} />}
            {server && route.name === 'schedule' && <Schedule />}
            {server && route.name === 'audit' && <Audit go={go} />}
            <CommandPalette go={go} enabled={!!server} admin={about?.token.scopes.includes('admin') ?? false} />
          </main>
        </div>
      </LogMonitor>
    </AboutContext.Provider>
  );
}
