/** The worker threads' task (piscina): see bill-hash.ts. */
import { hashStoredBills } from './bill-hash';

export default hashStoredBills;
