/** Jest projects mirror test/: unit (no services), integration (real NATS, Redis, PostgreSQL), e2e (spawned `core` processes). */
const transform = {
  "^.+\\.(t|j)sx?$": ["@swc/jest", { jsc: { parser: { syntax: "typescript" }, target: "es2023" }, module: { type: "commonjs" } }],
};

const project = (name, timeout) => ({
  displayName: name,
  testEnvironment: "node",
  transform,
  testMatch: [`<rootDir>/test/${name}/**/*.test.ts`],
  moduleFileExtensions: ["ts", "js", "json"],
  testTimeout: timeout,
});

module.exports = {
  projects: [project("unit", 10_000), project("integration", 60_000), project("e2e", 120_000)],
};
