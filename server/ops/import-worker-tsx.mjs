// The worker's entry when the server runs from its TypeScript sources (a checkout without
// `npm run build:server`, and the tests): registers tsx's loader in this thread first.
import { register } from 'tsx/esm/api';

register();
const worker = await import('./import-worker.ts');
export default worker.default;
