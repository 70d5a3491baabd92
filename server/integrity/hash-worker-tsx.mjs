// The worker's entry when the server runs from its TypeScript sources (a checkout without
// `npm run build:server`, and the tests): registers tsx's loader in this thread first.
import { register } from 'tsx/esm/api';

register();
await import('./hash-worker.ts');
