// Runs desktop/main/pdf-worker.ts in a worker thread from source (the built app uses out/main/pdf-worker.js).
import { register } from 'tsx/esm/api';

register();
await import('../../desktop/main/pdf-worker.ts');
