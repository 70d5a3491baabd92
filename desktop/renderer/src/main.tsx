/** The renderer's entry: the bridge (Electron's preload, or the web bridge in a plain browser) and the app. */
import { createRoot } from 'react-dom/client';
import type { ArchiveBridge } from '../../../shared/bridge';
import { App } from './App';
import { BridgeContext } from './bridge-context';
import './styles.css';
import { createWebBridge } from './web-bridge';

declare global {
  interface Window {
    /** Set by the Electron preload; absent in a plain browser, where the web bridge stands in. */
    archive?: ArchiveBridge;
  }
}

const bridge = window.archive ?? createWebBridge();
createRoot(document.getElementById('root')!).render(
  <BridgeContext.Provider value={bridge}>
    <App />
  </BridgeContext.Provider>,
);
