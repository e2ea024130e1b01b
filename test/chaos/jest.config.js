/**
 * The chaos suite (`npm run test:chaos`): real API and worker processes killed by PID, against the real
 * PostgreSQL and Redis. CHAOS_PROFILE=short (default, CI) or long (the figures, by hand).
 */
const root = require('../../jest.config.js');

module.exports = {
  ...root,
  rootDir: '../..',
  roots: ['<rootDir>/test/chaos'],
  testMatch: ['<rootDir>/test/chaos/**/*.chaos.ts', '<rootDir>/test/chaos/**/*.spec.ts'],
  testPathIgnorePatterns: ['/node_modules/'],
  globalSetup: '<rootDir>/test/chaos/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/chaos/support/global-teardown.ts',
  setupFiles: ['<rootDir>/test/support/env.ts'],
  testTimeout: 30 * 60 * 1000,
  maxWorkers: 1,
};
