import { deadLetterHeaders, headerSafe } from "../../../../lib/jobs";

describe("deadLetterHeaders", () => {
  it("keeps the publisher's headers (every value) and adds the verdict", () => {
    const headers = deadLetterHeaders(
      [["Nats-Msg-Id", "job-1"], ["X-Api-Key", "core_a_b"], ["Trace", "1"], ["Trace", "2"]],
      { jobId: "job-1", attempts: 3, code: "QUORUM_NOT_REACHED", message: "0 of 1 experts answered" },
    );
    expect(headers).toEqual([
      ["Nats-Msg-Id", "job-1"],
      ["X-Api-Key", "core_a_b"],
      ["Trace", "1"],
      ["Trace", "2"],
      ["Core-Job-Id", "job-1"],
      ["Core-Attempts", "3"],
      ["Core-Error-Code", "QUORUM_NOT_REACHED"],
      ["Core-Error", "0 of 1 experts answered"],
    ]);
  });

  it("replaces the verdict of an earlier dead letter (a job published again from the dead-letter subject)", () => {
    const headers = deadLetterHeaders([["core-job-id", "old"], ["Core-Attempts", "5"], ["Nats-Msg-Id", "n"]], { jobId: "n", attempts: 1, code: "FORBIDDEN", message: "no" });
    expect(headers.filter(([n]) => n.toLowerCase().startsWith("core-"))).toEqual([
      ["Core-Job-Id", "n"],
      ["Core-Attempts", "1"],
      ["Core-Error-Code", "FORBIDDEN"],
      ["Core-Error", "no"],
    ]);
  });

  it("puts an error message on one bounded line (a header ends at CR/LF)", () => {
    expect(headerSafe("first\r\nSecret: injected\nthird")).toBe("first Secret: injected third");
    expect(headerSafe("tab\there")).toBe("tab?here");
    const long = headerSafe("x".repeat(5_000));
    expect(long).toHaveLength(1_000);
    expect(long.endsWith("…")).toBe(true);
  });
});
