import { ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { REPO_ROOT } from './global-setup';

export type ServiceRole = 'api' | 'worker' | 'all';

/** Where every spawned process writes its log (kept after the run for a post-mortem). */
export const CHAOS_LOG_DIR = join(tmpdir(), 'aop-chaos-logs');

/**
 * One real service process (`node dist/main.js`) with its own environment. It is killed by PID with
 * SIGKILL, like the OOM killer or a lost node would, so nothing gets a chance to clean up.
 */
export class ServiceProcess {
  private child?: ChildProcess;
  private exited?: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly logFile: string;

  constructor(
    readonly name: string,
    readonly role: ServiceRole,
    readonly env: Record<string, string>,
  ) {
    mkdirSync(CHAOS_LOG_DIR, { recursive: true });
    this.logFile = join(CHAOS_LOG_DIR, `${name}-${Date.now().toString(36)}.log`);
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get alive(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Spawns the process and waits for its "ready" log line (HTTP listening, or workers started). */
  async start(timeoutMs = 30_000): Promise<this> {
    const fd = openSync(this.logFile, 'a');
    const child = spawn(process.execPath, ['dist/main.js'], {
      cwd: REPO_ROOT,
      env: { ...process.env, LOG_LEVEL: 'info', ...this.env, ROLE: this.role },
      stdio: ['ignore', fd, fd],
    });
    closeSync(fd);
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    const deadline = Date.now() + timeoutMs;
    const startOffset = this.readLog().length;
    for (;;) {
      const log = this.readLog().slice(startOffset);
      if (log.includes('"msg":"ready')) {
        return this;
      }
      if (!this.alive) {
        throw new Error(`${this.name} exited during start-up; log ${this.logFile}:\n${log.slice(-2000)}`);
      }
      if (Date.now() > deadline) {
        throw new Error(`${this.name} not ready after ${timeoutMs} ms; log ${this.logFile}`);
      }
      await sleep(50);
    }
  }

  /** kill -9 by PID; resolves once the process is gone. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || !this.alive) {
      return;
    }
    process.kill(child.pid!, 'SIGKILL');
    await this.exited;
  }

  /**
   * Freezes the process (SIGSTOP) for `ms`, then lets it go on (SIGCONT): a stop-the-world pause or a
   * blocked event loop seen from outside. Its job locks expire meanwhile; others take its jobs over.
   */
  async freeze(ms: number): Promise<void> {
    process.kill(this.child!.pid!, 'SIGSTOP');
    await sleep(ms);
    process.kill(this.child!.pid!, 'SIGCONT');
  }

  /** Resolves when the process exits by itself (a CRASH_AT hook) or rejects after the timeout. */
  async waitForExit(timeoutMs: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    const exit = await withTimeout(this.exited!, timeoutMs);
    if (!exit) {
      throw new Error(`${this.name} still running after ${timeoutMs} ms; log ${this.logFile}`);
    }
    return exit;
  }

  /** SIGTERM for a graceful stop (end of scenario), SIGKILL if it does not go in time. */
  async stop(timeoutMs = 10_000): Promise<void> {
    const child = this.child;
    if (!child || !this.alive) {
      return;
    }
    process.kill(child.pid!, 'SIGTERM');
    if (!(await withTimeout(this.exited!, timeoutMs))) {
      await this.kill();
    }
  }

  readLog(): string {
    try {
      return readFileSync(this.logFile, 'utf8');
    } catch {
      return '';
    }
  }
}

/** The promise's value, or undefined once `ms` passed (the timer is cleared either way). */
export async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
