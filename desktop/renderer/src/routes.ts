/** The app's screens as routes, and the function a screen calls to go to another. */
export type Route =
  | { name: 'dashboard' }
  | { name: 'snapshots'; params?: Record<string, string> }
  | { name: 'bill'; invoice: string }
  | { name: 'company'; account: string }
  | { name: 'jobs' }
  | { name: 'job'; id: string }
  | { name: 'runs'; year?: number; month?: number }
  | { name: 'schedule' }
  | { name: 'connect' };

export type Go = (r: Route) => void;
