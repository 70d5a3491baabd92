/**
 * The server as a process of its own (`bin/archive.mjs serve`), for tests that kill it: on a
 * free port, with the tests' data folder (the signing key) unless `env` says otherwise;
 * resolves with its address once it logs that it listens.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';

const BIN = path.resolve(__dirname, '../../bin/archive.mjs');

export function serverProcess(env: NodeJS.ProcessEnv, timeoutMs = 60_000): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [BIN, 'serve'], {
    env: { ...process.env, ARCHIVE_DATA_DIR: path.join(os.tmpdir(), 'archive-test-data'), SERVICE_PORT: '0', LOG_LEVEL: 'info', LOG_FORMAT: 'json', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${out}`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const m = /"url":"(http:\/\/[^"]+)"[^\n]*archive listening/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, url: m[1] });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code) => reject(new Error(`exited with ${code}:\n${out}`)));
  });
}
