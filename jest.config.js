/** ESM jest with ts-jest; run through `npm test` (sets --experimental-vm-modules). */
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '^.+\\.ts$': [
      'ts-jest',
      { useESM: true, tsconfig: 'tsconfig.test.json', diagnostics: { ignoreCodes: ['TS151001'] } }
    ]
  },
  testMatch: ['**/test/**/*.test.ts'],
  globalSetup: '<rootDir>/test/setup/bundle-source.ts',
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
  testTimeout: 60000,
  // Most test files spend their time waiting on the processes, servers and timers they start, not computing: four
  // workers keep two cores busy.
  maxWorkers: 4,
  // A worker whose tests closed everything exits on its own, but on a busy machine it can take longer than the
  // default half second to get there, and jest then reports a leak that is not one.
  workerGracefulExitTimeout: 5000
}
