import { Errors } from "moleculer";
import ApiGateway from "moleculer-web";
import { ActionNotFoundError, DeadlineExceededError, InternalError, NotFoundError, UnavailableError, ValidationError } from "../../../lib/errors";
import { toCoreError } from "../../../mixins/to-core-error";

describe("toCoreError", () => {
  it("passes CORE errors through", () => {
    const err = new NotFoundError("no such consultation");
    expect(toCoreError(err)).toBe(err);
  });

  it("maps Moleculer's errors to CORE codes", () => {
    expect(toCoreError(new Errors.ServiceNotFoundError({ action: "x.y" }))).toBeInstanceOf(ActionNotFoundError);
    expect(toCoreError(new Errors.ServiceNotAvailableError({ action: "x.y" }))).toBeInstanceOf(UnavailableError);
    expect(toCoreError(new Errors.RequestTimeoutError({ action: "x.y" }))).toBeInstanceOf(DeadlineExceededError);
    // moleculer-web's ServiceUnavailableError: a route whose action no node runs.
    expect(toCoreError(new ApiGateway.Errors.ServiceUnavailableError("SERVICE_UNAVAILABLE"))).toMatchObject({ code: "UNAVAILABLE", status: 503 });
    const validation = toCoreError(new Errors.ValidationError("bad", "VALIDATION_ERROR", [{ field: "q", message: "The 'q' field is required.", type: "required" }]));
    expect(validation).toBeInstanceOf(ValidationError);
    expect((validation as ValidationError).issues).toEqual([{ field: "q", message: "The 'q' field is required." }]);
  });

  it("keeps 4xx client errors with a code derived from their type", () => {
    const err = toCoreError(new Errors.MoleculerClientError("Not found", 404, "NOT_FOUND"));
    expect(err).toMatchObject({ code: "NOT_FOUND", status: 404, message: "Not found" });
    expect(toCoreError(new Errors.MoleculerClientError("No token", 401, "ERR_NO_TOKEN"))).toMatchObject({ code: "UNAUTHENTICATED", status: 401 });
  });

  it("hides the detail of anything unexpected behind INTERNAL", () => {
    const err = toCoreError(new TypeError("cannot read properties of undefined (reading 'x') at /srv/secret/path.js"));
    expect(err).toBeInstanceOf(InternalError);
    expect(err.message).toBe("Internal error");
    expect(err.status).toBe(500);
  });
});
