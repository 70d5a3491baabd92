/** The worker threads' task (piscina): see prepare.ts. */
import { prepareRunBill } from './prepare';

export default prepareRunBill;
