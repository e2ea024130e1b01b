/** Command-line options of `npm run bench`; the default profile fits in ~6 minutes on 2 cores. */
export interface BenchOptions {
  quick: boolean;
  /** Seconds per load phase (pgbench, each autocannon run, the steady-rate run). */
  duration: number;
  /** End-to-end runs, one per worker-process count (ignored with --all). */
  workers: number[];
  /** One ROLE=all process instead of ROLE=api + ROLE=worker processes. */
  all: boolean;
  /** Orders of the end-to-end burst. */
  orders: number;
  /** Orders per second of the steady end-to-end run. */
  rate: number;
  users: number;
  products: number;
  apiPoolSize: number;
  workerPoolSize: number;
  pgbenchClients: number;
  /** Seconds without any order leaving PENDING after which the end-to-end part gives up. */
  stallSeconds: number;
  /** Upper bounds on waiting for the burst and the steady run to settle (the profile's time budget). */
  settleTimeoutSeconds: number;
  steadySettleSeconds: number;
  basePort: number;
  cpuProf: boolean;
  skipBuild: boolean;
  keep: boolean;
  label: string | undefined;
  /** Extra environment for the service processes (`--env KEY=VALUE`, repeatable): before/after experiments. */
  env: Record<string, string>;
  /** Phases to run; all by default (`--only pgbench,post,get,e2e`). */
  phases: Set<Phase>;
}

export const PHASES = ['pgbench', 'post', 'get', 'e2e'] as const;
export type Phase = (typeof PHASES)[number];

const HELP = `npm run bench -- [options]
  --quick               a few seconds per phase (smoke test)
  --duration <s>        seconds per load phase (default 20, quick 3)
  --workers <n[,m]>     end-to-end runs with n (and m) worker processes (default 1,2; quick 1)
  --all                 run the service as one ROLE=all process
  --orders <n>          orders of the end-to-end burst (default 5000, quick 500)
  --rate <n>            orders/s of the steady end-to-end run (default 200)
  --settle-timeout <s>  longest wait for the end-to-end orders to settle (default 45 burst / 20 steady)
  --users <n>           benchmark users (default 500)
  --products <n>        benchmark products (default 1000)
  --api-pool <n>        DATABASE_POOL_SIZE of the api (default 16)
  --worker-pool <n>     DATABASE_POOL_SIZE of each worker (default 16)
  --pgbench-clients <n> pgbench clients (default 32)
  --only <phases>       comma-separated subset of ${PHASES.join(',')}
  --env KEY=VALUE       extra environment for the service (repeatable)
  --cpu-prof            write CPU profiles of the service processes to bench/results/profiles/
  --port <n>            first port to use (default 3200)
  --skip-build          do not run npm run build
  --keep                keep the database and Redis keys (debugging)
  --label <text>        stored in the results file`;

export function parseOptions(argv: string[]): BenchOptions {
  const quick = argv.includes('--quick');
  const options: BenchOptions = {
    quick,
    duration: quick ? 3 : 20,
    workers: quick ? [1] : [1, 2],
    all: false,
    orders: quick ? 500 : 5000,
    rate: 200,
    users: 500,
    products: 1000,
    apiPoolSize: 16,
    workerPoolSize: 16,
    pgbenchClients: 32,
    stallSeconds: 15,
    settleTimeoutSeconds: quick ? 30 : 45,
    steadySettleSeconds: quick ? 15 : 20,
    basePort: 3200,
    cpuProf: false,
    skipBuild: false,
    keep: false,
    label: undefined,
    env: {},
    phases: new Set(PHASES),
  };
  const positive = (flag: string, raw: string | undefined): number => {
    const value = Number(raw);
    if (!Number.isInteger(value) || value <= 0) {
      throw new Error(`${flag} needs a positive integer (got ${raw})`);
    }
    return value;
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const next = (): string | undefined => argv[++i];
    switch (flag) {
      case '--quick':
        break;
      case '--duration':
        options.duration = positive(flag, next());
        break;
      case '--workers':
        options.workers = (next() ?? '').split(',').map((w) => positive(flag, w));
        break;
      case '--all':
        options.all = true;
        break;
      case '--settle-timeout':
        options.settleTimeoutSeconds = positive(flag, next());
        options.steadySettleSeconds = options.settleTimeoutSeconds;
        break;
      case '--orders':
        options.orders = positive(flag, next());
        break;
      case '--rate':
        options.rate = positive(flag, next());
        break;
      case '--users':
        options.users = positive(flag, next());
        break;
      case '--products':
        options.products = positive(flag, next());
        break;
      case '--api-pool':
        options.apiPoolSize = positive(flag, next());
        break;
      case '--worker-pool':
        options.workerPoolSize = positive(flag, next());
        break;
      case '--pgbench-clients':
        options.pgbenchClients = positive(flag, next());
        break;
      case '--port':
        options.basePort = positive(flag, next());
        break;
      case '--only': {
        const wanted = (next() ?? '').split(',');
        const unknown = wanted.filter((p) => !(PHASES as readonly string[]).includes(p));
        if (unknown.length > 0) {
          throw new Error(`--only: unknown phases ${unknown.join(', ')} (known: ${PHASES.join(', ')})`);
        }
        options.phases = new Set(wanted as Phase[]);
        break;
      }
      case '--env': {
        const pair = next() ?? '';
        const eq = pair.indexOf('=');
        if (eq <= 0) {
          throw new Error(`--env needs KEY=VALUE (got ${pair})`);
        }
        options.env[pair.slice(0, eq)] = pair.slice(eq + 1);
        break;
      }
      case '--cpu-prof':
        options.cpuProf = true;
        break;
      case '--skip-build':
        options.skipBuild = true;
        break;
      case '--keep':
        options.keep = true;
        break;
      case '--label':
        options.label = next();
        break;
      case '--help':
      case '-h':
        console.log(HELP);
        process.exit(0);
        break;
      default:
        throw new Error(`unknown option ${flag}\n${HELP}`);
    }
  }
  return options;
}
