#!/usr/bin/env node
/**
 * The npm registry mirror of our build machines carries only the linux-x64 builds of native packages,
 * so `npm install` leaves the other platforms' optional packages (swc, msgpackr-extract, unrs) out of
 * package-lock.json, and `npm ci` then refuses the lockfile as out of sync. This adds those entries
 * back with their `os`/`cpu`/`libc` (read from the package name), so `npm ci` skips them here and
 * fetches them on the machines they are for. Run it after `npm install` changes the lockfile.
 */
const { readFileSync, writeFileSync } = require('node:fs');

const OS = [
  'darwin',
  'linux',
  'win32',
  'freebsd',
  'android',
  'openharmony',
  'sunos',
  'aix',
  'netbsd',
  'openbsd',
];
const CPU = ['x64', 'arm64', 'ia32', 'arm', 'ppc64', 's390x', 'riscv64', 'loong64', 'mips64el', 'wasm32'];

function platformOf(name) {
  const tokens = name.split('/').pop().split('-');
  const os = tokens.find((t) => OS.includes(t));
  const cpu = tokens.find((t) => CPU.includes(t));
  if (!os || !cpu) {
    return undefined;
  }
  const libc =
    tokens.includes('musl') || tokens.includes('musleabihf')
      ? 'musl'
      : os === 'linux' && tokens.some((t) => t.startsWith('gnu'))
        ? 'glibc'
        : undefined;
  return { os: [os], cpu: [cpu], ...(libc ? { libc: [libc] } : {}) };
}

const file = 'package-lock.json';
const lock = JSON.parse(readFileSync(file, 'utf8'));
let added = 0;
for (const [path, entry] of Object.entries(lock.packages)) {
  for (const [name, version] of Object.entries(entry.optionalDependencies ?? {})) {
    const key = `node_modules/${name}`;
    const platform = platformOf(name);
    if (
      lock.packages[key] ||
      lock.packages[`${path}/node_modules/${name}`] ||
      !platform ||
      !/^\d+\.\d+\.\d+/.test(version)
    ) {
      continue;
    }
    const dev = entry.dev || entry.devOptional;
    lock.packages[key] = { version, ...(dev ? { dev: true } : {}), optional: true, ...platform };
    added++;
  }
}
lock.packages = Object.fromEntries(
  Object.entries(lock.packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b))),
);
writeFileSync(file, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`added ${added} foreign-platform optional entries to ${file}`);
