/** Jest projects mirror test/: unit (no services), integration (real NATS, Redis, PostgreSQL), e2e (spawned `core` processes). */
const transform = {
  "^.+\\.(t|j)sx?$": ["@swc/jest", { jsc: { parser: { syntax: "typescript" }, target: "es2023" }, module: { type: "commonjs" } }],
};

const project = (name) => ({
  displayName: name,
  testEnvironment: "node",
  transform,
  testMatch: [`<rootDir>/test/${name}/**/*.test.ts`],
  moduleFileExtensions: ["ts", "js", "json"],
});

module.exports = {
  // Jest reads testTimeout only here, not per project; e2e tests start whole nodes (PGlite alone takes seconds).
  testTimeout: 120_000,
  projects: [project("unit"), project("integration"), project("e2e")],
};
