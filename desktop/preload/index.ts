/**
 * The preload: builds `window.archive` (the typed bridge of shared/bridge.ts) over IPC and
 * nothing else. Each call is `invoke(channel, ...args)`; the main process answers with an
 * envelope, unwrapped here into the value or a BridgeError with its code.
 */
import { contextBridge, ipcRenderer } from 'electron';
import { CHANNELS_QUERY, createBridge } from './bridge';

contextBridge.exposeInMainWorld(
  'archive',
  createBridge({
    channels: () => ipcRenderer.sendSync(CHANNELS_QUERY),
    invoke: (channel, ...args) => ipcRenderer.invoke(channel, ...args),
    on: (channel, listener) => {
      const wrapped = (_e: unknown, payload: unknown) => listener(payload);
      ipcRenderer.on(channel, wrapped);
      return () => ipcRenderer.off(channel, wrapped);
    },
  }),
);
