/** The worker threads' task (piscina) for `archive import-legacy`: see legacy-bill.ts. */
import { prepareLegacyBatch } from './legacy-bill';

export default prepareLegacyBatch;
