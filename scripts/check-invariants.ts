/**
 * `npm run check:invariants [-- --json]`: runs the invariant checker against DATABASE_URL with the
 * application's configuration. Prints a readable report (or JSON) and exits 1 when any invariant is
 * broken, 2 when the check itself could not run.
 */
import { loadConfigFromEnvironment } from '../src/config/environment';
import { createDataSource } from '../src/platform/database/data-source';
import { InvariantChecker, InvariantReport } from '../src/modules/invariants/invariant-checker';

function formatReport(report: InvariantReport): string {
  const lines = [
    `Invariant check at ${report.checkedAt} (${report.durationMs} ms; recovery window ${report.options.recoveryWindowSeconds} s, outbox lag ${report.options.outboxLagSeconds} s)`,
    '',
  ];
  for (const check of report.checks) {
    const mark = check.count === 0 ? 'ok  ' : check.severity === 'violation' ? 'FAIL' : 'note';
    lines.push(`${mark}  ${check.name.padEnd(38)} ${String(check.count).padStart(6)}  ${check.description}`);
    for (const row of check.rows) {
      lines.push(`        ${JSON.stringify(row)}`);
    }
    if (check.count > check.rows.length) {
      lines.push(`        … and ${check.count - check.rows.length} more`);
    }
  }
  lines.push(
    '',
    report.ok
      ? `OK: every invariant holds (${report.attention} row(s) waiting for an operator).`
      : `BROKEN: ${report.violations} violation(s); ${report.attention} row(s) waiting for an operator.`,
  );
  return lines.join('\n');
}

async function main(): Promise<number> {
  const json = process.argv.includes('--json');
  const config = loadConfigFromEnvironment();
  const dataSource = await createDataSource(
    { database: { ...config.database, poolSize: 1 } },
    'aop-check-invariants',
  ).initialize();
  try {
    const report = await new InvariantChecker(dataSource, {
      recoveryWindowSeconds: config.invariants.recoveryWindowSeconds,
      outboxLagSeconds: config.invariants.outboxLagSeconds,
      deadLetterAgeSeconds: config.invariants.deadLetterAgeSeconds,
      outboxRetentionHours: config.outbox.retentionHours,
      sampleRows: config.invariants.sampleRows,
    }).run();
    console.log(json ? JSON.stringify(report, null, 2) : formatReport(report));
    return report.ok ? 0 : 1;
  } finally {
    await dataSource.destroy();
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(`invariant check could not run: ${(error as Error).message}`);
    process.exitCode = 2;
  },
);
