/** `npm run bench`: every benchmark of the project, one after another. */
export {};
await import('./server');
