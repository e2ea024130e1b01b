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
  /** Offered rates (orders/s) of the steady end-to-end runs, one row each. */
  rates: number[];
  /** Requests per second of the open-loop POST /orders phase. */
  openLoopRate: number;
  /** Orders of the burst through a paced or slow gateway (the `pacing` and `gateway` phases). */
  gatewayOrders: number;
  /** The 5-minute memory run: POST /orders and a steady end-to-end run of `duration` s each, to memory-5min.json. */
  memory: boolean;
  /** Use the machine's Redis on 6379 instead of one of the bench's own (whose CPU and commands are ours alone). */
  sharedRedis: boolean;
  /** Count PostgreSQL round trips through a proxy in the bench process (on by default). */
  roundTrips: boolean;
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
  /** Phases to run; all but million and soak by default (`--only pgbench,post,get,e2e`). */
  phases: Set<Phase>;
  /** Orders of the `million` phase's table. */
  millionOrders: number;
  /** The soak (`--soak`): minutes at a steady rate with shortened retentions. */
  soakMinutes: number;
  soakRate: number;
}

export const PHASES = [
  'pgbench',
  'post',
  'open-loop',
  'get',
  'e2e',
  'steady',
  'pacing',
  'gateway',
  'fresh',
  'all',
  'million',
  'soak',
] as const;
export type Phase = (typeof PHASES)[number];
/** `million` (a large table) and `soak` (half an hour) run only when asked for. */
export const DEFAULT_PHASES: readonly Phase[] = PHASES.filter((p) => p !== 'million' && p !== 'soak');

const HELP = `npm run bench -- [options]
  --quick               a few seconds per phase (smoke test)
  --duration <s>        seconds per load phase (default 20, quick 3)
  --workers <n[,m]>     end-to-end runs with n (and m) worker processes (default 1,2; quick 1)
  --all                 run the service as one ROLE=all process
  --orders <n>          orders of the end-to-end burst (default 5000, quick 500)
  --rates <n[,m…]>      offered orders/s of the steady end-to-end runs (default 200,300,400; quick 200)
  --open-loop-rate <n>  requests/s of the open-loop POST /orders phase (default 800)
  --gateway-orders <n>  orders of the burst through the paced / default mock gateway (default 3000, quick 300)
  --memory              the 5-minute memory run: POST /orders (64 conn) and steady 200/s end to end, 300 s each,
                        written to bench/results/memory-5min.json (commit it)
  --shared-redis        use the machine's Redis (6379) instead of a redis-server of the bench's own
  --no-round-trips      do not count PostgreSQL round trips (no proxy between the service and PostgreSQL)
  --settle-timeout <s>  longest wait for the end-to-end orders to settle (default 45 burst / 20 steady)
  --users <n>           benchmark users (default 500)
  --products <n>        benchmark products (default 1000)
  --api-pool <n>        DATABASE_POOL_SIZE of the api (default 16)
  --worker-pool <n>     DATABASE_POOL_SIZE of each worker (default 16)
  --pgbench-clients <n> pgbench clients (default 32)
  --only <phases>       comma-separated subset of ${PHASES.join(',')}
                        (million and soak are not in the default profile)
  --million-orders <n>  orders of the million phase's table (default 1000000; it needs ~1 GB of disk)
  --soak                the soak alone: api + 1 worker, steady open-loop POST /orders with shortened
                        retentions; table sizes, p99 and RSS per minute (default 30 min at 50/s)
  --soak-minutes <n>    minutes of the soak (default 30)
  --soak-rate <n>       orders/s of the soak (default 50)
Every figure runs with production defaults (LOG_LEVEL=info, the per-user rate limit on, the mock gateway's
latency, limit and outcome rates) unless its row says what it lifts: "gateway latency 0" figures (e2e, steady,
fresh, all) use a mock that answers at once and always succeeds, with gateway and queue limits lifted.
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
    rates: quick ? [200] : [200, 300, 400],
    openLoopRate: 800,
    gatewayOrders: quick ? 300 : 3000,
    memory: false,
    sharedRedis: false,
    roundTrips: true,
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
    phases: new Set(DEFAULT_PHASES),
    millionOrders: 1_000_000,
    soakMinutes: 30,
    soakRate: 50,
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
      case '--rates':
        options.rates = (next() ?? '').split(',').map((r) => positive(flag, r));
        break;
      case '--open-loop-rate':
        options.openLoopRate = positive(flag, next());
        break;
      case '--gateway-orders':
        options.gatewayOrders = positive(flag, next());
        break;
      case '--memory':
        options.memory = true;
        break;
      case '--shared-redis':
        options.sharedRedis = true;
        break;
      case '--no-round-trips':
        options.roundTrips = false;
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
      case '--million-orders':
        options.millionOrders = positive(flag, next());
        break;
      case '--soak':
        options.phases = new Set(['soak']);
        break;
      case '--soak-minutes':
        options.soakMinutes = positive(flag, next());
        break;
      case '--soak-rate':
        options.soakRate = positive(flag, next());
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
  if (options.memory) {
    // Five minutes of each; the other phases say nothing about growth.
    options.duration = argv.includes('--duration') ? options.duration : 300;
    options.rates = argv.some((a) => a === '--rates' || a === '--rate') ? options.rates : [200];
    options.phases = new Set<Phase>(['post', 'steady']);
    options.label ??= 'memory-5min';
  }
  return options;
}
