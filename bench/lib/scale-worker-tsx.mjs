// The scale benchmark's worker entry: registers tsx's loader in this thread first.
import { register } from 'tsx/esm/api';

register();
const worker = await import('./scale-worker.ts');
export default worker.default;
