import { ValidationError } from "../../../../lib/errors";
import { generatedJobId, headerValue, readJobMessage, type JobHeaders } from "../../../../lib/jobs";
import { coreSubjects } from "../../../../lib/transport/subjects";

const subjects = coreSubjects("core");
const place = { streamSequence: 42, storedAtMs: 1_767_225_600_000 };
const body = (value: unknown) => Buffer.from(typeof value === "string" ? value : JSON.stringify(value));
const read = (headers: JobHeaders, data: Uint8Array, subject = subjects.consultJob) => readJobMessage({ subject, data, headers }, place, subjects.consultJob);

describe("readJobMessage", () => {
  it("takes the job id from Nats-Msg-Id and the credential from the headers, and parses the consult request", () => {
    const job = read([["Nats-Msg-Id", "order-17"], ["X-Api-Key", "core_abc_def"]], body({ question: "Is water wet?", experts: ["claude"], minResponses: 1 }));
    expect(job).toEqual({ id: "order-17", idGenerated: false, credential: "core_abc_def", request: { question: "Is water wet?", experts: ["claude"], minResponses: 1 } });
  });

  it("matches header names without regard to case and prefers Authorization to X-Api-Key", () => {
    const job = read([["nats-msg-id", "a"], ["x-api-key", "core_k_1"], ["authorization", "Bearer tok"]], body({ question: "q" }));
    expect(job).toMatchObject({ id: "a", credential: "Bearer tok" });
    expect(headerValue([["NATS-MSG-ID", "x"]], "Nats-Msg-Id")).toBe("x");
  });

  it("makes an id from the message's place in the stream when there is no Nats-Msg-Id: the same on every redelivery", () => {
    const first = read([], body({ question: "q" }));
    const again = read([], body({ question: "q" }));
    expect(first.id).toBe(generatedJobId(place));
    expect(first.id).toBe("auto-42-1767225600000");
    expect(again.id).toBe(first.id);
    expect(first.idGenerated).toBe(true);
    expect(first.invalid).toBeUndefined();
    expect(read([["Nats-Msg-Id", "  "]], body({ question: "q" })).idGenerated).toBe(true);
  });

  it("refuses an unusable Nats-Msg-Id (too long, control characters) under a generated id", () => {
    for (const bad of ["x".repeat(201), "a\tb", "caf\u00e9"]) {
      const job = read([["Nats-Msg-Id", bad]], body({ question: "q" }));
      expect(job.idGenerated).toBe(true);
      expect(job.invalid).toBeInstanceOf(ValidationError);
      expect((job.invalid as ValidationError).issues).toEqual([{ field: "headers.Nats-Msg-Id", message: "1 to 200 printable ASCII characters" }]);
    }
  });

  it("refuses a job on a subject that is not the consult jobs' subject, saying where consult jobs go", () => {
    const job = read([["Nats-Msg-Id", "j"]], body({ question: "q" }), "core.jobs.other");
    expect(job.invalid).toBeInstanceOf(ValidationError);
    expect(job.invalid!.message).toBe("No kind of job is published on core.jobs.other: publish consult jobs on core.jobs.consult");
  });

  it.each([
    ["not JSON", "{question:", "The job's body is not JSON"],
    ["a JSON array", "[1]", "The job's body must be a JSON object"],
    ["JSON null", "null", "The job's body must be a JSON object"],
  ])("refuses a body that is %s", (_what, raw, message) => {
    const job = read([["Nats-Msg-Id", "j"]], body(raw));
    expect(job.invalid).toBeInstanceOf(ValidationError);
    expect(job.invalid!.message).toMatch(message);
    expect(job.invalid).toMatchObject({ status: 422, code: "VALIDATION_FAILED" });
  });

  it("validates the body with the consult request's schema, naming every failing field", () => {
    const job = read([["Nats-Msg-Id", "j"]], body({ question: "   ", temperature: 3, colour: "red" }));
    expect(job.invalid!.message).toBe("Invalid consult job");
    const fields = (job.invalid as ValidationError).issues.map((i) => i.field).sort();
    expect(fields).toEqual(["colour", "question", "temperature"]);
  });

  it("refuses U+0000 anywhere in the body (PostgreSQL text cannot hold it)", () => {
    const job = read([["Nats-Msg-Id", "j"]], body({ question: "fine", system: "a\u0000b" }));
    expect((job.invalid as ValidationError).issues).toEqual([{ field: "body", message: "text without NUL characters (U+0000)" }]);
  });
});
