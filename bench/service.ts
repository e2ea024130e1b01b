import { ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export type ServiceRole = 'api' | 'worker' | 'all';

export interface ProcessMemory {
  /** Peak resident set (VmHWM), MiB. */
  peakRssMiB: number;
  /** Resident set when it was stopped, MiB. */
  finalRssMiB: number;
}

/** Reads VmHWM/VmRSS of a live process; undefined once it has gone. */
export function readMemory(pid: number): ProcessMemory | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (field: string): number =>
      Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0);
    return { peakRssMiB: kib('VmHWM') / 1024, finalRssMiB: kib('VmRSS') / 1024 };
  } catch {
    return undefined;
  }
}

/** CPU seconds (user + system) a live process has used; undefined once it has gone. */
export function readCpuSeconds(pid: number): number | undefined {
  try {
    // Fields after the parenthesised command name: utime and stime are the 12th and 13th.
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8')
      .replace(/^.*\) /s, '')
      .split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

const CLOCK_TICKS_PER_SECOND = 100;

/**
 * CPU seconds used so far by every running process with this command name (`postgres`: the server and
 * its backends). Backends that already exited are not counted; the service's pooled connections live
 * through a phase.
 */
export function readCommandCpuSeconds(command: string): number {
  let total = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) {
      continue;
    }
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')) === command) {
        total += readCpuSeconds(Number(entry)) ?? 0;
      }
    } catch {
      // exited meanwhile
    }
  }
  return total;
}

/** The node flags of package.json's `start:prod` (the production command), e.g. the heap size. */
export function productionNodeArgs(root: string): string[] {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    scripts: Record<string, string>;
  };
  const command = pkg.scripts['start:prod'];
  const match = /^node\s+(.*?)\s*dist\/main\.js$/.exec(command);
  if (!match) {
    throw new Error(`start:prod is not "node [flags] dist/main.js": ${command}`);
  }
  return match[1].split(/\s+/).filter((arg) => arg.length > 0);
}

/** One `node dist/main.js` child, started the production way, with its output in a log file. */
export class ServiceProcess {
  private exited: { code: number | null; signal: string | null } | undefined;
  private readonly exitPromise: Promise<void>;
  memory: ProcessMemory | undefined;

  private constructor(
    readonly name: string,
    readonly role: ServiceRole,
    readonly port: number,
    readonly logFile: string,
    private readonly child: ChildProcess,
  ) {
    this.exitPromise = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        this.exited = { code, signal };
        resolve();
      });
    });
  }

  /** How the process ended, if it has. */
  get exit(): { code: number | null; signal: string | null } | undefined {
    return this.exited;
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  static start(options: {
    name: string;
    role: ServiceRole;
    port: number;
    env: Record<string, string>;
    cwd: string;
    logDir: string;
    nodeArgs?: string[];
  }): ServiceProcess {
    const logFile = join(options.logDir, `${options.name}.log`);
    // Appended: a role started again in a later phase keeps the earlier phases' lines.
    const log = createWriteStream(logFile, { flags: 'a' });
    const nodeArgs = [...productionNodeArgs(options.cwd), ...(options.nodeArgs ?? [])];
    const child = spawn(process.execPath, [...nodeArgs, 'dist/main.js'], {
      cwd: options.cwd,
      env: { PATH: process.env.PATH ?? '', ...options.env, ROLE: options.role, PORT: String(options.port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
    return new ServiceProcess(options.name, options.role, options.port, logFile, child);
  }

  /** Resolves when `ready()` says so; fails with the log's tail if the process dies first. */
  async waitReady(ready: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.exited) {
        throw new Error(
          `${this.name} exited (${JSON.stringify(this.exited)}) before it was ready:\n${this.logTail()}`,
        );
      }
      if (await ready().catch(() => false)) {
        return;
      }
      await sleep(100);
    }
    throw new Error(`${this.name} was not ready within ${timeoutMs} ms:\n${this.logTail()}`);
  }

  /** For processes with HTTP: /api/v1/health/ready answers 200. */
  waitHttpReady(timeoutMs?: number): Promise<void> {
    return this.waitReady(async () => (await fetch(`${this.url}/api/v1/health/ready`)).ok, timeoutMs);
  }

  logTail(lines = 30): string {
    try {
      return readFileSync(this.logFile, 'utf8').split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }

  /** Keeps the latest VmHWM, so a process killed from outside still reports its peak. */
  sampleMemory(): void {
    this.memory = readMemory(this.pid) ?? this.memory;
  }

  /** SIGTERM, then SIGKILL after the grace period; keeps the last memory reading. */
  async stop(graceMs = 15_000): Promise<void> {
    if (this.exited) {
      return;
    }
    this.memory = readMemory(this.pid) ?? this.memory;
    this.child.kill('SIGTERM');
    const timedOut = await Promise.race([
      this.exitPromise.then(() => false),
      sleep(graceMs).then(() => true),
    ]);
    if (timedOut) {
      console.warn(`${this.name} did not stop within ${graceMs} ms: SIGKILL`);
      this.child.kill('SIGKILL');
      await this.exitPromise;
    }
  }
}
