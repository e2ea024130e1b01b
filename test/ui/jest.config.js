/** Pages people look at, checked in headless Chromium (Debian's `chromium`, installed by .ci/run). */
const base = require('../../jest.config.js');

module.exports = {
  ...base,
  rootDir: '../..',
  roots: ['<rootDir>/test/ui'],
  testPathIgnorePatterns: ['/node_modules/'],
  testTimeout: 60000,
};
