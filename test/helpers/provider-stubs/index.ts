export { ProviderStub, startProviderStub, type ProviderStubOptions } from "./provider-stub";
export { countTokens } from "./tokens";
export type { RecordedRequest, StubBehaviour, StubMatch, StubProtocol } from "./types";
