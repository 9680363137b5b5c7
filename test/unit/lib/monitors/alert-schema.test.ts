import { ValidationError } from "../../../../lib/errors";
import { readAlert } from "../../../../lib/monitors/alert-schema";

const valid = { monitor: "health", key: "health.store", severity: "critical", state: "raised", nodeID: "n1", message: "the store is down", at: 1_700_000_000_000 };

describe("readAlert", () => {
  it("takes an alert as monitors emit it, with its optional numbers and details", () => {
    expect(readAlert(valid)).toEqual(valid);
    const full = { ...valid, value: 0.83, threshold: 0.8, details: { principal: "team-a" } };
    expect(readAlert(full)).toEqual(full);
  });

  it("refuses a malformed alert, naming each field and what it expects", () => {
    const refusal = (value: unknown) => {
      try {
        readAlert(value);
      } catch (err) {
        expect(err).toBeInstanceOf(ValidationError);
        return (err as ValidationError).issues.map((i) => i.field);
      }
      throw new Error("accepted");
    };
    expect(refusal({ ...valid, severity: "bad", state: "open" })).toEqual(["severity", "state"]);
    expect(refusal({ ...valid, monitor: "Health Monitor" })).toEqual(["monitor"]);
    // An unknown field is refused too (reported on the alert itself).
    expect(refusal({ ...valid, at: "yesterday", extra: 1 }).sort()).toEqual(["alert", "at"]);
    expect(refusal(null)).toEqual(["alert"]);
    expect(refusal({ ...valid, message: "" })).toEqual(["message"]);
  });
});
