#!/usr/bin/env node
// The `archive` command: runs the TypeScript sources through tsx's loader.
import { register } from 'tsx/esm/api';

register();
await import('../server/cli/index.ts');
