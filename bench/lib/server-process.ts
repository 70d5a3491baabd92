/** The Archive server as a separate process, so its CPU and memory are its own. */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const BIN = path.resolve(import.meta.dirname, '../../bin/archive.mjs');

export interface ServerProcess {
  url: string;
  pid: number;
  child: ChildProcess;
  /** Resident memory now, in MB. */
  rssMb(): number;
  /** Starts sampling RSS every `everyMs`; the returned function stops and gives the samples. */
  sampleRss(everyMs?: number): () => number[];
  /** User + system CPU seconds used so far. */
  cpuSeconds(): number;
  stop(): Promise<void>;
}

/**
 * Node's options exactly as the systemd unit starts the server (its heap budget), so the
 * benchmark measures what production runs.
 */
export function unitNodeArgs(unit = 'archive.service'): string[] {
  const text = fs.readFileSync(path.resolve(import.meta.dirname, '../../systemd', unit), 'utf8');
  const exec = /^ExecStart=\S*node((?:\s+--\S+)*)\s+bin\/archive\.mjs/m.exec(text);
  if (!exec) throw new Error(`systemd/${unit}: no ExecStart running bin/archive.mjs with node`);
  return exec[1].split(/\s+/).filter(Boolean);
}

export async function startServerProcess(env: Record<string, string>): Promise<ServerProcess> {
  // BENCH_SERVER_NODE_ARGS, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof", profiles the server.
  const nodeArgs = [...unitNodeArgs(), ...(process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean)];
  const child = spawn(process.execPath, [...nodeArgs, BIN, 'serve'], {
    // The log's signing key is made in a data folder of the benchmark's own, not the checkout's.
    env: { ...process.env, NODE_ENV: 'production', SERVICE_PORT: '0', LOG_LEVEL: 'info', ARCHIVE_DATA_DIR: path.join(os.tmpdir(), 'archive-bench-data'), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let head = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${head}`)), 60_000);
    const onData = (chunk: Buffer) => {
      if (head.length < 20_000) head += chunk.toString();
      const m = /"url":"(http:\/\/[^"]+)"[^\n]*archive listening/.exec(head);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (c: Buffer) => process.stderr.write(c));
    child.once('exit', (code) => reject(new Error(`server exited with ${code}:\n${head}`)));
  });
  const pid = child.pid!;
  const rssMb = () => {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024;
  };
  const ticks = 100; // USER_HZ on Linux
  const cpuSeconds = () => {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(stat[11]) + Number(stat[12])) / ticks;
  };
  return {
    url,
    pid,
    child,
    rssMb,
    cpuSeconds,
    sampleRss(everyMs = 250) {
      const samples: number[] = [];
      const t = setInterval(() => samples.push(rssMb()), everyMs);
      return () => {
        clearInterval(t);
        return samples;
      };
    },
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
