/**
 * The Electron main process: one window, locked down (context isolation, sandbox, no Node in
 * the renderer, a strict Content-Security-Policy, no navigation, no new windows, no
 * permission but notifications, no network from the renderer), and the bridge's handlers over IPC.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { app, BrowserWindow, dialog, ipcMain, protocol, safeStorage, session, shell } from 'electron';
import { CHANNELS, type Channel } from '../../shared/bridge';
import { APP_ENTRY, APP_SCHEME, RENDERER_CSP, serveRendererFile } from './app-protocol';
import { createMainApi, dispatch } from './handlers';
import { ServerStore } from './servers';
import { FileTrustStore } from './trust';
import { CHANNELS_QUERY } from '../preload/bridge';

const here = path.dirname(fileURLToPath(import.meta.url));
// The app is served from app://archive/ (see app-protocol.ts), a secure standard scheme, so
// its policy travels as a header on every file; registered before the app is ready.
protocol.registerSchemesAsPrivileged([{ scheme: APP_SCHEME, privileges: { standard: true, secure: true } }]);

let win: BrowserWindow | null = null;

function createWindow(): BrowserWindow {
  const w = new BrowserWindow({
    width: 1360,
    height: 880,
    minWidth: 980,
    minHeight: 640,
    title: 'Archive',
    show: false,
    backgroundColor: '#f6f7f9',
    webPreferences: {
      // Sandboxed preloads must be CommonJS.
      preload: path.join(here, '../preload/index.cjs'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
      spellcheck: false,
    },
  });
  w.once('ready-to-show', () => w.show());
  // The app is one page: no navigation away from it, no new windows (links open in the browser).
  w.webContents.on('will-navigate', (e) => e.preventDefault());
  w.webContents.on('will-redirect', (e) => e.preventDefault());
  w.webContents.setWindowOpenHandler(({ url }) => {
    if (/^https:\/\//.test(url)) void shell.openExternal(url);
    return { action: 'deny' };
  });
  if (process.env.ELECTRON_RENDERER_URL) void w.loadURL(process.env.ELECTRON_RENDERER_URL);
  else void w.loadURL(APP_ENTRY);
  return w;
}

void app.whenReady().then(() => {
  // No permission but notifications (how a long run or an export ended): no camera, microphone, location...
  session.defaultSession.setPermissionRequestHandler((_wc, permission, callback) => callback(permission === 'notifications'));
  session.defaultSession.setPermissionCheckHandler((_wc, permission) => permission === 'notifications');
  protocol.handle(APP_SCHEME, (request) => serveRendererFile(path.join(here, '../renderer'), request.url));
  // The development server (http) gets the same policy as a header.
  session.defaultSession.webRequest.onHeadersReceived((details, callback) => {
    callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [RENDERER_CSP] } });
  });
  // The renderer talks to the server only through the bridge: block any network request of its own.
  session.defaultSession.webRequest.onBeforeRequest({ urls: ['http://*/*', 'https://*/*', 'ws://*/*', 'wss://*/*'] }, (details, callback) => {
    const devServer = process.env.ELECTRON_RENDERER_URL;
    callback({ cancel: !(devServer && details.url.startsWith(devServer)) });
  });

  const store = new ServerStore(app.getPath('userData'), safeStorage);
  const main = createMainApi({
    store,
    trust: new FileTrustStore(app.getPath('userData')),
    dialog: { showSaveDialog: (o) => dialog.showSaveDialog(win!, o), showOpenDialog: (o) => dialog.showOpenDialog(win!, o) },
    downloadsDir: app.getPath('downloads'),
    send: (channel, payload) => win?.webContents.send(channel, payload),
    exportConcurrency: 6,
  });
  // The preload builds window.archive from the table's names (it cannot load the table itself).
  ipcMain.on(CHANNELS_QUERY, (event) => (event.returnValue = Object.keys(CHANNELS)));
  for (const channel of Object.keys(CHANNELS) as Channel[]) {
    ipcMain.handle(channel, (event, ...args) => {
      // Only our own page may call.
      if (event.sender !== win?.webContents) return { ok: false, error: { code: 'forbidden', message: 'Not from the Archive window' } };
      return dispatch(main, channel, args);
    });
  }
  const pinger = setInterval(() => void main.ping(), 10_000);
  win = createWindow();
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) win = createWindow();
  });
  app.on('before-quit', () => {
    clearInterval(pinger);
    main.shutdown();
  });
});

app.on('window-all-closed', () => {
  if (process.platform !== 'darwin') app.quit();
});
app.on('web-contents-created', (_e, contents) => {
  contents.on('will-attach-webview', (e) => e.preventDefault());
});
